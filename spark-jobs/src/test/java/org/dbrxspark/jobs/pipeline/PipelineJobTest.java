package org.dbrxspark.jobs.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.TestCheckpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The quick start's flow end to end: the bundled corpus and prompts through every stage. */
class PipelineJobTest {
    @TempDir
    Path workdir;

    @Test
    void everyStageRunsOnTheSampleCorpusAndReconciles() {
        JobRunner.Result run = JobRunner.run("pipeline", "--workdir", workdir.toString(),
            "--input", "../data/sample-corpus/corpus.jsonl.gz", "--prompts", "../data/sample-prompts/prompts.jsonl",
            "--model", TestCheckpoints.tiny(), "--max-new-tokens", "4", "--seq-len", "512");

        assertEquals(0, run.code(), run.err());
        String out = run.out();
        for (String stage : Stage.NAMES) {
            assertTrue(out.contains("  " + stage + " "), "no summary line for " + stage + ":\n" + out);
        }
        assertTrue(out.contains("stages = stages whose counts reconcile: 7 = 7  [ok]"), out);
        assertTrue(out.contains("input = kept + rejected: 461 = "), out);

        var spark = SharedSpark.get();
        long curated = spark.read().format("delta").load(workdir.resolve("curated").toString()).count();
        long deduped = spark.read().format("delta").load(workdir.resolve("deduped").toString()).count();
        assertTrue(curated > 0 && deduped > 0 && deduped <= curated, curated + " curated, " + deduped + " deduped");
        var sequences = spark.read().format("delta").load(workdir.resolve("tokens").toString());
        assertTrue(sequences.count() > 0);
        assertEquals(16, spark.read().format("delta").load(workdir.resolve("generations").toString()).count());
        assertTrue(Files.exists(workdir.resolve("rag-index").resolve("manifest.json")));
        // rag-query's hits and its answer, citing the retrieved chunks.
        assertTrue(out.contains("\"rank\":1,") && out.contains("\"answer\":") && out.contains("\"citations\":["), out);
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
}
