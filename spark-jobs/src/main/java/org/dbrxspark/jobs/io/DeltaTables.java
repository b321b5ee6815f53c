package org.dbrxspark.jobs.io;

import io.delta.tables.DeltaTable;
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
     * {@code path} without trailing slashes, plus {@code suffix}: where a job puts a side output
     * (rejects, duplicates, a manifest) that the user did not place.
     */
    public static String sibling(String path, String suffix) {
        return path.replaceAll("/+$", "") + suffix;
    }

    public static Dataset<Row> read(SparkSession spark, String path) {
        return spark.read().format("delta").load(path);
    }

    public static boolean exists(SparkSession spark, String path) {
        return DeltaTable.isDeltaTable(spark, path);
    }
}
