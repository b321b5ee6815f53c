package org.dbrxspark.jobs.core;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

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
   * tally's name, its counts, most frequent first (ties by value), at most its limit. Each task
   * counts its rows' values and the driver adds the counts up, so the values counted should be few
   * (languages, reasons, sources), as in a run summary. A job that grouped, ranked and sorted the
   * values in Spark SQL cost a small input more than the counting: the planning, the code generated
   * for it, and the JIT compiling the shuffles, which no other part of a run may use.
   */
  public static Map<String, Map<String, Long>> tally(Dataset<Row> rows, List<Tally> tallies) {
    return countAndBin(rows, tallies, lit(false), List.of(), 0).tallies();
  }

  /** Most frequent first, ties in Spark's order of strings (their UTF-8 bytes, unsigned). */
  private static final Comparator<Map.Entry<String, Long>> MOST_FREQUENT_FIRST =
      Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder())
          .thenComparing(e -> e.getKey().getBytes(StandardCharsets.UTF_8), Arrays::compareUnsigned);

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
   * whatever the number of columns: the range, then the counts per bin for both; each task counts
   * its rows and the driver adds the tasks' results up (see {@link #tally}). Null, NaN (a signal
   * that does not apply) and infinities are left out; a column with no finite value gets no entry.
   */
  public static Map<String, Binned> beforeAfter(
      Dataset<Row> rows, Column after, List<String> columns, int bins) {
    return countAndBin(rows, List.of(), after, columns, bins).histograms();
  }

  /**
   * What {@link #countAndBin} found.
   *
   * @param tallies each tally's counts, by its name, as {@link #tally} gives them
   * @param histograms each column's histogram, as {@link #beforeAfter} gives them
   */
  public record Counts(Map<String, Map<String, Long>> tallies, Map<String, Binned> histograms) {}

  /**
   * {@link #tally} and {@link #beforeAfter} over the same rows in two Spark jobs, not three: the
   * tallies are counted in the pass that finds the columns' ranges. One job when there are no
   * columns. Each job costs a small input more than its counting (planning, generated code, task
   * serialisation), so a summary that needs both asks for them together.
   */
  public static Counts countAndBin(
      Dataset<Row> rows, List<Tally> tallies, Column after, List<String> columns, int bins) {
    int t = tallies.size();
    int n = columns.size();
    List<Column> firstPass = new ArrayList<>();
    tallies.forEach(tally -> firstPass.add(tally.values().cast("array<string>")));
    columns.forEach(c -> firstPass.add(present(c)));
    List<FirstPass> parts =
        perTask(
            rows.select(firstPass.toArray(Column[]::new)),
            () -> new FirstPass(t, n),
            (part, r) -> {
              for (int i = 0; i < t; i++) {
                if (!r.isNullAt(i)) {
                  for (String v : r.<String>getList(i)) {
                    if (v != null) {
                      part.counts.get(i).merge(v, 1L, Long::sum);
                    }
                  }
                }
              }
              for (int i = 0; i < n; i++) {
                if (!r.isNullAt(t + i)) {
                  part.ranges[i] = widened(part.ranges[i], r.getDouble(t + i));
                }
              }
            });
    Map<String, Map<String, Long>> counted = new LinkedHashMap<>();
    for (int i = 0; i < t; i++) {
      Map<String, Long> total = new HashMap<>();
      for (FirstPass part : parts) {
        part.counts.get(i).forEach((k, c) -> total.merge(k, c, Long::sum));
      }
      Map<String, Long> top = new LinkedHashMap<>();
      total.entrySet().stream()
          .sorted(MOST_FREQUENT_FIRST)
          .limit(tallies.get(i).limit())
          .forEach(e -> top.put(e.getKey(), e.getValue()));
      counted.put(tallies.get(i).name(), top);
    }
    Map<String, Binned> out = new LinkedHashMap<>();
    List<Column> binned = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      double[] range = null;
      for (FirstPass part : parts) {
        if (part.ranges[i] != null) {
          range = widened(widened(range, part.ranges[i][0]), part.ranges[i][1]);
        }
      }
      if (range == null) {
        continue;
      }
      double lo = range[0];
      double hi = range[1];
      String c = columns.get(i);
      out.put(c, new Binned(lo, hi, new long[bins], new long[bins]));
      Column bin =
          hi == lo
              ? lit(0L)
              : greatest(
                  lit(0L),
                  least(lit(bins - 1L), floor(present(c).minus(lo).divide((hi - lo) / bins))));
      binned.add(when(present(c).isNotNull(), bin));
    }
    if (binned.isEmpty()) {
      return new Counts(counted, out);
    }
    int m = binned.size();
    binned.add(coalesce(after, lit(false)));
    List<long[][]> binParts =
        perTask(
            rows.select(binned.toArray(Column[]::new)),
            () -> new long[2 * m][bins], // before, then after, per column
            (counts, r) -> {
              boolean kept = r.getBoolean(m);
              for (int i = 0; i < m; i++) {
                if (!r.isNullAt(i)) {
                  counts[i][(int) r.getLong(i)]++;
                  counts[m + i][(int) r.getLong(i)] += kept ? 1 : 0;
                }
              }
            });
    List<Binned> histograms = List.copyOf(out.values());
    for (long[][] part : binParts) {
      for (int i = 0; i < m; i++) {
        for (int b = 0; b < bins; b++) {
          histograms.get(i).before()[b] += part[i][b];
          histograms.get(i).after()[b] += part[m + i][b];
        }
      }
    }
    return new Counts(counted, out);
  }

  /** One task's part of the first pass: its tallies' counts, and each column's range or null. */
  private static final class FirstPass implements Serializable {
    private final List<Map<String, Long>> counts = new ArrayList<>();
    private final double[][] ranges;

    FirstPass(int tallies, int columns) {
      for (int i = 0; i < tallies; i++) {
        counts.add(new HashMap<>());
      }
      ranges = new double[columns][];
    }
  }

  /** What a task's count starts from. */
  private interface Start<A> extends Serializable {
    A get();
  }

  /** Adds one row to a task's count. */
  private interface Add<A> extends Serializable {
    void accept(A count, Row row);
  }

  /**
   * One count per task of {@code rows}, each begun by {@code start} and given the task's rows by
   * {@code add}, for the driver to add up.
   */
  private static <A> List<A> perTask(Dataset<Row> rows, Start<A> start, Add<A> add) {
    return rows.javaRDD()
        .mapPartitions(
            (Iterator<Row> it) -> {
              A count = start.get();
              it.forEachRemaining(r -> add.accept(count, r));
              return List.of(count).iterator();
            })
        .collect();
  }

  /**
   * {@code range} ({min, max}, or null for none) widened to take {@code value}; as Spark's min and
   * max, a value equal to a bound (0.0 and -0.0) leaves it as it is.
   */
  private static double[] widened(double[] range, double value) {
    if (range == null) {
      return new double[] {value, value};
    }
    if (value < range[0]) {
      range[0] = value;
    }
    if (value > range[1]) {
      range[1] = value;
    }
    return range;
  }

  /** The column's value when it is a finite number; null, NaN and infinities read as null. */
  private static Column present(String column) {
    Column v = col(column).cast("double");
    return when(v.between(-Double.MAX_VALUE, Double.MAX_VALUE), v);
  }
}
