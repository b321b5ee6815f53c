package org.dbrxspark.jobs.decontam;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * The contamination test's data: seeded benchmark items, the bundled sample corpus with 100 of them
 * planted (verbatim, reformatted, or lightly edited), and an oracle that finds shared n-grams by
 * comparing word strings, independently of the job's hashing.
 */
final class Plants {
  /** How a passage is planted. */
  enum Kind {
    /** The question as written. */
    VERBATIM,
    /** Upper case, other punctuation and line breaks: the same words. */
    REFORMATTED,
    /** Two words replaced near the ends: a run of at least 18 words survives. */
    EDITED_KEEPS_NGRAM,
    /** Every sixth word replaced: no run of 13 words survives. */
    EDITED_BREAKS_NGRAM
  }

  private static final String[] VOCABULARY =
      ("which of the following best describes a process where energy "
              + "is transferred from one system to another during reaction in cells plants animals water heat light "
              + "force motion mass volume pressure temperature river mountain city ancient empire trade law court "
              + "president election vote number prime sum product equation angle triangle circle area length rate "
              + "price market bank loan interest growth population species gene protein enzyme acid metal oxygen")
          .split(" ");
  private static final Pattern NON_WORD = Pattern.compile("[^\\p{L}\\p{N}]+");

  /** A benchmark item: its id and text columns. */
  record Item(String id, String question, List<String> choices, String answer) {
    /** The texts the job matches within: the question, each choice, the answer. */
    List<String> texts() {
      List<String> out = new ArrayList<>(List.of(question));
      out.addAll(choices);
      out.add(answer);
      return out;
    }

    /** The n-grams of its texts, none across two. */
    Set<String> ngrams(int n) {
      Set<String> out = new HashSet<>();
      texts().forEach(t -> out.addAll(Plants.ngrams(t, n).keySet()));
      return out;
    }
  }

  /** A planted document. */
  record Plant(String docId, Item item, Kind kind, String passage) {}

  final List<Item> items = new ArrayList<>();
  final List<Plant> plants = new ArrayList<>();

  /** The corpus with the plants, by id. */
  final Map<String, String> corpus = new TreeMap<>();

  /**
   * {@code count} items; the first {@code planted} of them planted into every fourth sample
   * document.
   */
  Plants(int count, int planted) throws IOException {
    SplittableRandom random = new SplittableRandom(18);
    for (int i = 0; i < count; i++) {
      List<String> choices = new ArrayList<>();
      for (int c = 0; c < 4; c++) {
        choices.add(sentence(random, 2 + random.nextInt(3), false));
      }
      items.add(
          new Item(
              String.format("q-%03d", i),
              sentence(random, 30 + random.nextInt(16), true),
              choices,
              choices.get(random.nextInt(4))));
    }
    List<Map.Entry<String, String>> docs = new ArrayList<>(sampleCorpus().entrySet());
    docs.forEach(e -> corpus.put(e.getKey(), e.getValue()));
    Kind[] kinds = Kind.values();
    for (int p = 0; p < planted; p++) {
      Map.Entry<String, String> doc = docs.get(4 * p);
      Item item = items.get(p);
      Kind kind = kinds[p % kinds.length];
      String passage = plant(item.question(), kind);
      String text = doc.getValue();
      int at = text.indexOf(' ', text.length() / 2);
      at = at < 0 ? text.length() : at;
      corpus.put(
          doc.getKey(), text.substring(0, at) + "\n\n" + passage + "\n\n" + text.substring(at));
      plants.add(new Plant(doc.getKey(), item, kind, passage));
    }
  }

  private static String sentence(SplittableRandom random, int words, boolean question) {
    StringBuilder sb = new StringBuilder();
    for (int w = 0; w < words; w++) {
      String word = VOCABULARY[random.nextInt(VOCABULARY.length)];
      sb.append(
          w == 0
              ? word.substring(0, 1).toUpperCase(Locale.ROOT) + word.substring(1)
              : (w % 9 == 8 ? ", " : " ") + word);
    }
    return sb.append(question ? "?" : "").toString();
  }

  private static String plant(String question, Kind kind) {
    String[] words = question.split(" ");
    switch (kind) {
      case VERBATIM:
        return question;
      case REFORMATTED:
        return question
            .toUpperCase(Locale.ROOT)
            .replace(",", ";\n")
            .replace(" ", "  ")
            .replace("?", " (?)");
      case EDITED_KEEPS_NGRAM:
        words[5] = "edited";
        words[words.length - 6] = "changed";
        return String.join(" ", words);
      default:
        for (int i = 5; i < words.length; i += 6) {
          words[i] = "edited";
        }
        return String.join(" ", words);
    }
  }

  /** The bundled sample corpus: id to text. */
  static Map<String, String> sampleCorpus() throws IOException {
    ObjectMapper json = new ObjectMapper();
    Map<String, String> out = new TreeMap<>();
    Path file = Path.of("..", "data", "sample-corpus", "corpus.jsonl.gz");
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(file)), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        Map<?, ?> row = json.readValue(line, Map.class);
        out.put((String) row.get("id"), (String) row.get("text"));
      }
    }
    return out;
  }

  /** Writes the corpus as JSONL (id, text) and returns its path. */
  String writeCorpus(Path dir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<String> lines = new ArrayList<>();
    corpus.forEach(
        (id, text) -> {
          try {
            lines.add(json.writeValueAsString(Map.of("id", id, "text", text)));
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        });
    return Files.write(dir.resolve("corpus.jsonl"), lines).toString();
  }

  /**
   * Writes {@code some} items as JSONL (id, question, choices, answer, an int column); returns its
   * path.
   */
  static String writeBenchmark(Path file, List<Item> some) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<String> lines = new ArrayList<>();
    for (Item item : some) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("id", item.id());
      row.put("question", item.question());
      row.put("choices", item.choices());
      row.put("answer", item.answer());
      row.put("difficulty", 3);
      lines.add(json.writeValueAsString(row));
    }
    return Files.write(file, lines).toString();
  }

  /** The n-grams of a text as word strings, first position of each. */
  static Map<String, Integer> ngrams(String text, int n) {
    String normal = NON_WORD.matcher(text.toLowerCase(Locale.ROOT)).replaceAll(" ").strip();
    String[] words = normal.isEmpty() ? new String[0] : normal.split(" ");
    Map<String, Integer> out = new HashMap<>();
    for (int i = 0; i + n <= words.length; i++) {
      out.putIfAbsent(String.join(" ", List.of(words).subList(i, i + n)), i);
    }
    return out;
  }

  /**
   * The oracle: for each document, the items it shares at least {@code minOverlap} n-grams with,
   * and how many each. Documents sharing none are left out.
   */
  Map<String, Map<String, Integer>> contaminated(int n, int minOverlap) {
    Map<String, List<String>> byGram = new HashMap<>();
    for (Item item : items) {
      for (String g : item.ngrams(n)) {
        byGram.computeIfAbsent(g, k -> new ArrayList<>()).add(item.id());
      }
    }
    Map<String, Map<String, Integer>> out = new TreeMap<>();
    corpus.forEach(
        (id, text) -> {
          Map<String, Integer> shared = new TreeMap<>();
          for (String g : ngrams(text, n).keySet()) {
            byGram.getOrDefault(g, List.of()).forEach(item -> shared.merge(item, 1, Integer::sum));
          }
          shared.values().removeIf(count -> count < minOverlap);
          if (!shared.isEmpty()) {
            out.put(id, shared);
          }
        });
    return out;
  }
}
