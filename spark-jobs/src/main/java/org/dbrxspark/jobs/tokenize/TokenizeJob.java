package org.dbrxspark.jobs.tokenize;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.filter;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
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
import org.dbrxspark.runtime.tokenizer.SpecialTokens;
import org.dbrxspark.udfs.ml.DbrxTokenEncoder;

/**
 * {@code tokenize}: DBRX token ids per document, or (with {@code --pack}) fixed-length training
 * sequences with document boundaries. Each document is assigned to the train or validation split by
 * a seeded hash of its id before anything is packed. Documents with null or empty text, and any the
 * tokenizer fails on, go to the rejects table with their reasons.
 */
public final class TokenizeJob implements Job {
  /** Token ids (array of int). */
  public static final String INPUT_IDS = "input_ids";

  /** Real tokens in the row (int); the column mix and stats read. */
  public static final String NUM_TOKENS = "num_tokens";

  /** {@value #TRAIN} or {@value #VALIDATION}. */
  public static final String SPLIT = "split";

  public static final String TRAIN = "train";
  public static final String VALIDATION = "validation";

  /** Why a document was rejected (array of string), as in curate's rejects. */
  public static final String REASONS = Rejects.REASONS;

  public static final OptionSpec<String> OUTPUT =
      OptionSpec.path(
          "output",
          null,
          "Delta table of token ids per document, or of packed sequences with --pack");
  public static final OptionSpec<String> REJECTS =
      Rejects.option(
          "Delta table of rejected documents (null or empty text, tokenizer errors) with reasons");
  public static final OptionSpec<Integer> PACK =
      OptionSpec.integer(
          "pack",
          0,
          0,
          "Sequence length: concatenate documents, each followed by EOS (100257), into sequences of this many "
              + "tokens, the last one padded with <|pad|> (100277); 0: one row per document");
  public static final OptionSpec<Boolean> APPEND_EOS =
      OptionSpec.bool(
          "append-eos",
          false,
          "Without --pack: append EOS (100257) to every document's ids (--pack always ends documents with EOS)");
  public static final OptionSpec<Double> VALIDATION_FRACTION =
      OptionSpec.decimal(
          "validation-fraction",
          0,
          0,
          1,
          "Fraction of documents in the validation split, drawn by a seeded hash of the id");
  public static final OptionSpec<Long> SEED =
      OptionSpec.longValue(
          "seed", "42", Long.MIN_VALUE, "Seed of the split hash and of the packing order");

  /** Columns this job writes; input columns of the same names are replaced. */
  private static final Set<String> WRITTEN =
      Set.of(INPUT_IDS, NUM_TOKENS, SPLIT, REASONS, "_tokens", SequencePacker.ORDER);

  @Override
  public String name() {
    return "tokenize";
  }

  @Override
  public String description() {
    return "Tokenize documents with the DBRX tokenizer into token ids per document, or with --pack into "
        + "fixed-length training sequences with document boundaries. The tokenizer is cl100k_base plus the DBRX "
        + "special ids; special-token strings in the text stay plain text. Documents go to the train or "
        + "validation split by a seeded hash of their id.";
  }

  @Override
  public List<OptionSpec<?>> options() {
    List<OptionSpec<?>> all = new ArrayList<>(ReaderOptions.specs());
    all.addAll(List.of(OUTPUT, REJECTS, PACK, APPEND_EOS, VALIDATION_FRACTION, SEED));
    return all;
  }

  @Override
  public void validate(ParsedOptions o) {
    Rejects.requireApart(o, OUTPUT, REJECTS);
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions o) {
    long started = System.nanoTime();
    int seqLen = o.get(PACK);
    String output = o.get(OUTPUT);
    String rejects = Rejects.path(o, OUTPUT, REJECTS);
    Documents read = DocumentReader.readWithErrors(spark, ReaderOptions.from(o));
    Dataset<Row> annotated =
        annotate(Partitions.spread(read.rows()), o.get(SEED), o.get(VALIDATION_FRACTION))
            .persist(StorageLevel.MEMORY_AND_DISK());
    try {
      Dataset<Row> tokenized = annotated.where(Rejects.kept());
      Dataset<Row> rejected = annotated.where(Rejects.rejected());
      // Per split: documents and tokens, straight from the tokenizer's output.
      Map<String, long[]> perSplit = new TreeMap<>();
      for (Row r :
          tokenized.groupBy(SPLIT).agg(count(lit(1)), sum(size(col(INPUT_IDS)))).collectAsList()) {
        perSplit.put(r.getString(0), new long[] {r.getLong(1), r.getLong(2)});
      }
      long documents = perSplit.values().stream().mapToLong(a -> a[0]).sum();
      long tokens = perSplit.values().stream().mapToLong(a -> a[1]).sum();

      try (RunTables tables = RunTables.of(spark, output, rejects)) {
        tables.overwrite(
            seqLen > 0
                ? SequencePacker.pack(tokenized, seqLen, documents)
                : documentRows(tokenized, o.get(APPEND_EOS)),
            output);
        long rejectedRows =
            tables.overwrite(rejected.drop(INPUT_IDS, SPLIT, SequencePacker.ORDER), rejects);

        long input = annotated.count();
        Dataset<Row> rejectTable = DeltaTables.read(spark, rejects);
        JobSummary summary =
            new JobSummary("tokenize " + o.get(ReaderOptions.INPUT))
                .put("input documents", input)
                .put("tokenized documents", documents + splitDetail(perSplit, 0))
                .put("rejected documents", rejectedRows)
                .put("duplicate ids", read.duplicateIdSummary())
                .put("document tokens", tokens + splitDetail(perSplit, 1))
                .put(
                    "tokens/s (whole job)",
                    String.format("%.0f", tokens / ((System.nanoTime() - started) / 1e9)))
                .put("reject reasons", Histograms.counts(rejectTable, explode(col(REASONS)), 8));
        summary.reconcile("input = tokenized + rejected", input, documents, rejectedRows);
        Dataset<Row> written = DeltaTables.read(spark, output);
        if (seqLen > 0) {
          summarisePacked(summary, written, seqLen, documents, tokens);
        } else {
          summariseDocuments(summary, written, documents, tokens, o.get(APPEND_EOS));
        }
        return tables.finish(summary.put("output", output).put("rejects output", rejects));
      }
    } finally {
      annotated.unpersist();
    }
  }

  /**
   * Tokenizes {@code docs} and adds {@code input_ids}, {@code split}, {@code reasons} (empty for a
   * tokenized document) and the packing order. Only rejected documents keep their text. A row with
   * a {@link DocumentReader#READ_ERROR} is not tokenized: the error is its reason. Public so that
   * the tokenizing stage can be timed alone, without the job's writes (the benchmarks module's
   * {@code TokenizeBenchmark}).
   */
  public static Dataset<Row> annotate(Dataset<Row> docs, long seed, double validationFraction) {
    List<String> kept = new ArrayList<>();
    for (String c : docs.columns()) {
      if (!WRITTEN.contains(c)) {
        kept.add(c);
      }
    }
    Column readError =
        kept.contains(DocumentReader.READ_ERROR) ? col(DocumentReader.READ_ERROR) : lit(null);
    Dataset<Row> input =
        docs.select(kept.stream().map(Columns::named).toArray(Column[]::new))
            .withColumn("_readable", when(readError.isNull(), col(Columns.TEXT)));
    // The udfs transformer: one shared tokenizer per executor JVM, a failing row is that row's
    // error.
    Dataset<Row> tokens =
        new DbrxTokenEncoder().setInputCol("_readable").setOutputCol("_tokens").transform(input);
    Column text = col(Columns.TEXT);
    Column error = col("_tokens.error");
    Column reasons =
        when(readError.isNotNull(), array(readError))
            .when(text.isNull(), array(lit("null-text")))
            .when(text.equalTo(""), array(lit("empty-text")))
            .when(error.isNotNull(), array(concat(lit("tokenizer-error: "), error)))
            .otherwise(array().cast(DataTypes.createArrayType(DataTypes.StringType)));
    List<Column> orderParts = new ArrayList<>(List.of(lit("document-order"), col(Columns.ID)));
    if (kept.contains(Columns.COPY)) {
      orderParts.add(col(Columns.COPY)); // copies of one document in a mix are placed apart
    }
    return tokens
        .withColumn(INPUT_IDS, col("_tokens.ids"))
        .withColumn(REASONS, reasons)
        // Only a rejected document needs its text again: the cached table stays about half the
        // size.
        .withColumn(Columns.TEXT, when(size(col(REASONS)).gt(0), text))
        .withColumn(SPLIT, split(seed, validationFraction))
        .withColumn(
            SequencePacker.ORDER, SeededHash.sortKey(seed, orderParts.toArray(Column[]::new)))
        .drop("_tokens", "_readable", DocumentReader.READ_ERROR);
  }

  /**
   * The split of a document: validation when a seeded hash of its id, uniform in [0, 1), is below
   * the fraction. Salted, so that it is independent of mix's sampling hash under the same seed (mix
   * keeps documents whose hash is low: without the salt they would be the validation documents).
   */
  static Column split(long seed, double validationFraction) {
    return when(
            SeededHash.uniform(seed, lit("validation-split"), col(Columns.ID))
                .lt(validationFraction),
            VALIDATION)
        .otherwise(TRAIN);
  }

  /**
   * One row per document: id, source, input_ids, num_tokens, split, then the input's other columns.
   */
  private static Dataset<Row> documentRows(Dataset<Row> tokenized, boolean appendEos) {
    Column ids =
        appendEos ? concat(col(INPUT_IDS), array(lit(SpecialTokens.ENDOFTEXT))) : col(INPUT_IDS);
    List<Column> cols =
        new ArrayList<>(
            List.of(
                col(Columns.ID),
                col(Columns.SOURCE),
                ids.as(INPUT_IDS),
                size(ids).as(NUM_TOKENS),
                col(SPLIT)));
    Set<String> taken =
        Set.of(
            Columns.ID,
            Columns.SOURCE,
            Columns.TEXT,
            INPUT_IDS,
            SPLIT,
            REASONS,
            SequencePacker.ORDER);
    for (String c : tokenized.columns()) {
      if (!taken.contains(c)) {
        cols.add(Columns.named(c));
      }
    }
    return tokenized.select(cols.toArray(Column[]::new));
  }

  private static void summariseDocuments(
      JobSummary summary, Dataset<Row> written, long documents, long tokens, boolean appendEos) {
    Row r = written.agg(count(lit(1)), sum(col(NUM_TOKENS))).first();
    long rows = r.getLong(0);
    long writtenTokens = r.isNullAt(1) ? 0 : r.getLong(1);
    summary
        .put("written rows", rows)
        .put("written tokens", writtenTokens + (appendEos ? " (with EOS)" : ""))
        .reconcile("written rows = tokenized documents", rows, documents);
    if (appendEos) {
      summary.reconcile(
          "written tokens = document tokens + EOS per document", writtenTokens, tokens, documents);
    } else {
      summary.reconcile("written tokens = document tokens", writtenTokens, tokens);
    }
  }

  private static void summarisePacked(
      JobSummary summary, Dataset<Row> written, int seqLen, long documents, long tokens) {
    Map<String, Long> sequences = new TreeMap<>();
    long ids = 0;
    long real = 0;
    long padding = 0;
    long starts = 0;
    for (Row r :
        written
            .groupBy(SPLIT)
            .agg(
                count(lit(1)),
                sum(size(col(INPUT_IDS))),
                sum(col(NUM_TOKENS)),
                sum(size(filter(col(SequencePacker.ATTENTION_MASK), x -> x.equalTo(0)))),
                sum(size(filter(col(SequencePacker.DOC_OFFSETS), x -> x.equalTo(0)))))
            .collectAsList()) {
      sequences.put(r.getString(0), r.getLong(1));
      ids += r.getLong(2);
      real += r.getLong(3);
      padding += r.getLong(4);
      starts += r.getLong(5);
    }
    long total = sequences.values().stream().mapToLong(Long::longValue).sum();
    summary
        .put("sequences", total + " of " + seqLen + " tokens " + sequences)
        .put(
            "packed tokens",
            real
                + String.format(
                    " + %d padding (%.2f%% real)", padding, ids == 0 ? 0.0 : 100.0 * real / ids))
        .reconcile("token slots = sequences x " + seqLen, ids, total * seqLen)
        .reconcile("token slots = packed tokens + padding", ids, real, padding)
        .reconcile("packed tokens = document tokens + EOS per document", real, tokens, documents)
        .reconcile("tokenized = documents starting in a sequence", documents, starts);
  }

  private static String splitDetail(Map<String, long[]> perSplit, int field) {
    StringBuilder sb = new StringBuilder();
    perSplit.forEach(
        (k, v) -> sb.append(sb.length() == 0 ? " (" : ", ").append(k).append(' ').append(v[field]));
    return sb.length() == 0 ? "" : sb.append(')').toString();
  }
}
