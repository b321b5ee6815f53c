package org.dbrxspark.jobs.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.core.RunTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeltaTablesTest {
  private static final String METRICS = "spark.databricks.delta.history.metricsEnabled";
  private final SparkSession spark = SharedSpark.get();

  @Test
  void lastCommitRowsCountsTheLatestOverwriteWithOrWithoutCommitMetrics(@TempDir Path dir) {
    String table = dir.resolve("t").toString();
    DeltaTables.overwrite(spark.range(7).toDF(), table);
    assertEquals(7, DeltaTables.lastCommitRows(spark, table));
    // A second commit replaces the first: its own rows, not the table's history.
    DeltaTables.overwrite(spark.range(3).toDF(), table);
    assertEquals(3, DeltaTables.lastCommitRows(spark, table));

    // Without commit metrics the table itself is counted.
    spark.conf().set(METRICS, "false");
    try {
      DeltaTables.overwrite(spark.range(5).toDF(), table);
      assertEquals(5, DeltaTables.lastCommitRows(spark, table));
    } finally {
      spark.conf().unset(METRICS);
    }
  }

  @Test
  void countsThatDoNotReconcilePutTheTablesBackOrRemoveNewOnes(@TempDir Path dir) {
    String table = dir.resolve("t").toString();
    String fresh = dir.resolve("fresh").toString();
    assertEquals(-1, DeltaTables.version(spark, table));
    DeltaTables.overwrite(spark.range(7).toDF(), table);
    RunTables run = RunTables.of(spark, table, fresh, "");
    assertEquals(3, run.overwrite(spark.range(3).toDF(), table));
    assertEquals(2, run.overwrite(spark.range(2).toDF(), fresh));
    assertThrows(
        IllegalArgumentException.class,
        () -> run.overwrite(spark.range(1).toDF(), table + "_other"),
        "a table the run did not note cannot be rolled back, so it is not written");

    JobSummary balanced = run.finish(new JobSummary("ok").reconcile("3 = 3", 3, 3));
    assertFalse(balanced.toString().contains("rolled back"));
    assertEquals(3, DeltaTables.read(spark, table).count());

    JobSummary mismatch = run.finish(new JobSummary("bad").reconcile("3 = 2", 3, 2));
    assertTrue(mismatch.toString().contains("rolled back"), mismatch.toString());
    assertEquals(7, DeltaTables.read(spark, table).count());
    assertFalse(Files.exists(Path.of(fresh)));
  }

  @Test
  void aRunThatFailsBeforeItFinishesPutsItsTablesBack(@TempDir Path dir) {
    String table = dir.resolve("t").toString();
    String fresh = dir.resolve("fresh").toString();
    DeltaTables.overwrite(spark.range(7).toDF(), table);
    try (RunTables run = RunTables.of(spark, table, fresh)) {
      run.overwrite(spark.range(3).toDF(), table);
      run.overwrite(spark.range(2).toDF(), fresh);
    } // closed without finish: as when the job throws
    assertEquals(7, DeltaTables.read(spark, table).count());
    assertFalse(Files.exists(Path.of(fresh)));
  }
}
