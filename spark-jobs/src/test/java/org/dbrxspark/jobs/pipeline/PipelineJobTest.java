package org.dbrxspark.jobs.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.StatsJson;
import org.dbrxspark.jobs.TestCheckpoints;
import org.dbrxspark.jobs.io.DeltaTables;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quick start's flow end to end: the bundled corpus and prompts through every stage, in two
 * runs as a user recovers from a failed stage: the first stops at generate (its model path is
 * wrong), the second runs the stages from there on, reading the tables the first one left. Both
 * take their options from one pipeline file, whose top level holds the pipeline's options and whose
 * sections hold the stages'. What curate and dedup did is checked against
 * data/sample-corpus/manifest.json, which the corpus's build script wrote from what it planted.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PipelineJobTest {
  /**
   * A question that reads like options: on a command line, {@code --query} would take it for {@code
   * --k}. Typed values reach the stage as they are.
   */
  private static final String QUERY =
      "--k=3 --answer: what does the Apache License say about patent claims?";

  @TempDir static Path workdir;

  private IllegalStateException failed;
  private String missingModel;
  private long tokensVersionAfterTheFailure;
  private JobRunner.Result rerun;
  private JsonNode manifest;

  @BeforeAll
  void runTheFlowWithAFailedStageThenRerunIt() throws IOException {
    manifest = new ObjectMapper().readTree(Path.of("../data/sample-corpus/manifest.json").toFile());
    ObjectNode file =
        new ObjectMapper()
            .createObjectNode()
            .put("workdir", workdir.toString())
            .put("input", "../data/sample-corpus/corpus.jsonl.gz")
            .put("prompts", "../data/sample-prompts/prompts.jsonl")
            .put("max-new-tokens", 4)
            .put("seq-len", 512)
            .put("query", QUERY)
            .put("stats-output", topLevelStats().toString());
    file.putObject("curate").put("stats-output", curateStats().toString());
    file.putObject("rag-query").put("show-prompt", true);
    Path pipelineFile = workdir.resolve("pipeline.json");
    Files.writeString(pipelineFile, file.toString());
    String[] common = {"pipeline", "--config", pipelineFile.toString()};
    missingModel = workdir.resolve("no-such-model").toString();
    failed =
        assertThrows(
            IllegalStateException.class,
            () -> JobRunner.run(concat(common, "--model", missingModel)));
    tokensVersionAfterTheFailure = DeltaTables.version(SharedSpark.get(), table("tokens"));
    rerun =
        JobRunner.run(
            concat(
                common,
                "--model",
                TestCheckpoints.tiny(),
                "--stages",
                "generate,rag-index,rag-query",
                "--stats-output",
                runStats().toString()));
  }

  private static Path runStats() {
    return workdir.resolve("pipeline-stats.json");
  }

  private static Path topLevelStats() {
    return workdir.resolve("top-level-stats.json");
  }

  private static Path curateStats() {
    return workdir.resolve("curate-stats.json");
  }

  @Test
  void theFailedStageIsNamedAndTheRerunFromItReconciles() {
    assertTrue(
        failed.getMessage().contains("stage generate failed")
            && failed.getMessage().endsWith("--stages generate,rag-index,rag-query"),
        failed.getMessage());
    assertTrue(
        failed.getCause().getMessage().contains(missingModel), failed.getCause().getMessage());
    assertTrue(tokensVersionAfterTheFailure >= 0, "the stages before generate wrote their tables");

    assertEquals(0, rerun.code(), rerun.err());
    assertEquals(
        tokensVersionAfterTheFailure, DeltaTables.version(SharedSpark.get(), table("tokens")));
    String out = rerun.out();
    for (String stage : List.of("generate", "rag-index", "rag-query")) {
      assertTrue(out.contains("  " + stage + " "), "no summary line for " + stage + ":\n" + out);
    }
    assertTrue(out.contains("stages = stages whose counts reconcile: 3 = 3  [ok]"), out);
    assertTrue(read("tokens").count() > 0);
    assertEquals(16, read("generations").count());
    assertTrue(Files.exists(workdir.resolve("rag-index").resolve("manifest.json")));
    // rag-query's hits and its answer, citing the retrieved chunks.
    assertTrue(
        out.contains("\"rank\":1,")
            && out.contains("\"answer\":")
            && out.contains("\"citations\":["),
        out);
  }

  @Test
  void theSummaryTableHoldsEachStagesStatsAsItEnded() throws IOException {
    // A row per stage as it ended, the failed run's four first, each with the stage's stats as
    // JSON; the rerun's are those it printed.
    List<Row> stages =
        SharedSpark.get()
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
        StatsJson.assertMatchesPrinted(stats, rerun.out());
      }
    }
    assertEquals(
        StatsJson.parse(stages.get(4).getAs("stats")),
        StatsJson.parse(Files.readString(runStats())).at("/parts/generate"),
        "the pipeline's JSON nests each stage's");
  }

  /**
   * A stage reads its own section of the pipeline file and not its top level, which holds the
   * pipeline's options (workdir, prompts, query: options that curate would reject as unknown) and
   * the pipeline's stats file: no stage writes that file, and curate writes the one its section
   * names.
   */
  @Test
  void aStageReadsItsSectionOfThePipelineFileAndNotItsTopLevel() throws IOException {
    assertFalse(
        Files.exists(topLevelStats()), "a stage wrote the stats-output of the file's top level");
    Row curate =
        SharedSpark.get()
            .read()
            .format("delta")
            .load(workdir.resolve("pipeline_summary").toString())
            .where("job = 'curate'")
            .first();
    assertEquals(
        StatsJson.parse(curate.getAs("stats")),
        StatsJson.parse(Files.readString(curateStats())),
        "curate's section names its stats file");
  }

  /** rag-query's printed prompt holds the question as the pipeline file spelled it. */
  @Test
  void aQueryThatReadsLikeOptionsReachesItsStageIntact() {
    assertTrue(rerun.out().contains("\"prompt\":") && rerun.out().contains(QUERY), rerun.out());
  }

  /**
   * rag-index chunks the deduplicated documents, every one of them and no copy dedup removed: the
   * curated table holds exact copies (GPL and GPL-3 among Debian's licences), whose identical
   * chunks took two of a query's five hits when the index was built from it.
   */
  @Test
  void ragIndexChunksTheDeduplicatedDocuments() {
    Set<String> deduped = ids(read("deduped").select("id"));
    assertEquals(deduped, ids(read("rag-index/chunks").select("source_id").distinct()));
    assertTrue(read("curated").count() > deduped.size(), "the sample corpus's curated rows repeat");
  }

  private static Set<String> ids(Dataset<Row> column) {
    return column.collectAsList().stream().map(r -> r.getString(0)).collect(Collectors.toSet());
  }

  /**
   * Each junk row trips the filter it was planted for: rejected with that filter among its reasons,
   * or, for C4's line rules, which edit rather than reject, kept without the planted boilerplate.
   */
  @Test
  void curateAccountsForEveryDocumentAndEveryPlantedJunkRowTripsItsFilter() {
    assertEquals(
        manifest.get("documents").asLong(),
        read("curated").count() + read("curated_rejects").count(),
        "curated + rejected = the documents the build script wrote");
    Map<String, List<String>> reasons = new HashMap<>();
    for (Row r : read("curated_rejects").select("id", "reasons").collectAsList()) {
      reasons.put(r.getString(0), r.getList(1));
    }
    Map<String, String> kept = new HashMap<>();
    for (Row r : read("curated").select("id", "text").collectAsList()) {
      kept.put(r.getString(0), r.getString(1));
    }
    List<String> missed = new ArrayList<>();
    manifest
        .get("junk")
        .fields()
        .forEachRemaining(
            junk -> {
              String id = junk.getKey();
              String filter = junk.getValue().asText();
              boolean tripped =
                  filter.equals("c4-line-rules")
                      ? kept.containsKey(id) && !kept.get(id).contains("JavaScript")
                      : reasons.getOrDefault(id, List.of()).contains(filter);
              if (!tripped) {
                missed.add(
                    id + " (planted for " + filter + "; rejected for " + reasons.get(id) + ")");
              }
            });
    assertEquals(List.of(), missed, "junk rows that did not trip their filter");
  }

  /**
   * Every exact copy (planted or natural) and planted near-duplicate that curate kept ends up in
   * one cluster with its original, and no far variant in its original's cluster: checked by the
   * survivor each document maps to (itself if dedup kept it, else its duplicate_of).
   */
  @Test
  void dedupClustersEveryPlantedCopyWithItsOriginalAndNoFarVariant() {
    Set<String> curated = ids(read("curated").select("id"));
    Map<String, String> survivor = new HashMap<>();
    read("deduped")
        .select("id")
        .collectAsList()
        .forEach(r -> survivor.put(r.getString(0), r.getString(0)));
    read("deduped_duplicates")
        .select("id", "duplicate_of")
        .collectAsList()
        .forEach(r -> survivor.put(r.getString(0), r.getString(1)));
    assertEquals(curated, survivor.keySet(), "dedup keeps or removes every curated document");

    Map<String, String> copies = new TreeMap<>();
    manifest
        .get("exact_copies")
        .fields()
        .forEachRemaining(e -> copies.put(e.getKey(), e.getValue().asText()));
    manifest
        .get("near_duplicates")
        .fields()
        .forEachRemaining(e -> copies.put(e.getKey(), e.getValue().get("of").asText()));
    int pairs = 0;
    for (Map.Entry<String, String> copy : copies.entrySet()) {
      if (curated.contains(copy.getKey()) && curated.contains(copy.getValue())) {
        assertEquals(
            survivor.get(copy.getValue()),
            survivor.get(copy.getKey()),
            copy.getKey() + " is a copy of " + copy.getValue() + " but dedup kept both apart");
        pairs++;
      }
    }
    assertTrue(pairs > 0, "no planted copy survived curate together with its original");

    manifest
        .get("far_variants")
        .fields()
        .forEachRemaining(
            far -> {
              String original = far.getValue().get("of").asText();
              if (curated.contains(far.getKey()) && curated.contains(original)) {
                assertTrue(
                    !survivor.get(far.getKey()).equals(survivor.get(original)),
                    far.getKey()
                        + " (Jaccard "
                        + far.getValue().get("jaccard")
                        + ") was clustered with "
                        + original);
              }
            });
  }

  /**
   * Regression snapshot, not derived: how many documents the filters keep and how many natural
   * near-duplicates dedup finds depend on the Debian texts and on every threshold. A change to a
   * filter or to dedup changes these on purpose; update them then.
   */
  @Test
  void regressionSnapshotOfTheCurateAndDedupCountsOnTheSampleCorpus() {
    String counts =
        "curated %d, rejected %d, deduped %d, duplicates %d"
            .formatted(
                read("curated").count(),
                read("curated_rejects").count(),
                read("deduped").count(),
                read("deduped_duplicates").count());
    assertEquals(
        "curated 68, rejected 393, deduped 54, duplicates 14",
        counts,
        "regression snapshot of the sample corpus's run (not derived): update it when a filter or"
            + " dedup changes on purpose");
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

  private String table(String name) {
    return workdir.resolve(name).toString();
  }

  private Dataset<Row> read(String name) {
    return DeltaTables.read(SharedSpark.get(), table(name));
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
