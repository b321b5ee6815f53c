package org.dbrxspark.jobs.core;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.when;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.jobs.io.DocumentReader;

/**
 * The rows a filtering job (curate, dedup, tokenize, score) does not keep: each carries the reasons
 * it was rejected in {@link #REASONS}, and they go to a rejects table, beside the output unless the
 * user names one with {@code --rejects-output}.
 */
public final class Rejects {
  /** The column of reasons (array of strings): empty for a kept row. */
  public static final String REASONS = "reasons";

  private Rejects() {}

  /** {@code --rejects-output}, described by what the job's rejects table holds. */
  public static OptionSpec<String> option(String contents) {
    return OptionSpec.path("rejects-output", "", contents + "; default: <output>_rejects");
  }

  /** The rejects table: the option's value, or {@code <output>_rejects}. */
  public static String path(
      ParsedOptions o, OptionSpec<String> output, OptionSpec<String> rejects) {
    String r = o.get(rejects);
    return r.isBlank() ? DeltaTables.sibling(o.get(output), "_rejects") : r;
  }

  /**
   * @throws UsageException when the output and the rejects would be the same table
   */
  public static void requireApart(
      ParsedOptions o, OptionSpec<String> output, OptionSpec<String> rejects) {
    if (o.get(output).equals(path(o, output, rejects))) {
      throw new UsageException("--" + output.name() + " and --" + rejects.name() + " must differ");
    }
  }

  /**
   * Why a row of {@link DocumentReader#readWithErrors} is not a document: its read error, or {@code
   * null-text} when it has no text (as a document it would equal every other empty one); null for a
   * document.
   */
  public static Column notADocument() {
    Column error = col(DocumentReader.READ_ERROR);
    return when(error.isNotNull(), error).when(col(Columns.TEXT).isNull(), lit("null-text"));
  }

  /**
   * The documents among rows read by {@link DocumentReader#readWithErrors}, without their error.
   */
  public static Dataset<Row> documents(Dataset<Row> rows) {
    return rows.where(notADocument().isNull()).drop(DocumentReader.READ_ERROR);
  }

  /**
   * The rows read by {@link DocumentReader#readWithErrors} that are not documents, each with its
   * reason in {@link #REASONS}.
   */
  public static Dataset<Row> notDocuments(Dataset<Row> rows) {
    Column reason = notADocument();
    return rows.where(reason.isNotNull())
        .withColumn(REASONS, array(reason))
        .drop(DocumentReader.READ_ERROR);
  }

  /** True for a row with no reason to reject it. */
  public static Column kept() {
    return size(col(REASONS)).equalTo(0);
  }

  /** True for a row with a reason to reject it. */
  public static Column rejected() {
    return size(col(REASONS)).gt(0);
  }
}
