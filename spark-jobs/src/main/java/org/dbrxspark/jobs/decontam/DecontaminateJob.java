package org.dbrxspark.jobs.decontam;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_list;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.LongStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.core.Histograms;
import org.dbrxspark.jobs.core.Job;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.core.Partitions;
import org.dbrxspark.jobs.core.Rejects;
import org.dbrxspark.jobs.core.RunTables;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.jobs.io.DocumentReader;
import org.dbrxspark.jobs.io.Documents;
import org.dbrxspark.jobs.io.InputFormat;
import org.dbrxspark.jobs.io.ReaderOptions;
import scala.collection.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * {@code decontaminate}: moves documents that share word n-grams with benchmark items to the
 * rejects table, naming the benchmark, the item, the number of shared n-grams and the original text
 * of the first one.
 *
 * <p>The benchmarks' n-grams are matched in one of two ways, chosen by size in {@link #broadcasts}:
 * up to {@code --broadcast-max-mb} the table is built once on the driver ({@link NGramTable}) and
 * broadcast, and each document is looked up in it as it is read; above, every document's distinct
 * n-grams are joined with the benchmarks' in a shuffle. Both end in {@link Matcher#choose}.
 */
public final class DecontaminateJob implements Job {
  /** Why a row was rejected (array of string), as in curate's rejects. */
  public static final String REASONS = Rejects.REASONS;

  /** The reason of a contaminated document. */
  public static final String CONTAMINATED = "contaminated";

  /**
   * The rejects' struct saying what contaminated a document; null for rows that are not documents.
   */
  public static final String CONTAMINATION = "contamination";

  private static final String VERDICT = "_verdict";

  public static final OptionSpec<String> OUTPUT =
      OptionSpec.path(
          "output",
          null,
          "Delta table of the clean documents: those sharing fewer than --min-overlap n-grams with every benchmark "
              + "item");
  public static final OptionSpec<String> REJECTS =
      Rejects.option(
          "Delta table of contaminated documents with reasons and contamination (benchmark, item_id, matched_ngrams, "
              + "matched_items, span), and of rows that are not documents");
  public static final OptionSpec<List<String>> BENCHMARKS =
      OptionSpec.list(
          "benchmarks",
          null,
          "Benchmark sets: JSONL, Parquet or Delta files, folders or globs, comma-separated; one item per row");
  public static final OptionSpec<String> BENCHMARK_FORMAT =
      OptionSpec.choice(
          "benchmark-format",
          "auto",
          "Format of the benchmark sets; auto guesses from a _delta_log folder or the file extension",
          InputFormat.names());
  public static final OptionSpec<List<String>> BENCHMARK_COLS =
      OptionSpec.list(
          "benchmark-cols",
          "",
          "Benchmark columns whose texts (strings, or arrays of strings such as choices) make an item; n-grams do "
              + "not run from one text into the next; each column must be in every benchmark; empty: every string or "
              + "array-of-string column but the id");
  public static final OptionSpec<String> BENCHMARK_ID_COL =
      OptionSpec.string(
          "benchmark-id-col",
          "id",
          "Benchmark column naming items; a benchmark without it names items by the first 16 hex digits of the "
              + "SHA-256 of their texts");
  public static final OptionSpec<Integer> NGRAM =
      OptionSpec.integer(
          "ngram",
          13,
          1,
          "Words per n-gram (words as dedup's: lower-cased runs of letters and digits); items without a text "
              + "that long cannot match and are counted in the summary");
  public static final OptionSpec<Integer> MIN_OVERLAP =
      OptionSpec.integer(
          "min-overlap",
          1,
          1,
          "Distinct n-grams a document must share with one benchmark item to be contaminated");
  public static final OptionSpec<Long> BROADCAST_MAX_MB =
      OptionSpec.longValue(
          "broadcast-max-mb",
          "256",
          0,
          "Largest benchmark n-gram table (estimated at "
              + NGramTable.BYTES_PER_NGRAM
              + " bytes per n-gram) built on "
              + "the driver and broadcast to every executor; a larger one is joined with the documents' n-grams in a "
              + "shuffle (slower, no memory bound); 0: always join");

  @Override
  public String name() {
    return "decontaminate";
  }

  @Override
  public String description() {
    return "Remove documents that share word n-grams with benchmark items (test-set contamination). Both sides "
        + "are normalised as dedup does; rejected documents name the benchmark, the item, the number of shared "
        + "n-grams and the original text of the first. Rows that are not documents go to the rejects table "
        + "with their reasons.";
  }

  @Override
  public List<OptionSpec<?>> options() {
    List<OptionSpec<?>> all = new ArrayList<>(ReaderOptions.specs());
    all.addAll(
        List.of(
            OUTPUT,
            REJECTS,
            BENCHMARKS,
            BENCHMARK_FORMAT,
            BENCHMARK_COLS,
            BENCHMARK_ID_COL,
            NGRAM,
            MIN_OVERLAP,
            BROADCAST_MAX_MB));
    return all;
  }

  @Override
  public void validate(ParsedOptions o) {
    if (o.get(BENCHMARKS).isEmpty()) {
      throw new UsageException("--benchmarks names no benchmark set");
    }
    Rejects.requireApart(o, OUTPUT, REJECTS);
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions o) {
    Matcher matcher = new Matcher(o.get(NGRAM), o.get(MIN_OVERLAP));
    BenchmarkItems benchmarks =
        new BenchmarkItems(
            o.get(BENCHMARKS),
            InputFormat.of(o.get(BENCHMARK_FORMAT)),
            o.get(BENCHMARK_COLS),
            o.get(BENCHMARK_ID_COL));
    Dataset<Row> items = benchmarks.read(spark).persist(StorageLevel.MEMORY_AND_DISK());
    Documents read = DocumentReader.readWithErrors(spark, ReaderOptions.from(o));
    Dataset<Row> rows = Partitions.spread(read.rows());
    Column reason = Rejects.notADocument();
    Dataset<Row> annotated = null;
    Broadcast<NGramTable> table = null;
    try {
      BenchmarkSizes sizes = sizes(items, matcher);
      boolean broadcast = broadcasts(sizes, o.get(BROADCAST_MAX_MB));
      if (broadcast) {
        table = broadcastTable(spark, items, matcher);
      }
      annotated =
          (broadcast
                  ? withBroadcastVerdicts(rows, reason, table, matcher)
                  : withJoinedVerdicts(rows, reason, items, matcher))
              .persist(StorageLevel.MEMORY_AND_DISK());
      Dataset<Row> kept =
          annotated
              .where(reason.isNull().and(col(VERDICT).isNull()))
              .drop(VERDICT, DocumentReader.READ_ERROR);
      Dataset<Row> rejected =
          rejected(
              annotated.where(reason.isNotNull().or(col(VERDICT).isNotNull())),
              reason,
              items,
              matcher);

      String output = o.get(OUTPUT);
      String rejects = Rejects.path(o, OUTPUT, REJECTS);
      try (RunTables tables = RunTables.of(spark, output, rejects)) {
        long keptRows = tables.overwrite(kept, output);
        long rejectedRows = tables.overwrite(rejected, rejects);

        long input = annotated.count();
        Dataset<Row> rejectTable = DeltaTables.read(spark, rejects);
        Dataset<Row> contaminated = rejectTable.where(col(CONTAMINATION).isNotNull());
        String matchPath =
            String.format(
                Locale.ROOT,
                "%s (n-gram table about %.1f MB %s --broadcast-max-mb %d)",
                broadcast ? "broadcast" : "join",
                sizes.estimatedBytes() / 1e6,
                broadcast ? "<=" : ">",
                o.get(BROADCAST_MAX_MB));
        long contaminatedRows = contaminated.count();
        JobSummary summary =
            new JobSummary("decontaminate " + o.get(ReaderOptions.INPUT))
                .put("input documents", input)
                .put("kept", keptRows)
                .put("rejected", rejectedRows)
                .put("  contaminated", contaminatedRows)
                .put("reject reasons", Histograms.counts(rejectTable, explode(col(REASONS)), 8))
                .put(
                    "contaminated by benchmark",
                    Histograms.counts(contaminated, col(CONTAMINATION + ".benchmark"), 8))
                .put(
                    "benchmark items",
                    sizes.items()
                        + " in "
                        + o.get(BENCHMARKS).size()
                        + " sets, "
                        + sizes.ngrams()
                        + " "
                        + matcher.ngram()
                        + "-grams; "
                        + sizes.tooShort()
                        + " items without a text of "
                        + matcher.ngram()
                        + " words cannot match")
                .put("match", matchPath + ", --min-overlap " + matcher.minOverlap())
                .put("output", output)
                .put("rejects output", rejects)
                .put("duplicate ids", read.duplicateIdSummary());
        summary
            .filter(CONTAMINATED, keptRows, contaminatedRows)
            .reconcile("input = kept + rejected", input, keptRows, rejectedRows);
        return tables.finish(summary);
      }
    } finally {
      items.unpersist();
      if (annotated != null) {
        annotated.unpersist();
      }
      if (table != null) {
        table.destroy();
      }
    }
  }

  /**
   * How big the benchmarks are in n-grams, checked: a benchmark set none of whose items has an
   * n-gram could never match, which is a mistake in the options or the file, not a clean corpus.
   *
   * @param ngrams (item, n-gram) positions, an upper bound on the table's pairs
   */
  record BenchmarkSizes(long items, long ngrams, long tooShort) {
    long estimatedBytes() {
      return ngrams * NGramTable.BYTES_PER_NGRAM;
    }
  }

  /**
   * The switch between the two paths: broadcast when the table's estimate is at most {@code maxMb}
   * MB (10^6 bytes); the estimate counts every n-gram position of every item, so the built table is
   * never larger.
   */
  static boolean broadcasts(BenchmarkSizes sizes, long maxMb) {
    return maxMb > 0 && sizes.estimatedBytes() <= maxMb * 1_000_000L;
  }

  private static BenchmarkSizes sizes(Dataset<Row> items, Matcher matcher) {
    UserDefinedFunction ngrams =
        udf(
            (UDF1<Seq<String>, Integer>) t -> matcher.positions(CollectionConverters.asJava(t)),
            DataTypes.IntegerType);
    Column n = ngrams.apply(col(BenchmarkItems.TEXTS));
    List<Row> perBenchmark =
        items
            .select(col(BenchmarkItems.BENCHMARK), n.as("n"))
            .groupBy(BenchmarkItems.BENCHMARK)
            .agg(
                count(lit(1)),
                sum(col("n")).cast("long"),
                sum(when(col("n").equalTo(0), 1).otherwise(0)).cast("long"))
            .collectAsList();
    long all = 0;
    long grams = 0;
    long tooShort = 0;
    for (Row r : perBenchmark) {
      if (r.getLong(2) == 0) {
        throw new IllegalArgumentException(
            "--benchmarks "
                + r.getString(0)
                + ": no item has a text of --ngram "
                + matcher.ngram()
                + " words, so nothing could match it ("
                + r.getLong(1)
                + " items)");
      }
      all += r.getLong(1);
      grams += r.getLong(2);
      tooShort += r.getLong(3);
    }
    return new BenchmarkSizes(all, grams, tooShort);
  }

  /**
   * The broadcast path's table: the items' n-grams, built on the driver and shipped once to each
   * executor.
   */
  private static Broadcast<NGramTable> broadcastTable(
      SparkSession spark, Dataset<Row> items, Matcher matcher) {
    List<Row> texts = items.select(BenchmarkItems.ITEM, BenchmarkItems.TEXTS).collectAsList();
    long[][] hashes = new long[texts.size()][];
    for (Row r : texts) {
      hashes[r.getInt(0)] = matcher.distinctHashes(r.getList(1));
    }
    return JavaSparkContext.fromSparkContext(spark.sparkContext())
        .broadcast(NGramTable.build(hashes));
  }

  /**
   * The broadcast path: every document is looked up in {@code table} where it is read (no shuffle).
   * Adds {@link #VERDICT} to {@code rows}: null for a clean document or a row that is not one.
   */
  private static Dataset<Row> withBroadcastVerdicts(
      Dataset<Row> rows, Column reason, Broadcast<NGramTable> table, Matcher matcher) {
    // Non-deterministic only to stop the optimiser from re-running the UDF per extracted field.
    UserDefinedFunction verdict =
        udf((UDF1<String, Row>) t -> matcher.verdict(t, table.value()), Matcher.verdictType())
            .asNondeterministic();
    return rows.withColumn(VERDICT, when(reason.isNull(), verdict.apply(col(Columns.TEXT))));
  }

  /**
   * The join path, for benchmark sets too large to broadcast: each document's distinct n-grams
   * (with the word position of the first of each) are joined on the hash with the items', tallied
   * per (document, item), and the tallies of a document go to {@link Matcher#choose}.
   */
  private static Dataset<Row> withJoinedVerdicts(
      Dataset<Row> rows, Column reason, Dataset<Row> items, Matcher matcher) {
    StructType occurrence =
        new StructType()
            .add("hash", DataTypes.LongType, false)
            .add("pos", DataTypes.IntegerType, false);
    UserDefinedFunction docNGrams =
        udf(
            (UDF1<String, List<Row>>) matcher::firstOccurrences,
            DataTypes.createArrayType(occurrence, false));
    UserDefinedFunction itemNGrams =
        udf(
            (UDF1<Seq<String>, List<Long>>)
                t ->
                    LongStream.of(matcher.distinctHashes(CollectionConverters.asJava(t)))
                        .boxed()
                        .toList(),
            DataTypes.createArrayType(DataTypes.LongType, false));
    UserDefinedFunction choose =
        udf(
            (UDF1<Seq<Row>, Row>) t -> matcher.choose(CollectionConverters.asJava(t)),
            Matcher.verdictType());
    Dataset<Row> docSide =
        rows.where(reason.isNull())
            .select(col(Columns.ID), explode(docNGrams.apply(col(Columns.TEXT))).as("o"))
            .select(col(Columns.ID), col("o.hash").as("hash"), col("o.pos").as("pos"));
    Dataset<Row> itemSide =
        items.select(
            col(BenchmarkItems.ITEM),
            explode(itemNGrams.apply(col(BenchmarkItems.TEXTS))).as("hash"));
    Dataset<Row> verdicts =
        docSide
            .join(itemSide, "hash")
            .groupBy(Columns.ID, BenchmarkItems.ITEM)
            .agg(count(lit(1)).cast("int").as(Matcher.NGRAMS), min("pos").as(Matcher.FIRST))
            .where(col(Matcher.NGRAMS).geq(matcher.minOverlap()))
            .groupBy(Columns.ID)
            .agg(
                collect_list(struct(col(Matcher.ITEM), col(Matcher.NGRAMS), col(Matcher.FIRST)))
                    .as("t"))
            .select(col(Columns.ID), choose.apply(col("t")).as(VERDICT));
    return rows.join(verdicts, Columns.ID, "left");
  }

  /**
   * The rejects: rows that are not documents with their read error (or null-text), and contaminated
   * documents with {@link #CONTAMINATION}: the benchmark, the item's id, the shared n-grams, how
   * many items reached --min-overlap, and the original text of the first shared n-gram.
   */
  private static Dataset<Row> rejected(
      Dataset<Row> flagged, Column reason, Dataset<Row> items, Matcher matcher) {
    Dataset<Row> named =
        items.select(
            col(BenchmarkItems.ITEM).as("_item"),
            col(BenchmarkItems.BENCHMARK).as("_benchmark"),
            col(BenchmarkItems.ITEM_ID).as("_item_id"));
    UserDefinedFunction span =
        udf((UDF2<String, Integer, String>) matcher::span, DataTypes.StringType);
    Column verdict = col(VERDICT);
    Column contamination =
        when(
            verdict.isNotNull(),
            struct(
                col("_benchmark").as("benchmark"),
                col("_item_id").as("item_id"),
                col(VERDICT + "." + Matcher.NGRAMS).as("matched_ngrams"),
                col(VERDICT + "." + Matcher.ITEMS).as("matched_items"),
                span.apply(col(Columns.TEXT), col(VERDICT + "." + Matcher.FIRST)).as("span")));
    return flagged
        .join(named, col(VERDICT + "." + Matcher.ITEM).equalTo(col("_item")), "left")
        .withColumn(
            REASONS, when(reason.isNotNull(), array(reason)).otherwise(array(lit(CONTAMINATED))))
        .withColumn(CONTAMINATION, contamination)
        .drop(VERDICT, DocumentReader.READ_ERROR, "_item", "_benchmark", "_item_id");
  }
}
