package org.dbrxspark.jobs.io;

import io.delta.tables.DeltaTable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.core.JobSummary;

/** Reads and writes the Delta tables jobs produce. */
public final class DeltaTables {
  private DeltaTables() {}

  /**
   * Replaces the table at {@code path} with {@code rows} in a single Delta commit (readers see the
   * old or the new table, never a mix), creating it if needed.
   */
  public static void overwrite(Dataset<Row> rows, String path) {
    rows.write().format("delta").mode("overwrite").option("overwriteSchema", "true").save(path);
  }

  /**
   * Appends {@code rows} to the table at {@code path} (created by the first append), in one commit.
   */
  public static void append(Dataset<Row> rows, String path) {
    rows.write().format("delta").mode("append").save(path);
  }

  /**
   * The rows the latest commit of {@code path} wrote: the {@code numOutputRows} metric Delta keeps
   * in the commit, which costs one log read instead of a scan of the table. Counts the table when
   * the commit has no metrics ({@code spark.databricks.delta.history.metricsEnabled} off).
   */
  public static long lastCommitRows(SparkSession spark, String path) {
    Row commit = DeltaTable.forPath(spark, path).history(1).select("operationMetrics").first();
    Map<String, String> metrics = commit.isNullAt(0) ? Map.of() : commit.getJavaMap(0);
    String rows = metrics.get("numOutputRows");
    return rows == null ? read(spark, path).count() : Long.parseLong(rows);
  }

  /**
   * {@code path} without trailing slashes, plus {@code suffix}: where a job puts a side output
   * (rejects, duplicates, a manifest) that the user did not place.
   */
  public static String sibling(String path, String suffix) {
    return path.replaceAll("/+$", "") + suffix;
  }

  /** The latest version of the table at {@code path}, or -1 when there is none. */
  public static long version(SparkSession spark, String path) {
    return exists(spark, path) ? DeltaTable.forPath(spark, path).history(1).first().getLong(0) : -1;
  }

  /**
   * The latest versions of the tables at {@code paths} (blank ones skipped), for {@link
   * #restoreUnlessBalanced}.
   */
  public static Map<String, Long> versions(SparkSession spark, String... paths) {
    Map<String, Long> out = new LinkedHashMap<>();
    for (String path : paths) {
      if (!path.isBlank()) {
        out.put(path, version(spark, path));
      }
    }
    return out;
  }

  /**
   * When {@code summary}'s counts do not reconcile, puts each table of {@code before} back to its
   * version there and says so in the summary, so that such counts are never left committed.
   */
  public static JobSummary restoreUnlessBalanced(
      SparkSession spark, Map<String, Long> before, JobSummary summary) {
    if (!summary.balanced()) {
      before.forEach((path, version) -> rollback(spark, path, version));
      summary.put(
          "rolled back",
          "the counts do not reconcile: "
              + String.join(", ", before.keySet())
              + " are as before this run");
    }
    return summary;
  }

  /**
   * Puts the table at {@code path} back to {@code version} (a new commit restoring it), or removes
   * the table when {@code version} is -1 (there was none).
   */
  public static void rollback(SparkSession spark, String path, long version) {
    if (version >= 0) {
      DeltaTable.forPath(spark, path).restoreToVersion(version);
      return;
    }
    Path table = new Path(path);
    try {
      table.getFileSystem(spark.sparkContext().hadoopConfiguration()).delete(table, true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + path, e);
    }
  }

  public static Dataset<Row> read(SparkSession spark, String path) {
    return spark.read().format("delta").load(path);
  }

  public static boolean exists(SparkSession spark, String path) {
    return DeltaTable.isDeltaTable(spark, path);
  }
}
