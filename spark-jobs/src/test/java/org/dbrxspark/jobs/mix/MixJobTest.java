package org.dbrxspark.jobs.mix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.io.BadInput;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MixJobTest {
  private final SparkSession spark = SharedSpark.get();

  @Test
  void withoutATokenColumnTokensAreCountedWithTheDbrxTokenizer(@TempDir Path dir) throws Exception {
    Dataset<Row> docs =
        spark.sql(
            "select concat('d', id) as id, 'web' as source, "
                + "concat('Ünïcode text ', repeat('word ', cast(id as int)), '<|endoftext|> 東京') as text from range(20)");
    String in = dir.resolve("in").toString();
    docs.write().parquet(in);
    String out = dir.resolve("mix").toString();
    JobRunner.Result run = mixDocuments(in, out, "web=1", 20);
    assertEquals(0, run.code(), run.err() + run.out());

    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    long expected = 0;
    for (Row r : docs.collectAsList()) {
      expected += tokenizer.encode(r.getString(2)).length;
    }
    JsonNode manifest = new ObjectMapper().readTree(dir.resolve("mix_manifest.json").toFile());
    assertTrue(manifest.get("tokens").asText().startsWith("DBRX tokenizer"), manifest.toString());
    assertEquals(expected, manifest.get("sources").get(0).get("tokens_before").asLong());
    for (Row r : DeltaTables.read(spark, out).collectAsList()) {
      assertEquals(
          tokenizer.encode(r.<String>getAs("text")).length,
          r.<Long>getAs("num_tokens"),
          r.<String>getAs("id"));
    }
  }

  @Test
  void weightedCappedSeededMixWithManifest(@TempDir Path dir) throws Exception {
    Dataset<Row> docs =
        spark.sql(
            "select concat('d', id) as id, if(id < 150, 'big', 'small') as source, "
                + "concat('text ', id) as text, 10 as num_tokens from range(200)");
    String one = dir.resolve("one").toString();
    String four = dir.resolve("four").toString();
    docs.coalesce(1).write().parquet(one);
    docs.repartition(4).write().parquet(four);
    String out = dir.resolve("mix").toString();
    String[] args = {
      "mix",
      "--input",
      one,
      "--output",
      out,
      "--weights",
      "big=1,small=1",
      "--budget",
      "2000",
      "--max-epochs",
      "1.5"
    };
    JobRunner.Result run = JobRunner.run(args);
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(
        run.out().contains("input = sampled + not sampled + rejected: 200 = 151 + 49 + 0  [ok]"),
        run.out());

    JsonNode manifest = new ObjectMapper().readTree(dir.resolve("mix_manifest.json").toFile());
    JsonNode big = manifest.get("sources").get(0);
    JsonNode small = manifest.get("sources").get(1);
    assertEquals("big", big.get("source").asText());
    assertEquals(2.0 / 3, big.get("rate").asDouble(), 1e-9);
    assertEquals(1500, big.get("tokens_before").asLong());
    assertTrue(small.get("capped").asBoolean());
    assertEquals(1.5, small.get("rate").asDouble(), 1e-9);

    Dataset<Row> mix = DeltaTables.read(spark, out);
    long smallRows = mix.where("source = 'small'").count();
    long bigRows = mix.where("source = 'big'").count();
    assertEquals(smallRows, small.get("documents_after").asLong());
    assertEquals(
        50, mix.where("source = 'small' and copy = 0").count(), "rate >= 1: every document kept");
    assertTrue(
        smallRows > 60 && smallRows < 90, "about half the small documents twice: " + smallRows);
    assertTrue(bigRows > 80 && bigRows < 120, "about 2/3 of 150 big documents: " + bigRows);
    assertEquals(0, mix.where("copy > 1").count());
    assertEquals(mix.count(), mix.select("id", "copy").distinct().count(), "(id, copy) is a key");

    args[2] = four;
    assertEquals(0, JobRunner.run(args).code());
    assertEquals(sorted(mix), sorted(DeltaTables.read(spark, out)), "same options, same mix");

    JobRunner.Result unknown =
        JobRunner.run(
            "mix", "--input", one, "--output", out, "--weights", "web=1", "--budget", "10");
    assertEquals(2, unknown.code());
    assertTrue(unknown.err().contains("[web]"), unknown.err());
  }

  @Test
  void linesThatAreNotDocumentsAreRejectedAndTheOthersMixed(@TempDir Path dir) throws Exception {
    String input = BadInput.write(dir);
    // Line 11: bytes that are not UTF-8 are repaired, and the row keeps its id.
    Files.write(
        Path.of(input),
        "{\"id\": \"latin-1\", \"text\": \"caf\u00e9 au lait\"}\n"
            .getBytes(StandardCharsets.ISO_8859_1),
        StandardOpenOption.APPEND);
    String out = dir.resolve("mix").toString();
    JobRunner.Result run = mixDocuments(input, out, "bad=1", 4);
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(
        run.out().contains("input = sampled + not sampled + rejected: 11 = 4 + 0 + 7  [ok]"),
        run.out());
    assertTrue(run.out().contains("11 rows read, 7 rejected;"), run.out());

    Map<String, String> mixed = new TreeMap<>();
    for (Row r : DeltaTables.read(spark, out).collectAsList()) {
      mixed.put(r.getAs("id"), r.getAs("text"));
    }
    assertEquals(List.of("good-1", "good-2", "good-3", "latin-1"), List.copyOf(mixed.keySet()));
    assertEquals("caf\uFFFD au lait", mixed.get("latin-1"));

    Map<String, String> reasons = BadInput.reasonsById(DeltaTables.read(spark, out + "_rejects"));
    assertEquals(7, reasons.size(), reasons.toString());
    assertEquals("null-text", reasons.get("text-null"));
    assertEquals("null-text", reasons.get("text-missing"));
    assertEquals("text-not-a-string: a number" + BadInput.at(dir, 7), reasons.get("text-number"));
    assertEquals("text-not-a-string: an array" + BadInput.at(dir, 10), reasons.get("text-array"));
    assertEquals(
        List.of(
            "malformed-json: Unexpected end-of-input" + BadInput.at(dir, 4),
            "not-an-object: a string" + BadInput.at(dir, 6),
            "not-an-object: an array" + BadInput.at(dir, 5)),
        reasons.values().stream()
            .filter(r -> r.startsWith("malformed") || r.startsWith("not-an"))
            .map(r -> r.replaceAll(": was expecting .* \\(column \\d+\\)", ""))
            .sorted()
            .toList());

    JsonNode source =
        new ObjectMapper()
            .readTree(dir.resolve("mix_manifest.json").toFile())
            .get("sources")
            .get(0);
    assertEquals(11, source.get("rows_read").asLong());
    assertEquals(7, source.get("rows_rejected").asLong());
    assertEquals(4, source.get("documents_before").asLong());
  }

  @Test
  void linesWhoseSourceColumnCannotBeReadAreCountedAsUnreadable(@TempDir Path dir)
      throws Exception {
    Path input =
        BadInput.writeLines(
            dir.resolve("in.jsonl"),
            "{\"id\": \"w1\", \"source\": \"web\", \"text\": \"one\"}",
            "{\"id\": \"w2\", \"source\": \"web\", \"text\": \"two\"}",
            "{\"id\": \"n1\", \"source\": null, \"text\": \"no source\"}",
            "{\"id\": \"b1\", \"source\": \"books\", \"text\": 7}",
            "{\"id\": \"b2\", \"source\": \"books\", \"text\": \"three\"}",
            "{\"id\": \"broken\", \"source\": \"web\"",
            "[\"not\", \"an object\"]");
    String out = dir.resolve("mix").toString();
    JobRunner.Result run = mixDocuments(input.toString(), out, "web=1,books=1", 4);
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(
        run.out().contains("input = sampled + not sampled + rejected: 7 = 3 + 1 + 3  [ok]"),
        run.out());

    Map<String, JsonNode> sources = new TreeMap<>();
    new ObjectMapper()
        .readTree(dir.resolve("mix_manifest.json").toFile())
        .get("sources")
        .forEach(s -> sources.put(s.get("source").asText(), s));
    assertEquals(List.of("(null)", "(unreadable)", "books", "web"), List.copyOf(sources.keySet()));
    Map<String, List<Long>> readAndRejected = new TreeMap<>();
    sources.forEach(
        (name, s) ->
            readAndRejected.put(
                name, List.of(s.get("rows_read").asLong(), s.get("rows_rejected").asLong())));
    assertEquals(
        Map.of(
            "(null)", List.of(1L, 0L),
            "(unreadable)", List.of(2L, 2L),
            "books", List.of(2L, 1L),
            "web", List.of(2L, 0L)),
        readAndRejected);
    assertTrue(run.out().contains("2 rows read, 2 rejected;"), run.out());
  }

  /** Runs mix with a budget of {@code budget} documents. */
  private static JobRunner.Result mixDocuments(
      String input, String out, String weights, int budget) {
    return JobRunner.run(
        "mix",
        "--input",
        input,
        "--output",
        out,
        "--weights",
        weights,
        "--budget",
        Integer.toString(budget),
        "--budget-unit",
        "documents");
  }

  private static List<String> sorted(Dataset<Row> t) {
    return t.orderBy("id", "copy").collectAsList().stream()
        .map(Row::toString)
        .collect(Collectors.toList());
  }
}
