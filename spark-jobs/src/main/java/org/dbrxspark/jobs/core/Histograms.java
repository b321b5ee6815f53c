package org.dbrxspark.jobs.core;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** Histograms for run summaries: value counts, and equal-width bins of numeric signals. */
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

  /**
   * One signal's histogram before and after a filter, on the same bins: {@code bins} equal widths
   * from {@code min} to {@code max} (the range before); a value at {@code max} falls in the last.
   */
  public record Binned(double min, double max, long[] before, long[] after) {
    /** As JSON wants it: min, max, before, after. */
    public Map<String, Object> toMap() {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("min", min);
      out.put("max", max);
      out.put("before", before);
      out.put("after", after);
      return out;
    }
  }

  /**
   * Histograms of the numeric {@code columns} (names, nested fields allowed) over {@code before}
   * and over {@code after} (the rows a filter kept), in three Spark jobs whatever the number of
   * columns: the range, then one grouped count per side. Null, NaN (a signal that does not apply)
   * and infinities are left out; a column with no finite value gets no entry.
   */
  public static Map<String, Binned> beforeAfter(
      Dataset<Row> before, Dataset<Row> after, List<String> columns, int bins) {
    List<Column> ranges = new ArrayList<>();
    for (String c : columns) {
      ranges.add(min(present(c)));
      ranges.add(max(present(c)));
    }
    Row range =
        before.agg(ranges.get(0), ranges.subList(1, ranges.size()).toArray(Column[]::new)).first();
    Map<String, Binned> out = new LinkedHashMap<>();
    List<Column> binned = new ArrayList<>();
    for (int i = 0; i < columns.size(); i++) {
      if (range.isNullAt(2 * i)) {
        continue;
      }
      double lo = range.getDouble(2 * i);
      double hi = range.getDouble(2 * i + 1);
      String c = columns.get(i);
      out.put(c, new Binned(lo, hi, new long[bins], new long[bins]));
      Column bin =
          hi == lo
              ? lit(0L)
              : greatest(
                  lit(0L),
                  least(lit(bins - 1L), floor(present(c).minus(lo).divide((hi - lo) / bins))));
      binned.add(struct(lit(i).as("c"), bin.as("bin"), present(c).isNotNull().as("has")));
    }
    if (!binned.isEmpty()) {
      fill(before, binned, columns, out, true);
      fill(after, binned, columns, out, false);
    }
    return out;
  }

  /** The column's value when it is a finite number; null, NaN and infinities read as null. */
  private static Column present(String column) {
    Column v = col(column).cast("double");
    return when(v.between(-Double.MAX_VALUE, Double.MAX_VALUE), v);
  }

  private static void fill(
      Dataset<Row> rows,
      List<Column> binned,
      List<String> columns,
      Map<String, Binned> out,
      boolean before) {
    List<Row> counts =
        rows.select(explode(array(binned.toArray(Column[]::new))).as("b"))
            .where(col("b.has"))
            .groupBy(col("b.c"), col("b.bin"))
            .count()
            .collectAsList();
    for (Row r : counts) {
      Binned h = out.get(columns.get(r.getInt(0)));
      (before ? h.before() : h.after())[(int) r.getLong(1)] = r.getLong(2);
    }
  }
}
