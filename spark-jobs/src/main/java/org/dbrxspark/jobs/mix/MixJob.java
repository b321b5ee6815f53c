package org.dbrxspark.jobs.mix;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.map;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.sequence;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
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
import org.dbrxspark.jobs.core.SeededHash;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.jobs.io.DocumentReader;
import org.dbrxspark.jobs.io.Documents;
import org.dbrxspark.jobs.io.ReaderOptions;
import org.dbrxspark.udfs.sql.CountTokensFunction;

/**
 * {@code mix}: samples sources by weight into a token (or document) budget. A document with rate r
 * = k + f appears k times, plus once more when its seeded hash u(id) in [0, 1) is below f; copies
 * are numbered in the {@code copy} column, so (id, copy) is the key of the mixed table. The same
 * options give the same mix, whatever the partitioning.
 *
 * <p>Input rows that are not documents (a JSONL line that is not an object or whose text is not a
 * string, a row without text) are not sampled: they go to the rejects table with their reason,
 * which names the file and line, and each source's counts say how many it lost so. A line whose
 * source column could not be read is counted under {@value #UNREADABLE}.
 */
public final class MixJob implements Job {
  /** The copy number of a document in the mix: (id, copy) is the mix table's key. */
  public static final String COPY = Columns.COPY;

  /** The source name of rows whose source is null. */
  private static final String NULL_SOURCE = "(null)";

  /**
   * Where the rows whose source column could not be read (malformed JSON, not an object, too large)
   * are counted: with {@code --source-col} their source is unknown, and counting them under any
   * source (the null one, the file's name) would add rows that source never had. Their reasons in
   * the rejects table name the file and line.
   */
  static final String UNREADABLE = "(unreadable)";

  /** How tokens are counted when the input has no token-count column. */
  static final String TOKENIZER = "DBRX tokenizer (cl100k_base + DBRX specials)";

  public static final OptionSpec<String> OUTPUT =
      OptionSpec.path("output", null, "Delta table of the mix");
  public static final OptionSpec<String> REJECTS =
      Rejects.option(
          "Delta table of the input rows that are not documents, with reasons naming the file and line");
  public static final OptionSpec<String> MANIFEST =
      OptionSpec.path(
          "manifest",
          "",
          "JSON manifest with per-source documents and tokens before and after; default: <output>_manifest.json");
  public static final OptionSpec<List<String>> WEIGHTS =
      OptionSpec.list(
          "weights", null, "Source weights as SOURCE=WEIGHT,...; sources not named are left out");
  public static final OptionSpec<Long> BUDGET =
      OptionSpec.longValue("budget", null, 1, "Target size of the mix, in --budget-unit");
  public static final OptionSpec<String> UNIT =
      OptionSpec.choice("budget-unit", "tokens", "Unit of --budget", "tokens", "documents");
  public static final OptionSpec<Double> MAX_EPOCHS =
      OptionSpec.decimal(
          "max-epochs",
          4,
          0.000001,
          1000,
          "Cap on a source's sampling rate (upsampling repeats documents up to this many times)");
  public static final OptionSpec<Long> SEED =
      OptionSpec.longValue("seed", "42", Long.MIN_VALUE, "Seed of the per-document sampling hash");
  public static final OptionSpec<String> TOKENS_COL =
      OptionSpec.string(
          "tokens-col",
          "num_tokens",
          "Column with per-document token counts; when absent, tokens are counted with the DBRX tokenizer and "
              + "written to it");

  @Override
  public String name() {
    return "mix";
  }

  @Override
  public String description() {
    return "Sample sources by weight into a token or document budget, with capped upsampling and seeded "
        + "hash-based selection; writes the mix and a manifest.";
  }

  @Override
  public List<OptionSpec<?>> options() {
    List<OptionSpec<?>> all = new ArrayList<>(ReaderOptions.specs());
    all.addAll(
        List.of(OUTPUT, REJECTS, MANIFEST, WEIGHTS, BUDGET, UNIT, MAX_EPOCHS, SEED, TOKENS_COL));
    return all;
  }

  @Override
  public void validate(ParsedOptions o) {
    Rejects.requireApart(o, OUTPUT, REJECTS);
    weights(o);
  }

  /** Parses {@code --weights}. */
  static Map<String, Double> weights(ParsedOptions o) {
    Map<String, Double> out = new TreeMap<>();
    for (String item : o.get(WEIGHTS)) {
      int eq = item.lastIndexOf('=');
      double w;
      try {
        w = Double.parseDouble(item.substring(eq + 1));
      } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
        w = Double.NaN;
      }
      if (eq <= 0 || !(w > 0) || Double.isInfinite(w)) {
        throw new UsageException(
            "--weights entries look like SOURCE=WEIGHT with WEIGHT > 0, got '" + item + "'");
      }
      if (out.put(item.substring(0, eq), w) != null) {
        throw new UsageException("--weights names " + item.substring(0, eq) + " twice");
      }
    }
    if (out.isEmpty()) {
      throw new UsageException("--weights names no source");
    }
    return out;
  }

  private static String manifestPath(ParsedOptions o) {
    String m = o.get(MANIFEST);
    return m.isBlank() ? DeltaTables.sibling(o.get(OUTPUT), "_manifest.json") : m;
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions o) {
    String tokensCol = o.get(TOKENS_COL);
    Documents read = DocumentReader.readWithErrors(spark, ReaderOptions.from(o));
    Dataset<Row> docs = Rejects.documents(read.rows());
    boolean counted = !Arrays.asList(docs.columns()).contains(tokensCol);
    if (counted) {
      Column tokens =
          udf(new CountTokensFunction(), DataTypes.IntegerType).apply(col(Columns.TEXT));
      docs = Partitions.spread(docs).withColumn(tokensCol, coalesce(tokens.cast("long"), lit(0L)));
    } else {
      docs = docs.withColumn(tokensCol, col(tokensCol).cast("long"));
    }
    // Counted once: the per-source totals and the write read the same tokens.
    docs = docs.persist(StorageLevel.MEMORY_AND_DISK());
    try {
      return mix(spark, o, read, docs, counted);
    } finally {
      docs.unpersist();
    }
  }

  private JobSummary mix(
      SparkSession spark, ParsedOptions o, Documents read, Dataset<Row> docs, boolean counted) {
    String tokensCol = o.get(TOKENS_COL);
    boolean tokens = o.get(UNIT).equals("tokens");
    Map<String, Long> available = new TreeMap<>();
    Map<String, Long> documents = new TreeMap<>();
    Map<String, Long> tokensBefore = new TreeMap<>();
    for (Row r :
        docs.groupBy(Columns.SOURCE).agg(count(lit(1)), sum(col(tokensCol))).collectAsList()) {
      String source = r.isNullAt(0) ? NULL_SOURCE : r.getString(0);
      documents.put(source, r.getLong(1));
      tokensBefore.put(source, r.isNullAt(2) ? 0 : r.getLong(2));
      available.put(source, tokens ? tokensBefore.get(source) : r.getLong(1));
    }
    MixPlan plan;
    try {
      plan = MixPlan.of(weights(o), available, documents, o.get(BUDGET), o.get(MAX_EPOCHS));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }

    List<Column> rates = new ArrayList<>();
    plan.sources()
        .forEach(
            (k, v) -> {
              rates.add(lit(k));
              rates.add(lit(v.rate()));
            });
    Column rate = coalesce(map(rates.toArray(Column[]::new)).apply(col(Columns.SOURCE)), lit(0.0));
    Column whole = floor(rate);
    Column u = SeededHash.uniform(o.get(SEED), col(Columns.ID));
    Column copies = whole.plus(when(u.lt(rate.minus(whole)), 1).otherwise(0)).cast("int");
    Dataset<Row> mixed =
        docs.withColumn("_copies", copies)
            .where(col("_copies").gt(0))
            .withColumn(COPY, explode(sequence(lit(0), col("_copies").minus(1))))
            .drop("_copies");
    String output = o.get(OUTPUT);
    String rejects = Rejects.path(o, OUTPUT, REJECTS);
    try (RunTables tables = RunTables.of(spark, output, rejects)) {
      long written = tables.overwrite(mixed, output);
      long rejectedRows = tables.overwrite(Rejects.notDocuments(read.rows()), rejects);
      Dataset<Row> rejectTable = DeltaTables.read(spark, rejects);
      Column source =
          coalesce(
              col(Columns.SOURCE),
              when(not(DocumentReader.columnsRead()), lit(UNREADABLE)),
              lit(NULL_SOURCE));
      long input = 0;
      Map<String, Long> rejectedBySource = new TreeMap<>();
      for (Row r :
          read.rows()
              .groupBy(source)
              .agg(count(lit(1)), count(Rejects.notADocument()))
              .collectAsList()) {
        input += r.getLong(1);
        rejectedBySource.put(r.getString(0), r.getLong(2));
      }
      // Every row read is listed under a source: those of a source without documents (its rows
      // all rejected, or unreadable) under one that the plan does not have.
      List<MixPlan.Source> listed = new ArrayList<>(plan.sources().values());
      rejectedBySource.forEach(
          (name, rejected) -> {
            if (rejected > 0 && !plan.sources().containsKey(name)) {
              listed.add(new MixPlan.Source(name, 0, 0, 0, 0, 0, false));
            }
          });

      Map<String, long[]> after = new TreeMap<>();
      for (Row r :
          DeltaTables.read(spark, output)
              .groupBy(Columns.SOURCE)
              .agg(
                  count(lit(1)),
                  sum(col(tokensCol)),
                  sum(when(col(COPY).equalTo(0), 1).otherwise(0)))
              .collectAsList()) {
        after.put(
            r.isNullAt(0) ? NULL_SOURCE : r.getString(0),
            new long[] {r.getLong(1), r.getLong(2), r.getLong(3)});
      }
      Map<String, Object> manifest = new LinkedHashMap<>();
      manifest.put("input", o.get(ReaderOptions.INPUT));
      manifest.put("output", output);
      manifest.put("rejects", rejects);
      manifest.put("budget", o.get(BUDGET));
      manifest.put("budget_unit", o.get(UNIT));
      manifest.put("max_epochs", o.get(MAX_EPOCHS));
      manifest.put("seed", o.get(SEED));
      manifest.put("tokens", counted ? TOKENIZER : "column " + tokensCol);
      List<Map<String, Object>> perSource = new ArrayList<>();
      JobSummary summary = new JobSummary("mix " + o.get(ReaderOptions.INPUT));
      long inputDocs = 0;
      long distinctSampled = 0;
      long tokensOut = 0;
      for (MixPlan.Source s : listed) {
        long[] a = after.getOrDefault(s.name(), new long[3]);
        long rejected = rejectedBySource.getOrDefault(s.name(), 0L);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("source", s.name());
        m.put("weight", s.weight());
        m.put("rows_read", s.documents() + rejected);
        m.put("rows_rejected", rejected);
        m.put("documents_before", s.documents());
        m.put("tokens_before", tokensBefore.getOrDefault(s.name(), 0L));
        m.put("target", Math.round(s.target()));
        m.put("rate", s.rate());
        m.put("capped", s.capped());
        m.put("documents_after", a[0]);
        m.put("distinct_documents_after", a[2]);
        m.put("tokens_after", a[1]);
        perSource.add(m);
        summary.put(
            s.name(),
            String.format(
                "%d rows read, %d rejected; weight %.3g, %d docs / %d tokens -> rate %.4f%s"
                    + " -> %d docs (%d distinct) / %d tokens",
                s.documents() + rejected,
                rejected,
                s.weight(),
                s.documents(),
                tokensBefore.getOrDefault(s.name(), 0L),
                s.rate(),
                s.capped() ? " (capped)" : "",
                a[0],
                a[2],
                a[1]));
        inputDocs += s.documents();
        distinctSampled += a[2];
        tokensOut += a[1];
      }
      manifest.put("sources", perSource);
      manifest.put("rows_rejected", rejectedRows);
      manifest.put("documents_after", written);
      manifest.put("tokens_after", tokensOut);
      summary
          .put(
              "budget", o.get(BUDGET) + " " + o.get(UNIT) + (counted ? " (" + TOKENIZER + ")" : ""))
          .put("input rows", input)
          .put("rejected rows", rejectedRows)
          .put("reject reasons", Histograms.counts(rejectTable, explode(col(Rejects.REASONS)), 8))
          .put("mixed rows", written)
          .put("mixed tokens", tokensOut)
          .put("output", output)
          .put("rejects output", rejects)
          .put("duplicate ids", read.duplicateIdSummary())
          .reconcile(
              "mixed rows = sum over sources",
              written,
              after.values().stream().mapToLong(a -> a[0]).toArray())
          .reconcile(
              "input = sampled + not sampled + rejected",
              input,
              distinctSampled,
              inputDocs - distinctSampled,
              rejectedRows);
      String manifestPath = manifestPath(o);
      // A manifest is written for a mix whose counts hold only: the tables of one that does not
      // are put back.
      if (summary.balanced()) {
        writeJson(spark, manifestPath, manifest);
        summary.put("manifest", manifestPath);
      }
      return tables.finish(summary);
    }
  }

  private static void writeJson(SparkSession spark, String path, Object value) {
    try {
      Path p = new Path(path);
      FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
      try (OutputStream out = fs.create(p, true)) {
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out, value);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write manifest " + path, e);
    }
  }
}
