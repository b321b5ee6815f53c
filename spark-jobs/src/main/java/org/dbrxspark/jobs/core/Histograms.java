package org.dbrxspark.jobs.core;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** Small value-count histograms for run summaries. */
public final class Histograms {
  private Histograms() {}

  /**
   * Counts per value of {@code key}, most frequent first (ties by value), at most {@code limit}.
   */
  public static Map<String, Long> counts(Dataset<Row> rows, Column key, int limit) {
    List<Row> top =
        rows.select(key.as("k"))
            .select(coalesce(col("k").cast("string"), lit("(null)")).as("k"))
            .groupBy("k")
            .agg(count(lit(1)).as("n"))
            .orderBy(col("n").desc(), col("k"))
            .limit(limit)
            .collectAsList();
    Map<String, Long> out = new LinkedHashMap<>();
    top.forEach(r -> out.put(r.getString(0), r.getLong(1)));
    return out;
  }

  /** {@link #counts} rendered on one line, e.g. {@code en=120, de=4}; "(none)" when empty. */
  public static String top(Dataset<Row> rows, Column key, int limit) {
    Map<String, Long> counts = counts(rows, key, limit);
    if (counts.isEmpty()) {
      return "(none)";
    }
    StringBuilder sb = new StringBuilder();
    counts.forEach(
        (k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append('=').append(v));
    return sb.toString();
  }
}
