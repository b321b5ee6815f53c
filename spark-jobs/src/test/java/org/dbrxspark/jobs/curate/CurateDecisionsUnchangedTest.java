package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.zip.GZIPInputStream;
import org.apache.spark.sql.Row;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.junit.jupiter.api.Test;

/**
 * Curate's filter decisions on the real sample corpus are those of the code before the language-ID
 * changes (commit d25a069, recorded in resources/curate-golden by {@link #main} run on that
 * commit's classes): every filter that does not depend on the language gives the same keep/reject
 * and the same reasons, in the same order, on every document; the stop-word filter (English only)
 * too wherever the language is unchanged.
 */
class CurateDecisionsUnchangedTest {
  /** Reasons that depend on the identified language. */
  private static final Set<String> LANGUAGE_DEPENDENT =
      Set.of(Curator.LANGUAGE_REASON, "gopher-min-stop-words");

  private static final Path SAMPLE_CORPUS = Path.of("data/sample-corpus/corpus.jsonl.gz");

  private static Curator defaults() {
    return CurateJob.curator(
        new DbrxSparkJobs()
            .optionSet(new CurateJob())
            .parse(new String[] {"--input", "in", "--output", "out"}));
  }

  /** Calls {@code each} with every sample-corpus document's id and its curation by the defaults. */
  private static void curateSampleCorpus(Path corpus, BiConsumer<String, Row> each)
      throws IOException {
    ObjectMapper json = new ObjectMapper();
    Curator curator = defaults();
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(corpus)), StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        JsonNode doc = json.readTree(line);
        each.accept(doc.get("id").asText(), curator.curate(doc.get("text").asText()));
      }
    }
  }

  private static List<String> reasons(Row curated) {
    return List.of((String[]) curated.get(4));
  }

  @Test
  void everyFilterButLanguageIdDecidesAsBefore() throws IOException {
    ObjectMapper json = new ObjectMapper();
    Map<String, JsonNode> before = new LinkedHashMap<>();
    try (InputStream in =
            Objects.requireNonNull(
                getClass().getResourceAsStream("/curate-golden/sample-corpus-d25a069.jsonl"));
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        JsonNode n = json.readTree(line);
        before.put(n.get("id").asText(), n);
      }
    }
    List<String> languageChanged = new ArrayList<>();
    int[] counts = new int[3]; // documents, rejected by a language-independent filter, reasons
    curateSampleCorpus(
        Path.of("..").resolve(SAMPLE_CORPUS),
        (id, row) -> {
          JsonNode old = Objects.requireNonNull(before.get(id), id);
          List<String> oldReasons = new ArrayList<>();
          old.get("reasons").forEach(n -> oldReasons.add(n.asText()));
          List<String> newReasons = reasons(row);
          boolean sameLang = old.get("lang").asText().equals(row.getString(2));
          if (!sameLang) {
            languageChanged.add(id + ": " + old.get("lang").asText() + " -> " + row.getString(2));
          }
          List<String> oldIndependent =
              oldReasons.stream().filter(x -> sameLang || !LANGUAGE_DEPENDENT.contains(x)).toList();
          List<String> newIndependent =
              newReasons.stream().filter(x -> sameLang || !LANGUAGE_DEPENDENT.contains(x)).toList();
          assertEquals(oldIndependent, newIndependent, id);
          counts[0]++;
          counts[1] += newIndependent.isEmpty() ? 0 : 1;
          counts[2] += newIndependent.size();
        });
    System.out.printf(
        "%d documents: %d rejected by language-independent filters (%d reasons) as before; "
            + "language changed on %d: %s%n",
        counts[0], counts[1], counts[2], languageChanged.size(), languageChanged);
    assertEquals(before.size(), counts[0], "every recorded document was curated again");
    assertTrue(counts[1] > 100 && counts[2] > 1000, "the comparison covers many rejections");
  }

  /**
   * Prints the record this test compares against, for the classes on the class path: run from the
   * repository root with the baseline's classes first on the class path to record a new baseline.
   */
  public static void main(String[] args) throws IOException {
    ObjectMapper json = new ObjectMapper();
    curateSampleCorpus(
        SAMPLE_CORPUS,
        (id, row) -> {
          ObjectNode o = json.createObjectNode().put("id", id).put("lang", row.getString(2));
          reasons(row).forEach(o.putArray("reasons")::add);
          System.out.println(o);
        });
  }
}
