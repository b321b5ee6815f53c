package org.dbrxspark.jobs.rag;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.when;

import io.delta.tables.DeltaTable;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.io.Columns;

/**
 * What changed in a Delta source table between two versions, from its change data feed: the last
 * change of each id, so an id inserted, updated three times and deleted counts as one deletion.
 */
final class SourceChanges {
  /** The change feed's column naming the kind of change. */
  static final String CHANGE_TYPE = "_change_type";

  static final String DELETE = "delete";
  private static final String VERSION = "_commit_version";

  private SourceChanges() {}

  /** The table's latest version. */
  static long currentVersion(SparkSession spark, String table) {
    return DeltaTable.forPath(spark, table).history(1).select("version").head().getLong(0);
  }

  /** The table's rows as of {@code version}. */
  static Dataset<Row> snapshot(SparkSession spark, String table, long version) {
    return spark.read().format("delta").option("versionAsOf", version).load(table);
  }

  /**
   * Fails unless the table records its changes.
   *
   * @throws UsageException naming the table and the property to set
   */
  static void requireChangeFeed(SparkSession spark, String table) {
    Map<String, String> properties =
        DeltaTable.forPath(spark, table).detail().select("properties").head().getJavaMap(0);
    if (!"true".equalsIgnoreCase(properties.get("delta.enableChangeDataFeed"))) {
      throw new UsageException(
          "--incremental needs the change data feed of the source table "
              + table
              + ", which is off; turn it on with ALTER TABLE delta."
              + Columns.quote(table)
              + " SET TBLPROPERTIES (delta.enableChangeDataFeed = true) and rebuild the index once");
    }
  }

  /**
   * The last change of each id in versions {@code (after, upTo]}: the row after an insert or update
   * ({@code _change_type} insert or update_postimage), or the deleted row (delete). Within one
   * commit an insert wins over a delete: an overwrite deletes and re-inserts.
   */
  static Dataset<Row> net(SparkSession spark, String table, String idCol, long after, long upTo) {
    Dataset<Row> feed;
    try {
      feed =
          spark
              .read()
              .format("delta")
              .option("readChangeFeed", "true")
              .option("startingVersion", after + 1)
              .option("endingVersion", upTo)
              .load(table);
      feed.schema();
    } catch (Exception e) { // Delta's analysis errors are checked exceptions Scala does not declare
      throw new UsageException(
          "cannot read the change data feed of "
              + table
              + " for versions "
              + (after + 1)
              + " to "
              + upTo
              + " (was it on since the index was built?): "
              + e.getMessage());
    }
    Dataset<Row> changes = feed.where(col(CHANGE_TYPE).notEqual("update_preimage"));
    WindowSpec latest =
        Window.partitionBy(Columns.named(idCol))
            .orderBy(col(VERSION).desc(), when(col(CHANGE_TYPE).equalTo(DELETE), 1).otherwise(0));
    return changes
        .withColumn("_n", row_number().over(latest))
        .where(col("_n").equalTo(1))
        .drop("_n", VERSION, "_commit_timestamp");
  }
}
