package org.dbrxspark.jobs.core;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.transform;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;

/** Histograms for run summaries: value counts, and equal-width bins of numeric signals. */
public final class Histograms {
  private Histograms() {}

  /** What a count calls a null value. */
  public static final String NULL = "(null)";

  /**
   * Counts per value of {@code key}, most frequent first (ties by value), at most {@code limit}.
   */
  public static Map<String, Long> counts(Dataset<Row> rows, Column key, int limit) {
    Dataset<Row> keys = rows.select(key.as("k"));
    Column value = array(coalesce(col("k").cast("string"), lit(NULL)));
    return tally(keys, List.of(new Tally("k", value, limit))).get("k");
  }

  /**
   * One value count of {@link #tally}: the non-null elements of {@code values}, an array column
   * (null on a row counts nothing), counted as strings; the {@code limit} most frequent are kept.
   */
  public record Tally(String name, Column values, int limit) {}

  /**
   * Several value counts over the same rows in one Spark job, whatever their number: by each
   * tally's name, its counts, most frequent first (ties by value), at most its limit. Each job a
   * run summary starts costs the driver planning and code generation, which on a small input cost
   * more than the counting.
   */
  public static Map<String, Map<String, Long>> tally(Dataset<Row> rows, List<Tally> tallies) {
    List<Column> tagged = new ArrayList<>();
    Column limits = lit(0);
    for (int i = 0; i < tallies.size(); i++) {
      int t = i;
      Column values = coalesce(tallies.get(i).values(), array().cast("array<string>"));
      tagged.add(transform(values, v -> struct(lit(t).as("t"), v.cast("string").as("k"))));
      limits = when(col("t").equalTo(i), lit(tallies.get(i).limit())).otherwise(limits);
    }
    Column rank = row_number().over(Window.partitionBy("t").orderBy(col("n").desc(), col("k")));
    List<Row> top =
        rows.select(explode(concat(tagged.toArray(Column[]::new))).as("e"))
            .where(col("e.k").isNotNull())
            .groupBy(col("e.t").as("t"), col("e.k").as("k"))
            .agg(count(lit(1)).as("n"))
            .withColumn("r", rank)
            .where(col("r").leq(limits))
            .orderBy(col("t"), col("n").desc(), col("k"))
            .collectAsList();
    Map<String, Map<String, Long>> out = new LinkedHashMap<>();
    tallies.forEach(t -> out.put(t.name(), new LinkedHashMap<>()));
    top.forEach(r -> out.get(tallies.get(r.getInt(0)).name()).put(r.getString(1), r.getLong(2)));
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
   * Histograms of the numeric {@code columns} (names, nested fields allowed) over {@code rows} and
   * over those of them where {@code after} holds (the rows a filter kept), in two Spark jobs
   * whatever the number of columns: the range, then one grouped count for both. Null, NaN (a signal
   * that does not apply) and infinities are left out; a column with no finite value gets no entry.
   */
  public static Map<String, Binned> beforeAfter(
      Dataset<Row> rows, Column after, List<String> columns, int bins) {
    List<Column> ranges = new ArrayList<>();
    for (String c : columns) {
      ranges.add(min(present(c)));
      ranges.add(max(present(c)));
    }
    Row range =
        rows.agg(ranges.get(0), ranges.subList(1, ranges.size()).toArray(Column[]::new)).first();
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
    if (binned.isEmpty()) {
      return out;
    }
    List<Row> counts =
        rows.select(explode(array(binned.toArray(Column[]::new))).as("b"), after.as("after"))
            .where(col("b.has"))
            .groupBy(col("b.c"), col("b.bin"))
            .agg(count(lit(1)), sum(when(col("after"), 1L).otherwise(0L)))
            .collectAsList();
    for (Row r : counts) {
      Binned h = out.get(columns.get(r.getInt(0)));
      h.before()[(int) r.getLong(1)] = r.getLong(2);
      h.after()[(int) r.getLong(1)] = r.getLong(3);
    }
    return out;
  }

  /** The column's value when it is a finite number; null, NaN and infinities read as null. */
  private static Column present(String column) {
    Column v = col(column).cast("double");
    return when(v.between(-Double.MAX_VALUE, Double.MAX_VALUE), v);
  }
}
