package org.dbrxspark.jobs.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.StatsJson;
import org.dbrxspark.jobs.TestCheckpoints;
import org.dbrxspark.jobs.io.DeltaTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quick start's flow end to end: the bundled corpus and prompts through every stage. */
class PipelineJobTest {
  @TempDir Path workdir;

  /**
   * The whole flow, in two runs as a user recovers from a failed stage: the first stops at generate
   * (its model path is wrong), the second runs the stages from there on, reading the tables the
   * first one left.
   */
  @Test
  void everyStageRunsOnTheSampleCorpusAndReconcilesAcrossARerunOfTheFailedStage() throws Exception {
    String[] common = {
      "pipeline",
      "--workdir",
      workdir.toString(),
      "--input",
      "../data/sample-corpus/corpus.jsonl.gz",
      "--prompts",
      "../data/sample-prompts/prompts.jsonl",
      "--max-new-tokens",
      "4",
      "--seq-len",
      "512"
    };
    String missing = workdir.resolve("no-such-model").toString();
    IllegalStateException failed =
        assertThrows(
            IllegalStateException.class, () -> JobRunner.run(concat(common, "--model", missing)));
    assertTrue(
        failed.getMessage().contains("stage generate failed")
            && failed.getMessage().endsWith("--stages generate,rag-index,rag-query"),
        failed.getMessage());
    assertTrue(failed.getCause().getMessage().contains(missing), failed.getCause().getMessage());
    var spark = SharedSpark.get();
    long tokensVersion = DeltaTables.version(spark, workdir.resolve("tokens").toString());
    assertTrue(tokensVersion >= 0, "the stages before generate wrote their tables");

    Path runStats = workdir.resolve("pipeline-stats.json");
    JobRunner.Result run =
        JobRunner.run(
            concat(
                common,
                "--model",
                TestCheckpoints.tiny(),
                "--stages",
                "generate,rag-index,rag-query",
                "--stats-output",
                runStats.toString()));
    assertEquals(0, run.code(), run.err());
    assertEquals(tokensVersion, DeltaTables.version(spark, workdir.resolve("tokens").toString()));
    String out = run.out();
    for (String stage : List.of("generate", "rag-index", "rag-query")) {
      assertTrue(out.contains("  " + stage + " "), "no summary line for " + stage + ":\n" + out);
    }
    assertTrue(out.contains("stages = stages whose counts reconcile: 3 = 3  [ok]"), out);

    long curated = spark.read().format("delta").load(workdir.resolve("curated").toString()).count();
    long deduped = spark.read().format("delta").load(workdir.resolve("deduped").toString()).count();
    assertTrue(
        curated > 0 && deduped > 0 && deduped <= curated,
        curated + " curated, " + deduped + " deduped");
    var sequences = spark.read().format("delta").load(workdir.resolve("tokens").toString());
    assertTrue(sequences.count() > 0);
    assertEquals(
        16, spark.read().format("delta").load(workdir.resolve("generations").toString()).count());
    assertTrue(Files.exists(workdir.resolve("rag-index").resolve("manifest.json")));
    // rag-query's hits and its answer, citing the retrieved chunks.
    assertTrue(
        out.contains("\"rank\":1,")
            && out.contains("\"answer\":")
            && out.contains("\"citations\":["),
        out);

    // The summary table: a row per stage as it ended, the failed run's four first, each with the
    // stage's stats as JSON; the second run's are those it printed.
    List<Row> stages =
        spark
            .read()
            .format("delta")
            .load(workdir.resolve("pipeline_summary").toString())
            .orderBy("run_started", "stage")
            .collectAsList();
    assertEquals(
        List.of("curate", "dedup", "mix", "tokenize", "generate", "rag-index", "rag-query"),
        stages.stream().map(r -> r.<String>getAs("job")).toList());
    for (Row stage : stages) {
      JsonNode stats = StatsJson.parse(stage.getAs("stats"));
      assertTrue(
          stats.get("balanced").asBoolean() && stage.<Boolean>getAs("balanced"), stage.toString());
      assertTrue(stats.at("/timings/wall").asDouble() > 0, stage.toString());
      if (stages.indexOf(stage) >= 4) {
        StatsJson.assertMatchesPrinted(stats, out);
      }
    }
    assertEquals(
        StatsJson.parse(stages.get(4).getAs("stats")),
        StatsJson.parse(Files.readString(runStats)).at("/parts/generate"),
        "the pipeline's JSON nests each stage's");
  }

  @Test
  void stagesMustBeKnownAndInPipelineOrder() {
    JobRunner.Result unknown = JobRunner.run("pipeline", "--stages", "curate,train");
    assertEquals(2, unknown.code());
    assertTrue(unknown.err().contains("unknown stage 'train'"), unknown.err());
    JobRunner.Result reversed = JobRunner.run("pipeline", "--stages", "dedup,curate");
    assertEquals(2, reversed.code());
    assertTrue(reversed.err().contains("'curate' is out of order"), reversed.err());
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
