package org.dbrxspark.jobs.generate;

import io.delta.tables.DeltaTable;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DeltaTables;

/**
 * The Delta table generate fills: created empty with the run's generation settings as a table
 * property, then appended one chunk per commit. A re-run resumes it only when its settings and
 * schema are the same, so one table never mixes outputs of different settings.
 */
final class OutputTable {
  /** Table property holding the settings (JSON) the table was generated with. */
  static final String SETTINGS_PROPERTY = "dbrx.generate.settings";

  private final SparkSession spark;
  private final String path;

  OutputTable(SparkSession spark, String path) {
    this.spark = spark;
    this.path = path;
  }

  /**
   * Whether the run continues the existing table: false when there is none or {@code overwrite} is
   * set; true when it exists and was generated with {@code settings} and has {@code schema}.
   *
   * @throws IllegalArgumentException when the existing table cannot be resumed, saying why
   */
  boolean resumable(StructType schema, String settings, boolean overwrite) {
    if (overwrite || !DeltaTables.exists(spark, path)) {
      return false;
    }
    Row detail = DeltaTable.forPath(spark, path).detail().first();
    Map<String, String> properties = detail.getJavaMap(detail.fieldIndex("properties"));
    String existing = properties.get(SETTINGS_PROPERTY);
    if (existing == null) {
      throw new IllegalArgumentException(
          "--output "
              + path
              + " is a Delta table that generate did not write; "
              + "pass --overwrite to replace it, or choose another --output");
    }
    if (!existing.equals(settings)) {
      throw new IllegalArgumentException(
          "--output "
              + path
              + " was generated with other settings, so resuming "
              + "it would mix outputs: "
              + GenerationSettings.differences(existing, settings)
              + "; pass --overwrite to start over, or choose another --output");
    }
    StructType actual = DeltaTables.read(spark, path).schema();
    if (!actual.catalogString().equals(schema.catalogString())) {
      throw new IllegalArgumentException(
          "--output "
              + path
              + " has the columns "
              + actual.simpleString()
              + " but this input gives "
              + schema.simpleString()
              + "; pass --overwrite to start over, or choose "
              + "another --output");
    }
    return true;
  }

  /**
   * Makes an empty table of {@code schema} recording {@code settings}: created when missing,
   * otherwise emptied (older versions stay readable through time travel).
   */
  void reset(StructType schema, String settings) {
    if (!DeltaTables.exists(spark, path)) {
      DeltaTable.create(spark)
          .location(path)
          .addColumns(schema)
          .property(SETTINGS_PROPERTY, settings)
          .execute();
      return;
    }
    // Emptied before the settings change: a crash in between leaves an empty table with the old
    // settings, never old rows under new settings.
    DeltaTables.overwrite(spark.createDataFrame(List.of(), schema), path);
    spark.sql(
        "ALTER TABLE delta."
            + Columns.quote(path)
            + " SET TBLPROPERTIES ('"
            + SETTINGS_PROPERTY
            + "' = '"
            + settings.replace("\\", "\\\\").replace("'", "\\'")
            + "')");
  }

  /** The table's rows at its latest version. */
  Dataset<Row> rows() {
    return DeltaTables.read(spark, path);
  }

  /**
   * Appends {@code rows} in one Delta commit, whose commit info carries {@code note}, and returns
   * the table version it created. Files of failed or retried task attempts are never part of a
   * commit, so a retried task cannot duplicate rows.
   */
  long append(Dataset<Row> rows, String note) {
    rows.write().format("delta").mode("append").option("userMetadata", note).save(path);
    return version();
  }

  /** The latest table version. */
  long version() {
    return DeltaTable.forPath(spark, path).history(1).select("version").first().getLong(0);
  }

  String path() {
    return path;
  }
}
