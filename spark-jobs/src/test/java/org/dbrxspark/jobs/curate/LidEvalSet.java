package org.dbrxspark.jobs.curate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.GZIPInputStream;

/**
 * The held-out language-identification set: the Universal Declaration of Human Rights in the 22
 * default candidate languages (resources/lid-eval, with its source and licence) and the German,
 * French, Spanish and English (licence) documents of the sample corpus, cut into three length
 * bands. Short texts are each paragraph's start, cut at a space before 100 characters; medium and
 * long texts are runs of consecutive paragraphs, joined until they reach 100 characters (medium) or
 * a target of 1,000, 2,000 or 4,000 characters in turn (long).
 */
final class LidEvalSet {
  /** Length bands, in characters. */
  enum Band {
    SHORT,
    MEDIUM,
    LONG;

    static Band of(String text) {
      return text.length() < 100 ? SHORT : text.length() < 1000 ? MEDIUM : LONG;
    }
  }

  /** One labelled text. */
  record Item(String lang, String text) {
    Band band() {
      return Band.of(text);
    }
  }

  private static final int[] LONG_TARGETS = {1000, 2000, 4000};

  private LidEvalSet() {}

  /** The items, by band; {@code sampleCorpus} is data/sample-corpus/corpus.jsonl.gz. */
  static Map<Band, List<Item>> load(Path sampleCorpus) throws IOException {
    ObjectMapper json = new ObjectMapper();
    Map<String, List<String>> paragraphs = new LinkedHashMap<>();
    try (InputStream in =
        Objects.requireNonNull(
            LidEvalSet.class.getResourceAsStream("/lid-eval/udhr-22.jsonl.gz"),
            "lid-eval/udhr-22.jsonl.gz")) {
      for (JsonNode n : lines(json, in)) {
        paragraphs
            .computeIfAbsent(n.get("lang").asText(), k -> new ArrayList<>())
            .add(n.get("text").asText());
      }
    }
    Map<Band, List<Item>> bands = new EnumMap<>(Band.class);
    for (Band b : Band.values()) {
      bands.put(b, new ArrayList<>());
    }
    for (Map.Entry<String, List<String>> e : paragraphs.entrySet()) {
      for (String p : e.getValue()) {
        add(bands, e.getKey(), shortStart(p));
      }
      joined(bands, e.getKey(), e.getValue(), new int[] {100});
      joined(bands, e.getKey(), e.getValue(), LONG_TARGETS);
    }
    try (InputStream in = Files.newInputStream(sampleCorpus)) {
      for (JsonNode n : lines(json, in)) {
        String source = n.get("source").asText();
        String lang =
            source.startsWith("messages-")
                ? source.substring("messages-".length())
                : source.equals("common-licenses") ? "en" : null;
        if (lang != null) {
          List<String> paras = List.of(n.get("text").asText().split("\n\\s*\n"));
          for (String p : paras) {
            add(bands, lang, shortStart(p.strip()));
          }
          joined(bands, lang, paras, new int[] {100});
          add(bands, lang, n.get("text").asText());
        }
      }
    }
    return bands;
  }

  private static List<JsonNode> lines(ObjectMapper json, InputStream gz) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(new GZIPInputStream(gz), StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        out.add(json.readTree(line));
      }
    }
    return out;
  }

  /** The paragraph's start under 100 characters, cut at a space where it has one. */
  private static String shortStart(String p) {
    if (p.length() < 100) {
      return p;
    }
    int cut = p.lastIndexOf(' ', 99);
    return p.substring(0, cut > 20 ? cut : 99);
  }

  /** Runs of consecutive paragraphs, each joined until it reaches the next target length. */
  private static void joined(
      Map<Band, List<Item>> bands, String lang, List<String> paras, int[] targets) {
    StringBuilder run = new StringBuilder();
    int t = 0;
    for (String p : paras) {
      run.append(run.isEmpty() ? "" : "\n").append(p.strip());
      if (run.length() >= targets[t % targets.length]) {
        add(bands, lang, run.toString());
        run.setLength(0);
        t++;
      }
    }
  }

  private static void add(Map<Band, List<Item>> bands, String lang, String text) {
    if (text.strip().length() >= 10) {
      bands.get(Band.of(text)).add(new Item(lang, text));
    }
  }
}
