package org.dbrxspark.jobs.score;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.core.Histograms;
import org.dbrxspark.jobs.core.Job;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.core.Rejects;
import org.dbrxspark.jobs.core.RunTables;
import org.dbrxspark.jobs.inference.ModelOptions;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.jobs.io.DocumentReader;
import org.dbrxspark.jobs.io.Documents;
import org.dbrxspark.jobs.io.ReaderOptions;
import org.dbrxspark.udfs.ml.DbrxScorer;

/**
 * {@code score}: the log-probability and perplexity of every document under DBRX, written as the
 * columns {@code logprob_sum}, {@code token_count}, {@code perplexity} and {@code score_error}
 * after the document's own. With {@code --max-perplexity} it is a data-preparation filter:
 * documents above the threshold, and those that could not be scored, go to a rejects table with
 * {@code reasons}, as in curate; every input row lands in exactly one table.
 */
public final class ScoreJob implements Job {
  /** Equal-width bins of the perplexity histogram in the JSON stats. */
  static final int PERPLEXITY_BINS = 10;

  /** Sum of the scored tokens' natural-log probabilities. */
  public static final String LOGPROB_SUM = "logprob_sum";

  /** Tokens scored: the text's tokens but the first (prefix tokens are never scored). */
  public static final String TOKEN_COUNT = "token_count";

  /** exp(-logprob_sum / token_count). */
  public static final String PERPLEXITY = "perplexity";

  /**
   * Why the document could not be scored (not readable, empty, a single token without prefix, too
   * long), else null.
   */
  public static final String SCORE_ERROR = "score_error";

  /** Reject reasons, as in curate's rejects table. */
  public static final String REASONS = Rejects.REASONS;

  /** The reason of a document above {@code --max-perplexity}. */
  public static final String REASON_PERPLEXITY = "max-perplexity";

  /** The reason of a document that could not be scored. */
  public static final String REASON_ERROR = "score_error";

  public static final OptionSpec<String> OUTPUT =
      OptionSpec.path(
          "output",
          null,
          "Delta table of the documents with their scores (with --max-perplexity: the kept documents)");
  public static final OptionSpec<String> REJECTS =
      Rejects.option("With --max-perplexity: Delta table of the rejected documents with reasons");
  public static final OptionSpec<String> PREFIX_COL =
      OptionSpec.string(
          "prefix-col",
          "",
          "String column the text is conditioned on (its tokens are not scored); empty: none");
  public static final OptionSpec<Optional<Double>> MAX_PERPLEXITY =
      OptionSpec.threshold(
          "max-perplexity",
          null,
          1,
          Double.MAX_VALUE,
          "Keep documents whose perplexity is at most this and reject the rest; off: one table, "
              + "nothing rejected");

  private static final String RESULT = "__dbrx_score";

  /** The text the scorer reads: null for a row that could not be read. */
  private static final String SCORED_TEXT = "__dbrx_scored_text";

  private static final List<String> SCORE_COLUMNS =
      List.of(LOGPROB_SUM, TOKEN_COUNT, PERPLEXITY, SCORE_ERROR);

  @Override
  public String name() {
    return "score";
  }

  @Override
  public String description() {
    return "Score every document's log-probability and perplexity with DBRX; with --max-perplexity, keep the "
        + "likely documents and reject the rest with reasons.";
  }

  @Override
  public List<OptionSpec<?>> options() {
    List<OptionSpec<?>> all = new ArrayList<>(ReaderOptions.specs());
    all.addAll(List.of(OUTPUT, REJECTS, PREFIX_COL, MAX_PERPLEXITY));
    all.addAll(ModelOptions.specs());
    return all;
  }

  @Override
  public void validate(ParsedOptions o) {
    ModelOptions.validate(o);
    if (o.get(MAX_PERPLEXITY).isPresent()) {
      Rejects.requireApart(o, OUTPUT, REJECTS);
    }
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions o) {
    long started = System.nanoTime();
    Documents read = DocumentReader.readWithErrors(spark, ReaderOptions.from(o));
    Column readError = col(DocumentReader.READ_ERROR);
    // A line that is not a document is not scored: its read error is its score error.
    Dataset<Row> docs =
        read.rows().withColumn(SCORED_TEXT, when(readError.isNull(), col(Columns.TEXT)));
    List<String> columns =
        Arrays.stream(read.rows().columns())
            .filter(c -> !c.equals(DocumentReader.READ_ERROR))
            .toList();
    for (String c : SCORE_COLUMNS) {
      if (columns.contains(c)) {
        throw new IllegalArgumentException(
            "input already has a column '"
                + c
                + "', which score writes; "
                + "drop or rename it first");
      }
    }
    DbrxScorer scorer =
        ModelOptions.apply(new DbrxScorer(), o).setInputCol(SCORED_TEXT).setOutputCol(RESULT);
    String prefix = o.get(PREFIX_COL);
    if (!prefix.isEmpty()) {
      if (!columns.contains(prefix)) {
        throw new IllegalArgumentException(
            "input has no column '" + prefix + "' (--prefix-col); its columns " + "are " + columns);
      }
      scorer.setPrefixCol(prefix);
    }
    List<Column> out = new ArrayList<>();
    columns.forEach(c -> out.add(Columns.named(c)));
    SCORE_COLUMNS.forEach(
        c ->
            out.add(
                (c.equals(SCORE_ERROR)
                        ? coalesce(readError, col(RESULT + ".error"))
                        : col(RESULT + "." + c))
                    .as(c)));
    Dataset<Row> scored =
        scorer
            .transform(ModelOptions.spread(docs, Columns.ID, o))
            .select(out.toArray(Column[]::new))
            .persist(StorageLevel.MEMORY_AND_DISK());
    try {
      String output = o.get(OUTPUT);
      Optional<Double> max = o.get(MAX_PERPLEXITY);
      String rejects = max.isEmpty() ? "" : Rejects.path(o, OUTPUT, REJECTS);
      try (RunTables tables = RunTables.of(spark, output, rejects)) {
        JobSummary summary = new JobSummary("score " + o.get(ReaderOptions.INPUT));
        long written;
        long rejected = 0;
        if (max.isEmpty()) {
          written = tables.overwrite(scored, output);
        } else {
          Column failed = col(SCORE_ERROR).isNotNull();
          Column over = col(PERPLEXITY).gt(max.get());
          written = tables.overwrite(scored.where(not(failed).and(not(over))), output);
          rejected =
              tables.overwrite(
                  scored
                      .where(failed.or(over))
                      .withColumn(
                          REASONS,
                          when(failed, array(lit(REASON_ERROR)))
                              .otherwise(array(lit(REASON_PERPLEXITY)))),
                  rejects);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        Row totals =
            scored
                .agg(
                    count(lit(1)),
                    count(col(SCORE_ERROR)),
                    sum(col(TOKEN_COUNT)),
                    sum(col(LOGPROB_SUM)))
                .first();
        long input = totals.getLong(0);
        long errors = totals.getLong(1);
        long tokens = totals.isNullAt(2) ? 0 : totals.getLong(2);
        double[] quantiles =
            scored.stat().approxQuantile(PERPLEXITY, new double[] {0.1, 0.5, 0.9}, 0.001);
        summary
            .put("input documents", input)
            .put("duplicate ids", read.duplicateIdSummary())
            .put("scored", input - errors)
            .put("score errors", errors)
            .put("scored tokens", tokens)
            .put("tokens/s", String.format(Locale.ROOT, "%.1f (%.1f s)", tokens / seconds, seconds))
            .put(
                "corpus perplexity",
                tokens == 0
                    ? "n/a"
                    : String.format(Locale.ROOT, "%.4g", Math.exp(-totals.getDouble(3) / tokens)))
            .put(
                "document perplexity p10/p50/p90",
                quantiles.length == 0
                    ? "n/a"
                    : String.format(
                        Locale.ROOT,
                        "%.4g / %.4g / %.4g",
                        quantiles[0],
                        quantiles[1],
                        quantiles[2]));
        Dataset<Row> perplexities = scored.where(col(SCORE_ERROR).isNull());
        Histograms.beforeAfter(
                perplexities,
                max.isEmpty() ? lit(true) : col(PERPLEXITY).leq(max.get()),
                List.of(PERPLEXITY),
                PERPLEXITY_BINS)
            .forEach((signal, h) -> summary.histogram(signal, h.toMap()));
        if (max.isEmpty()) {
          return tables.finish(
              summary.put("output", output).reconcile("input = output rows", input, written));
        }
        long over = DeltaTables.read(spark, rejects).where(col(SCORE_ERROR).isNull()).count();
        return tables.finish(
            summary
                .filter(REASON_PERPLEXITY, input - errors - over, over)
                .put("max perplexity", max.get())
                .put("kept", written)
                .put(
                    "rejected",
                    rejected
                        + " ("
                        + over
                        + " above max-perplexity, "
                        + (rejected - over)
                        + " score errors)")
                .put("output", output)
                .put("rejects output", rejects)
                .reconcile("input = kept + rejected", input, written, rejected)
                .reconcile(
                    "rejected = above max-perplexity + score errors", rejected, over, errors));
      }
    } finally {
      scored.unpersist();
    }
  }
}
