package org.dbrxspark.jobs.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.core.JobResult;
import org.dbrxspark.jobs.io.DeltaTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExportStatsJobTest {
  private final SparkSession spark = SharedSpark.get();

  @Test
  void statsAndExportOfAnyTable(@TempDir Path dir) {
    Dataset<Row> table =
        spark.sql(
            "select cast(id as string) as id, if(id < 3, 'web', 'books') as source, "
                + "repeat('x', cast(id as int) + 1) as text, cast(id * 10 as int) as num_tokens, "
                + "if(id % 2 = 0, array('gopher-min-words'), array('c4-min-sentences', 'gopher-min-words')) as reasons "
                + "from range(5)");
    String delta = dir.resolve("t").toString();
    DeltaTables.overwrite(table, delta);

    JobRunner.Result stats = JobRunner.run("stats", "--input", delta);
    assertEquals(0, stats.code(), stats.err());
    assertTrue(stats.out().contains("documents             5"), stats.out());
    assertTrue(stats.out().contains("characters            15"), stats.out());
    assertTrue(stats.out().contains("tokens                100"), stats.out());
    assertTrue(stats.out().contains("web=3, books=2"), stats.out());
    assertTrue(stats.out().contains("gopher-min-words=5, c4-min-sentences=2"), stats.out());
    assertTrue(stats.out().contains("documents = sum over sources: 5 = 3 + 2  [ok]"), stats.out());

    for (String format : new String[] {"jsonl", "parquet"}) {
      String out = dir.resolve("export-" + format).toString();
      JobRunner.Result export =
          JobRunner.run(
              "export", "--input", delta, "--output", out, "--format", format, "--files", "1");
      assertEquals(0, export.code(), export.err());
      Dataset<Row> back =
          format.equals("jsonl") ? spark.read().json(out) : spark.read().parquet(out);
      assertEquals(
          table.orderBy("id").select("id", "source", "text").collectAsList(),
          back.orderBy("id").select("id", "source", "text").collectAsList(),
          format);
    }
    JobRunner.Result missing = JobRunner.run("stats", "--input", dir.resolve("nope").toString());
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("not a Delta table"), missing.err());
  }

  @Test
  void aJobRunsAsALibraryCallAndReturnsItsCounts(@TempDir Path dir) {
    String delta = dir.resolve("t").toString();
    DeltaTables.overwrite(
        spark.sql("select cast(id as string) as id, 'web' as source, 'x' as text from range(4)"),
        delta);
    DbrxSparkJobs jobs = new DbrxSparkJobs();

    JobResult done = jobs.run(spark, "stats", "--input=" + delta);
    assertEquals(0, done.exitCode());
    assertTrue(done.succeeded());
    assertEquals(4L, done.summary().entries().get("documents"));
    assertNull(done.usageError());

    JobResult usage = jobs.run(spark, "stats", "--inptu", delta);
    assertEquals(2, usage.exitCode());
    assertNull(usage.summary());
    assertTrue(usage.usageError().contains("unknown option --inptu"), usage.usageError());
  }
}
