package org.dbrxspark.jobs.core;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.when;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.core.Histograms.Binned;
import org.dbrxspark.jobs.core.Histograms.Counts;
import org.dbrxspark.jobs.core.Histograms.Tally;
import org.junit.jupiter.api.Test;

class HistogramsTest {
  private final SparkSession spark = SharedSpark.get();

  private static final StructType SCHEMA =
      new StructType()
          .add("lang", DataTypes.StringType)
          .add("reasons", DataTypes.createArrayType(DataTypes.StringType))
          .add("score", DataTypes.DoubleType);

  /** {@code rows} as a dataset over three partitions, so that counts merge across tasks. */
  private Dataset<Row> spread(List<Row> rows) {
    return spark.createDataFrame(rows, SCHEMA).repartition(3);
  }

  /**
   * 300 rows: a language (null on some), reasons (none, null, or up to three, one of them null on
   * some rows) and a score (null, NaN and infinite on some), drawn so that several counts tie.
   */
  private static List<Row> rows() {
    Random random = new Random(18);
    String[] langs = {"en", "de", "fr", "pt", "nl", null};
    String[] reasons = {"short", "dup", "lang", "symbols", "url"};
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      List<String> why = new ArrayList<>();
      int n = random.nextInt(4);
      for (int k = 0; k < n; k++) {
        why.add(random.nextInt(9) == 0 ? null : reasons[random.nextInt(reasons.length)]);
      }
      double score =
          switch (random.nextInt(12)) {
            case 0 -> Double.NaN;
            case 1 -> Double.POSITIVE_INFINITY;
            default -> Math.round(random.nextGaussian() * 40) / 4.0;
          };
      rows.add(
          RowFactory.create(
              langs[random.nextInt(langs.length)],
              i % 17 == 0 ? null : why,
              i % 23 == 0 ? null : score));
    }
    return rows;
  }

  @SuppressWarnings("unchecked")
  private static List<String> reasons(Row r) {
    return r.isNullAt(1) ? List.of() : (List<String>) r.get(1);
  }

  /** The languages of the rows without reasons (null reasons), nulls left out. */
  private static List<String> keptLangs(List<Row> rows) {
    return rows.stream()
        .filter(r -> r.isNullAt(1) && !r.isNullAt(0))
        .map(r -> r.getString(0))
        .toList();
  }

  /** Every non-null reason of every row. */
  private static List<String> allReasons(List<Row> rows) {
    return rows.stream().flatMap(r -> reasons(r).stream()).filter(v -> v != null).toList();
  }

  /** The counts as the summary lists them: most frequent first, ties by value, {@code limit}. */
  private static Map<String, Long> expected(List<String> values, int limit) {
    Map<String, Long> counts = new TreeMap<>();
    values.forEach(v -> counts.merge(v, 1L, Long::sum));
    Map<String, Long> out = new LinkedHashMap<>();
    counts.entrySet().stream()
        .sorted(
            Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder())
                .thenComparing(Map.Entry.comparingByKey()))
        .limit(limit)
        .forEach(e -> out.put(e.getKey(), e.getValue()));
    return out;
  }

  @Test
  void severalTalliesInOnePassGiveEachItsOwnCountsTiesByValueAndLimit() {
    List<Row> rows = rows();
    Dataset<Row> data = spread(rows);
    Map<String, Map<String, Long>> tallies =
        Histograms.tally(
            data,
            List.of(
                new Tally("kept langs", when(col("reasons").isNull(), array(col("lang"))), 3),
                new Tally("reasons", col("reasons"), 4),
                new Tally("all reasons", col("reasons"), Integer.MAX_VALUE),
                new Tally("none", when(col("lang").equalTo("xx"), array(col("lang"))), 5),
                new Tally("ties", array(lit("c"), lit("b"), lit("a")), 2)));

    List<String> keptLangs = keptLangs(rows);
    List<String> allReasons = allReasons(rows);
    assertEquals(List.copyOf(expected(keptLangs, 3).entrySet()), entries(tallies, "kept langs"));
    assertEquals(List.copyOf(expected(allReasons, 4).entrySet()), entries(tallies, "reasons"));
    assertEquals(List.copyOf(expected(allReasons, 99).entrySet()), entries(tallies, "all reasons"));
    assertEquals(Map.of(), tallies.get("none"));
    assertEquals(List.of(Map.entry("a", 300L), Map.entry("b", 300L)), entries(tallies, "ties"));
  }

  @Test
  void tiesGoInSparksOrderOfStringsNotJavas() {
    // By UTF-8 bytes the emoji (F0 ..) comes after the full-width A (EF ..); by UTF-16 units, as
    // String.compareTo orders, before it (D83D < FF21).
    Map<String, Long> counts =
        Histograms.counts(
            spark.range(1).toDF(),
            explode(array(lit("\uFF21"), lit("\uD83D\uDE00"), lit("\u00E9"), lit("z"))),
            4);
    assertEquals(List.of("z", "\u00E9", "\uFF21", "\uD83D\uDE00"), List.copyOf(counts.keySet()));
  }

  private static List<Map.Entry<String, Long>> entries(
      Map<String, Map<String, Long>> tallies, String name) {
    return List.copyOf(tallies.get(name).entrySet());
  }

  @Test
  void countsNameNullsAndCountExplodedKeys() {
    List<Row> rows = rows();
    Dataset<Row> data = spark.createDataFrame(rows, SCHEMA);
    List<String> langs =
        rows.stream().map(r -> r.isNullAt(0) ? Histograms.NULL : r.getString(0)).toList();
    assertEquals(
        List.copyOf(expected(langs, 4).entrySet()),
        List.copyOf(Histograms.counts(data, col("lang"), 4).entrySet()));
    List<String> reasons =
        rows.stream()
            .flatMap(r -> reasons(r).stream())
            .map(v -> v == null ? Histograms.NULL : v)
            .toList();
    assertEquals(
        List.copyOf(expected(reasons, 99).entrySet()),
        List.copyOf(Histograms.counts(data, explode(col("reasons")), 99).entrySet()));
  }

  @Test
  void beforeAndAfterShareTheBinsOfTheRangeBefore() {
    List<Row> rows = rows();
    Dataset<Row> data = spread(rows);
    int bins = 7;
    Binned h =
        Histograms.beforeAfter(
                data, when(col("reasons").isNull(), true).otherwise(false), List.of("score"), bins)
            .get("score");
    assertScoreHistogram(rows, bins, h);
  }

  @Test
  void talliesAndHistogramsTogetherCountAsTheyDoAlone() {
    List<Row> rows = rows();
    Dataset<Row> data = spread(rows);
    int bins = 6;
    Counts counts =
        Histograms.countAndBin(
            data,
            List.of(
                new Tally("reasons", col("reasons"), 99),
                new Tally("kept langs", when(col("reasons").isNull(), array(col("lang"))), 3)),
            when(col("reasons").isNull(), true).otherwise(false),
            List.of("score"),
            bins);

    List<String> keptLangs = keptLangs(rows);
    List<String> allReasons = allReasons(rows);
    assertEquals(
        List.copyOf(expected(allReasons, 99).entrySet()), entries(counts.tallies(), "reasons"));
    assertEquals(
        List.copyOf(expected(keptLangs, 3).entrySet()), entries(counts.tallies(), "kept langs"));
    assertScoreHistogram(rows, bins, counts.histograms().get("score"));
  }

  /**
   * Asserts that {@code h} is the histogram of the finite scores of {@code rows} in {@code bins},
   * and of those of the rows without reasons.
   */
  private static void assertScoreHistogram(List<Row> rows, int bins, Binned h) {
    Predicate<Row> finite = r -> !r.isNullAt(2) && Double.isFinite(r.getDouble(2));
    double lo = rows.stream().filter(finite).mapToDouble(r -> r.getDouble(2)).min().orElseThrow();
    double hi = rows.stream().filter(finite).mapToDouble(r -> r.getDouble(2)).max().orElseThrow();
    long[] before = new long[bins];
    long[] after = new long[bins];
    for (Row r : rows) {
      if (finite.test(r)) {
        int bin = (int) Math.min(bins - 1, Math.floor((r.getDouble(2) - lo) / ((hi - lo) / bins)));
        before[bin]++;
        if (r.isNullAt(1)) {
          after[bin]++;
        }
      }
    }
    assertEquals(lo, h.min());
    assertEquals(hi, h.max());
    assertArrayEquals(before, h.before(), Arrays.toString(h.before()));
    assertArrayEquals(after, h.after(), Arrays.toString(h.after()));
    assertEquals(
        rows.stream().filter(finite).count(), Arrays.stream(h.before()).sum(), "NaN, ±∞, null out");
  }

  @Test
  void severalColumnsEachGetTheirOwnRangeNestedConstantOrWithoutValues() {
    List<Row> rows = rows();
    int bins = 5;
    Dataset<Row> data =
        spark
            .createDataFrame(rows, SCHEMA)
            .repartition(4)
            .select(
                col("reasons"),
                struct(col("score").multiply(-3).plus(1).as("a"), lit(2.5).as("flat")).as("s"),
                lit(Double.NaN).as("none"));
    Map<String, Binned> hs =
        Histograms.beforeAfter(
            data,
            when(col("reasons").isNull(), true).otherwise(false),
            List.of("s.a", "none", "s.flat"),
            bins);

    assertEquals(List.of("s.a", "s.flat"), List.copyOf(hs.keySet()), "no entry without a value");
    Predicate<Row> finite = r -> !r.isNullAt(2) && Double.isFinite(r.getDouble(2));
    List<Row> present = rows.stream().filter(finite).toList();
    double[] a = present.stream().mapToDouble(r -> r.getDouble(2) * -3 + 1).toArray();
    double lo = Arrays.stream(a).min().orElseThrow();
    double hi = Arrays.stream(a).max().orElseThrow();
    long[] before = new long[bins];
    long[] after = new long[bins];
    for (int i = 0; i < a.length; i++) {
      int bin = (int) Math.min(bins - 1, Math.floor((a[i] - lo) / ((hi - lo) / bins)));
      before[bin]++;
      after[bin] += present.get(i).isNullAt(1) ? 1 : 0;
    }
    Binned h = hs.get("s.a");
    assertEquals(lo, h.min());
    assertEquals(hi, h.max());
    assertArrayEquals(before, h.before(), Arrays.toString(h.before()));
    assertArrayEquals(after, h.after(), Arrays.toString(h.after()));

    Binned flat = hs.get("s.flat");
    long kept = rows.stream().filter(r -> r.isNullAt(1)).count();
    assertEquals(2.5, flat.min());
    assertEquals(2.5, flat.max());
    assertArrayEquals(new long[] {rows.size(), 0, 0, 0, 0}, flat.before());
    assertArrayEquals(new long[] {kept, 0, 0, 0, 0}, flat.after());
  }
}
