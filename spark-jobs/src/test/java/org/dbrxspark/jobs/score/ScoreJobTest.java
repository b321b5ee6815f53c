package org.dbrxspark.jobs.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.TestCheckpoints;
import org.dbrxspark.jobs.io.BadInput;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.ScoreRequest;
import org.dbrxspark.runtime.engine.ScoreResult;
import org.dbrxspark.udfs.ml.DbrxScorer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreJobTest {
  private static SparkSession spark;
  private static String model;
  private static String input;

  @TempDir static Path dir;

  @BeforeAll
  static void setUp() throws IOException {
    spark = SharedSpark.get();
    model = TestCheckpoints.tiny();
    ObjectMapper json = new ObjectMapper();
    String[] texts = {
      "The cat sat on the mat and looked out of the window at the rain.",
      "Spark jobs write Delta tables; every commit is atomic.",
      "zq xv jj kk qq zz vv xx jq qz",
      "the the the the the the the the the the the the",
      "Perplexity measures how surprised a language model is by a text.",
      "Hello",
      "word ".repeat(1100),
    };
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < texts.length; i++) {
      lines.add(
          json.writeValueAsString(
              Map.of("id", "d" + i, "text", texts[i], "prefix", "Document " + i + ":")));
    }
    input = Files.write(dir.resolve("docs.jsonl"), lines).toString();
  }

  private static String[] args(String output, String... more) {
    List<String> all =
        new ArrayList<>(
            List.of(
                "score",
                "--input",
                input,
                "--output",
                output,
                "--model",
                model,
                "--threads",
                "2",
                "--partitions",
                "2"));
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  private static Map<String, Row> byId(Dataset<Row> table) {
    Map<String, Row> out = new TreeMap<>();
    table.collectAsList().forEach(r -> out.put(r.getAs("id"), r));
    return out;
  }

  @Test
  void linesThatAreNotDocumentsHaveTheirReadErrorAsScoreError(@TempDir Path bad)
      throws IOException {
    String out = dir.resolve("bad-scored").toString();
    String[] argv = args(out);
    argv[2] = BadInput.write(bad);
    JobRunner.Result run = JobRunner.run(argv);
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(run.out().contains("input = output rows: 10 = 10  [ok]"), run.out());
    Map<String, Row> rows = byId(DeltaTables.read(spark, out));
    assertEquals(
        "text-not-a-string: a number" + BadInput.at(bad, 7),
        rows.get("text-number").getAs("score_error"));
    assertNull(rows.get("good-1").getAs("score_error"));
    assertNotNull(rows.get("good-1").getAs("perplexity"));
    String file = BadInput.at(bad, 1).replace(" line 1", " line ");
    assertEquals(
        5,
        rows.values().stream()
            .filter(r -> String.valueOf(r.<String>getAs("score_error")).contains(file))
            .count(),
        "the five lines that are not documents, each named: " + rows);
  }

  @Test
  void maxPerplexityKeepsLikelyDocumentsAndRejectsTheRestWithReasons() {
    String scoredPath = dir.resolve("scored").toString();
    JobRunner.Result all = JobRunner.run(args(scoredPath));
    assertEquals(0, all.code(), all.err() + all.out());
    Dataset<Row> scored = DeltaTables.read(spark, scoredPath);
    assertEquals(
        List.of(
            "id",
            "source",
            "text",
            "prefix",
            "logprob_sum",
            "token_count",
            "perplexity",
            "score_error"),
        List.of(scored.columns()));
    Map<String, Row> rows = byId(scored);
    assertEquals(7, rows.size());
    assertTrue(
        rows.get("d6").<String>getAs("score_error").contains("1024"),
        "too long for the model: " + rows.get("d6"));
    assertTrue(
        rows.get("d5").<String>getAs("score_error").contains("single token"),
        "nothing to condition " + "a lone token on: " + rows.get("d5"));

    // The median of the five scores: it and the two below are kept, the two above rejected.
    double[] measured =
        rows.values().stream()
            .filter(r -> r.getAs("score_error") == null)
            .mapToDouble(r -> r.<Double>getAs("perplexity"))
            .sorted()
            .toArray();
    assertEquals(5, measured.length);
    double max = measured[2];
    String kept = dir.resolve("kept").toString();
    JobRunner.Result filtered = JobRunner.run(args(kept, "--max-perplexity", Double.toString(max)));
    assertEquals(0, filtered.code(), filtered.err() + filtered.out());
    assertTrue(filtered.out().contains("input = kept + rejected: 7 = 3 + 4  [ok]"), filtered.out());
    assertTrue(
        filtered.out().contains("rejected = above max-perplexity + score errors: 4 = 2 + 2  [ok]"),
        filtered.out());

    Map<String, Row> keptRows = byId(DeltaTables.read(spark, kept));
    assertEquals(3, keptRows.size());
    keptRows.values().forEach(r -> assertTrue(r.<Double>getAs("perplexity") <= max, r.toString()));
    Map<String, Row> rejected = byId(DeltaTables.read(spark, kept + "_rejects"));
    for (String error : List.of("d5", "d6")) {
      assertEquals(
          List.of("score_error"),
          rejected.get(error).getList(rejected.get(error).fieldIndex("reasons")));
    }
    for (Row r : rejected.values()) {
      if (r.getAs("score_error") == null) {
        assertEquals(List.of("max-perplexity"), r.getList(r.fieldIndex("reasons")));
        assertTrue(r.<Double>getAs("perplexity") > max);
        assertEquals(
            rows.get(r.<String>getAs("id")).<Double>getAs("perplexity"),
            r.<Double>getAs("perplexity"),
            "same score in both runs");
      }
    }
  }

  @Test
  void aPrefixConditionsTheTextLikeTheScorerAlone() {
    String output = dir.resolve("prefixed").toString();
    JobRunner.Result run = JobRunner.run(args(output, "--prefix-col", "prefix"));
    assertEquals(0, run.code(), run.err() + run.out());
    DbrxScorer scorer =
        new DbrxScorer()
            .setModelLocation(model)
            .setThreads(2)
            .setInputCol("text")
            .setPrefixCol("prefix");
    Map<String, Row> expected = new TreeMap<>();
    scorer
        .transform(spark.read().json(input))
        .collectAsList()
        .forEach(r -> expected.put(r.getAs("id"), r.getStruct(r.fieldIndex("score"))));
    Map<String, Row> actual = byId(DeltaTables.read(spark, output));
    assertEquals(expected.keySet(), actual.keySet());
    for (String id : expected.keySet()) {
      Row e = expected.get(id);
      Row a = actual.get(id);
      assertEquals(e.<String>getAs("error"), a.<String>getAs("score_error"), id);
      assertEquals(e.<Object>getAs("logprob_sum"), a.<Object>getAs("logprob_sum"), id);
      assertEquals(e.<Object>getAs("token_count"), a.<Object>getAs("token_count"), id);
    }
    assertNull(actual.get("d5").getAs("score_error"));
    assertTrue(
        actual.get("d5").<Integer>getAs("token_count") > 0,
        "with a prefix the first token is scored too");
    assertNotNull(actual.get("d6").getAs("score_error"));
  }

  @Test
  void kvCacheOptionsScoreLikeTheRuntimeWithTheSameOptions() throws Exception {
    String output = dir.resolve("f32-short").toString();
    JobRunner.Result run = JobRunner.run(args(output, "--kv-dtype", "f32", "--max-seq-len", "12"));
    assertEquals(0, run.code(), run.err() + run.out());
    Map<String, Row> actual = byId(DeltaTables.read(spark, output));
    int checked = 0;
    boolean differsFromF16 = false;
    try (DbrxRuntime f32 =
            DbrxRuntime.load(Path.of(model), 2, new EngineOptions(2048, 32, 12, KvDType.F32, 0));
        DbrxRuntime f16 = DbrxRuntime.load(Path.of(model), 2, EngineOptions.defaults())) {
      for (Row row : actual.values()) {
        int[] ids = f32.tokenizer().encode(row.<String>getAs("text"));
        ScoreRequest request = new ScoreRequest(new int[0], ids);
        ScoreResult expected = f32.scorer().score(List.of(request)).get(0);
        assertEquals(expected.error(), row.<String>getAs("score_error"), row.toString());
        if (ids.length > 12) {
          assertTrue(expected.error().contains("max_seq_len 12"), expected.error());
        } else if (expected.error() == null) {
          assertEquals(expected.logprobSum(), row.<Double>getAs("logprob_sum"), 0, row.toString());
          differsFromF16 |=
              expected.logprobSum() != f16.scorer().score(List.of(request)).get(0).logprobSum();
          checked++;
        }
      }
    }
    assertTrue(checked >= 3, "rows under the cap: " + checked);
    assertTrue(differsFromF16, "--kv-dtype f32 reached the runtime");
    assertTrue(actual.get("d0").<String>getAs("score_error").contains("max_seq_len 12"));
  }

  @Test
  void deviceOptionsReachTheExecutorsAndAGpuThatCannotBeUsedFailsOrFallsBack() {
    JobRunner.Result bad = JobRunner.run(args(dir.resolve("d").toString(), "--device", "gpu0"));
    assertEquals(2, bad.code(), bad.err());
    assertTrue(bad.err().contains("--device: 'gpu0' is not auto, cpu, cuda or cuda:N"), bad.err());
    // This host has no GPU: cuda:0 fails the job naming the device and the settings that help...
    SparkException noGpu =
        assertThrows(
            SparkException.class,
            () -> JobRunner.run(args(dir.resolve("e").toString(), "--device", "cuda:0")));
    assertTrue(
        noGpu
            .getMessage()
            .contains("(device cuda:0): device cuda:0 cannot be used: device 'cuda:0'"),
        noGpu.getMessage());
    assertTrue(noGpu.getMessage().contains("spark.dbrx.device.fallback=cpu"), noGpu.getMessage());
    // ...and with the CPU fallback the job scores on the CPU.
    JobRunner.Result fallback =
        JobRunner.run(
            args(dir.resolve("f").toString(), "--device", "cuda:0", "--device-fallback", "cpu"));
    assertEquals(0, fallback.code(), fallback.err() + fallback.out());
    assertTrue(DeltaTables.read(spark, dir.resolve("f").toString()).count() > 0);
  }

  @Test
  void badKvCacheOptionsAreUsageErrorsNamingTheOption() {
    JobRunner.Result dtype = JobRunner.run(args(dir.resolve("x").toString(), "--kv-dtype", "f8"));
    assertEquals(2, dtype.code(), dtype.err());
    assertTrue(dtype.err().contains("--kv-dtype"), dtype.err());
    JobRunner.Result cache =
        JobRunner.run(
            args(dir.resolve("y").toString(), "--max-seq-len", "64", "--kv-cache-tokens", "32"));
    assertEquals(2, cache.code(), cache.err());
    assertTrue(
        cache.err().contains("--kv-cache-tokens 32 cannot hold one sequence of --max-seq-len 64"),
        cache.err());
  }
}
