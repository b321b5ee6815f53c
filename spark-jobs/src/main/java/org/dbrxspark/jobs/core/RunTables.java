package org.dbrxspark.jobs.core;

import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.io.DeltaTables;

/**
 * The Delta tables one run of a job writes, committed as a unit: each write is one overwrite
 * commit; {@link #finish} puts every table back to its version before the run when the summary's
 * counts do not reconcile, and {@link #close} does the same for a run that failed before it
 * finished. Neither unreconciled counts nor a failed run's half-written tables stay committed.
 */
public final class RunTables implements AutoCloseable {
  private final SparkSession spark;
  private final Map<String, Long> before;
  private boolean finished;

  private RunTables(SparkSession spark, Map<String, Long> before) {
    this.spark = spark;
    this.before = before;
  }

  /**
   * Notes the versions of the tables at {@code paths} (blank ones skipped) before this run writes
   * them.
   */
  public static RunTables of(SparkSession spark, String... paths) {
    return new RunTables(spark, DeltaTables.versions(spark, paths));
  }

  /**
   * Replaces the table at {@code path} with {@code rows}, in one commit, and returns the rows
   * written.
   */
  public long overwrite(Dataset<Row> rows, String path) {
    if (!before.containsKey(path)) {
      throw new IllegalArgumentException(
          path + " is not among this run's tables " + before.keySet());
    }
    DeltaTables.overwrite(rows, path);
    return DeltaTables.lastCommitRows(spark, path);
  }

  /** Returns {@code summary}, after restoring every table when its counts do not reconcile. */
  public JobSummary finish(JobSummary summary) {
    finished = true;
    return DeltaTables.restoreUnlessBalanced(spark, before, summary);
  }

  /** Unless the run finished, puts back every table it changed (the run is failing). */
  @Override
  public void close() {
    if (!finished) {
      before.forEach(
          (path, version) -> {
            if (DeltaTables.version(spark, path) != version) {
              DeltaTables.rollback(spark, path, version);
            }
          });
    }
  }
}
