package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.StatsJson;
import org.dbrxspark.jobs.io.BadInput;
import org.dbrxspark.jobs.io.DeltaTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** curate end to end through the entry point, on real Delta tables. */
class CurateJobTest {
  private final SparkSession spark = SharedSpark.get();

  private static Path writeInput(Path dir) throws Exception {
    ObjectMapper json = new ObjectMapper();
    Map<String, String> docs = new TreeMap<>();
    docs.put("good", Texts.GOOD);
    docs.put("german", Texts.GERMAN);
    docs.put("short", CuratorFiltersTest.badDocuments().get("gopher-min-words"));
    docs.put("lorem", CuratorFiltersTest.badDocuments().get("c4-max-lorem-ipsum"));
    docs.put(
        "pii",
        Texts.GOOD
            + " Mail jane@example.org, call +1 (555) 123-4567, host 2001:db8::1 or 10.1.2.3.");
    docs.put("nfc", "Cafe\u0301\u0000 " + Texts.GOOD);
    docs.put("empty", "\u0007");
    List<String> lines = new ArrayList<>();
    for (Map.Entry<String, String> e : docs.entrySet()) {
      lines.add(
          json.writeValueAsString(
              Map.of("id", e.getKey(), "text", e.getValue(), "url", "u/" + e.getKey())));
    }
    Path input = dir.resolve("docs.jsonl");
    Files.write(input, lines);
    return input;
  }

  private static Map<String, Row> byId(List<Row> rows) {
    Map<String, Row> out = new TreeMap<>();
    rows.forEach(r -> out.put(r.getString(r.fieldIndex("id")), r));
    return out;
  }

  @Test
  void keptAndRejectedReconcileWithReasonsSignalsAndRerunsIdentically(@TempDir Path dir)
      throws Exception {
    Path input = writeInput(dir);
    String out = dir.resolve("curated").toString();
    String[] args = concat(englishOnly(input, out), "--source", "test");
    JobRunner.Result first = JobRunner.run(args);
    assertEquals(0, first.code(), first.err() + first.out());
    assertTrue(first.out().contains("input = kept + rejected: 7 = 3 + 4  [ok]"), first.out());

    Map<String, Row> kept = byId(DeltaTables.read(spark, out).collectAsList());
    Map<String, Row> rejected = byId(DeltaTables.read(spark, out + "_rejects").collectAsList());
    assertEquals(List.of("good", "nfc", "pii"), new ArrayList<>(kept.keySet()));
    assertEquals(List.of("empty", "german", "lorem", "short"), new ArrayList<>(rejected.keySet()));

    Row pii = kept.get("pii");
    assertTrue(
        pii.getString(pii.fieldIndex("text"))
            .endsWith("Mail <EMAIL>, call <PHONE>, host <IP> or <IP>."),
        pii.getString(pii.fieldIndex("text")));
    assertEquals("u/pii", pii.getString(pii.fieldIndex("url")), "input columns are kept");
    assertEquals("test", pii.getString(pii.fieldIndex("source")));
    assertEquals("en", pii.getString(pii.fieldIndex("lang")));
    assertTrue(
        kept.get("nfc").getString(2).startsWith("Caf\u00e9 The history"),
        kept.get("nfc").getString(2));

    assertEquals(List.of("languages"), reasons(rejected.get("german")));
    for (String id : List.of("german", "short")) {
      Row r = rejected.get(id);
      assertEquals(
          id.equals("german")
              ? Texts.GERMAN
              : CuratorFiltersTest.badDocuments().get("gopher-min-words"),
          r.getString(r.fieldIndex("text")),
          "a rejected row keeps its text before the line rules");
    }
    assertTrue(reasons(rejected.get("lorem")).contains("c4-max-lorem-ipsum"));
    assertTrue(reasons(rejected.get("empty")).contains("min-chars"));
    Row shortDoc = rejected.get("short");
    assertTrue(reasons(shortDoc).contains("gopher-min-words"));
    Row signals = shortDoc.getStruct(shortDoc.fieldIndex("signals"));
    assertEquals(17.0, signals.getDouble(signals.fieldIndex("words")));

    JobRunner.Result second = JobRunner.run(args);
    assertEquals(0, second.code());
    assertEquals(sorted(kept), sorted(byId(DeltaTables.read(spark, out).collectAsList())));
    assertEquals(
        sorted(rejected), sorted(byId(DeltaTables.read(spark, out + "_rejects").collectAsList())));
    long versions = spark.sql("DESCRIBE HISTORY delta.`" + out + "`").count();
    assertEquals(2, versions, "each run is one overwrite commit");

    JobRunner.Result relaxed =
        JobRunner.run(concat(args, "--gopher-min-words", "off", "--languages", ""));
    assertEquals(0, relaxed.code(), relaxed.err());
    Map<String, Row> keptNow = byId(DeltaTables.read(spark, out).collectAsList());
    assertTrue(
        keptNow.containsKey("short") && keptNow.containsKey("german"), keptNow.keySet().toString());
    assertTrue(relaxed.out().contains("input = kept + rejected: 7 = 5 + 2  [ok]"), relaxed.out());
  }

  @Test
  void statsCarryEachFiltersCountsAndSignalHistogramsBeforeAndAfter(@TempDir Path dir)
      throws Exception {
    Path input = writeInput(dir);
    String out = dir.resolve("curated").toString();
    Path statsFile = dir.resolve("stats.json");
    JobRunner.Result run =
        JobRunner.run(concat(englishOnly(input, out), "--stats-output", statsFile.toString()));
    assertEquals(0, run.code(), run.err() + run.out());
    JsonNode stats = StatsJson.parse(Files.readString(statsFile));
    StatsJson.assertMatchesPrinted(stats, run.out());

    List<Row> rejects = DeltaTables.read(spark, out + "_rejects").collectAsList();
    JsonNode filters = stats.get("filters");
    String active = stats.at("/entries/active filters").asText();
    assertEquals(
        Integer.parseInt(active.substring(0, active.indexOf(' '))) + 1,
        filters.size(),
        active + " and languages: " + filters);
    filters
        .fields()
        .forEachRemaining(
            f -> {
              long rejected = rejects.stream().filter(r -> reasons(r).contains(f.getKey())).count();
              assertEquals(rejected, f.getValue().get("rejected").asLong(), f.getKey());
              assertEquals(7 - rejected, f.getValue().get("kept").asLong(), f.getKey());
            });
    assertEquals(2, filters.at("/languages/rejected").asLong(), "german, and the empty one");

    JsonNode words = stats.at("/histograms/words");
    assertEquals(7, sum(words.get("before")));
    assertEquals(3, sum(words.get("after")));
    assertEquals(CurateJob.SIGNAL_BINS, words.get("before").size());
    assertEquals(0.0, words.get("min").asDouble(), "the empty document has no words");
    assertTrue(stats.at("/timings/wall").asDouble() > 0, stats.toString());
  }

  private static long sum(JsonNode counts) {
    long sum = 0;
    for (JsonNode c : counts) {
      sum += c.asLong();
    }
    return sum;
  }

  @Test
  void linesThatAreNotDocumentsAreRejectedWithTheReadersReason(@TempDir Path dir) throws Exception {
    String out = dir.resolve("curated").toString();
    JobRunner.Result run =
        JobRunner.run(
            "curate",
            "--input",
            BadInput.write(dir),
            "--output",
            out,
            "--lid",
            "false",
            "--gopher-min-words",
            "off",
            "--c4-min-sentences",
            "off",
            "--gopher-min-stop-words",
            "off");
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(run.out().contains("input = kept + rejected: 10 = 3 + 7  [ok]"), run.out());
    Map<String, Row> rejected = byId(DeltaTables.read(spark, out + "_rejects").collectAsList());
    assertEquals(
        List.of("text-not-a-string: a number" + BadInput.at(dir, 7)),
        reasons(rejected.get("text-number")));
    assertEquals(
        "{\"id\": \"text-number\", \"text\": 42}",
        rejected.get("text-number").getAs("text"),
        "the line is kept whole");
    assertTrue(
        reasons(rejected.get("text-null")).contains("min-chars"),
        "a null text is curated as empty");
    long unreadable =
        rejected.values().stream()
            .filter(
                r ->
                    reasons(r).get(0).startsWith("malformed-json: ")
                        || reasons(r).get(0).startsWith("not-an-object: "))
            .count();
    assertEquals(3, unreadable, rejected.toString());
  }

  @Test
  void hostileDocumentsAreCuratedLikeAnyOther(@TempDir Path dir) throws Exception {
    String out = dir.resolve("curated").toString();
    JobRunner.Result run =
        JobRunner.run("curate", "--input", BadInput.writeHostile(dir), "--output", out);
    assertEquals(0, run.code(), run.err() + run.out());
    Map<String, Row> rejected = byId(DeltaTables.read(spark, out + "_rejects").collectAsList());
    assertEquals(
        BadInput.HOSTILE.keySet(),
        rejected.keySet(),
        "none is a good document, each has its reasons");
    assertTrue(reasons(rejected.get("empty")).contains("min-chars"));
    assertTrue(reasons(rejected.get("million-char-word")).contains("gopher-max-mean-word-length"));
  }

  @Test
  void inputColumnsNamedWithBackticksAndDotsAreKeptAsThey(@TempDir Path dir) throws Exception {
    String odd = "tag`a`.b";
    Path input = dir.resolve("docs.jsonl");
    Files.write(
        input,
        List.of(
            new ObjectMapper()
                .writeValueAsString(Map.of("id", "good", "text", Texts.GOOD, odd, "v"))));
    String out = dir.resolve("curated").toString();
    JobRunner.Result run =
        JobRunner.run("curate", "--input", input.toString(), "--output", out, "--lid", "false");
    assertEquals(0, run.code(), run.err() + run.out());
    Row kept = DeltaTables.read(spark, out).first();
    assertEquals("v", kept.getString(kept.fieldIndex(odd)));
  }

  private static List<String> reasons(Row r) {
    return r.getList(r.fieldIndex("reasons"));
  }

  private static List<String> sorted(Map<String, Row> rows) {
    List<String> out = new ArrayList<>();
    rows.values().forEach(r -> out.add(r.toString()));
    return out;
  }

  /** curate of {@link #writeInput}'s documents to {@code out}, keeping English ones. */
  private static String[] englishOnly(Path input, String out) {
    return new String[] {
      "curate",
      "--input",
      input.toString(),
      "--output",
      out,
      "--languages",
      "en",
      "--lid-candidates",
      "en,de,fr"
    };
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
