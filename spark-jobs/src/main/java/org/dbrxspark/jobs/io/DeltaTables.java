package org.dbrxspark.jobs.io;

import io.delta.tables.DeltaTable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** Reads and writes the Delta tables jobs produce. */
public final class DeltaTables {
    private DeltaTables() {
    }

    /**
     * Replaces the table at {@code path} with {@code rows} in a single Delta commit (readers see
     * the old or the new table, never a mix), creating it if needed.
     */
    public static void overwrite(Dataset<Row> rows, String path) {
        rows.write().format("delta").mode("overwrite").option("overwriteSchema", "true").save(path);
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
     * Puts the table at {@code path} back to {@code version} (a new commit restoring it), or
     * removes the table when {@code version} is -1 (there was none): how a job takes back tables
     * whose counts did not reconcile.
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
