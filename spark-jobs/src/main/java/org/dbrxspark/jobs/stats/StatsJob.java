package org.dbrxspark.jobs.stats;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.length;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.core.Histograms;
import org.dbrxspark.jobs.core.Job;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DeltaTables;

/**
 * {@code stats}: documents, characters, tokens (when the table has a token-count column),
 * per-source counts, and the language and filter-reason histograms when those columns exist.
 */
public final class StatsJob implements Job {
  public static final OptionSpec<String> INPUT =
      OptionSpec.path("input", null, "Delta table to describe");
  public static final OptionSpec<String> TOKENS_COL =
      OptionSpec.string(
          "tokens-col",
          "num_tokens",
          "Column with per-document token counts; tokens are reported only when it exists");
  public static final OptionSpec<Integer> TOP =
      OptionSpec.integer("top", 10, 1, "Entries shown per histogram");

  @Override
  public String name() {
    return "stats";
  }

  @Override
  public String description() {
    return "Describe any Delta table: documents, characters, tokens, per-source counts, languages and reject "
        + "reasons.";
  }

  @Override
  public List<OptionSpec<?>> options() {
    return List.of(INPUT, TOKENS_COL, TOP);
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions options) {
    String input = options.get(INPUT);
    if (!DeltaTables.exists(spark, input)) {
      throw new IllegalArgumentException("not a Delta table: " + input);
    }
    Dataset<Row> table = DeltaTables.read(spark, input);
    List<String> columns = Arrays.asList(table.columns());
    int top = options.get(TOP);
    long docs = table.count();
    JobSummary summary = new JobSummary("stats " + input).put("documents", docs);
    if (columns.contains(Columns.TEXT)) {
      Row r = table.agg(sum(length(col(Columns.TEXT)))).first();
      summary.put("characters", r.isNullAt(0) ? 0L : r.getLong(0));
    }
    String tokens = options.get(TOKENS_COL);
    if (columns.contains(tokens)) {
      Row r = table.agg(sum(col(tokens).cast("long"))).first();
      summary.put("tokens", r.isNullAt(0) ? 0L : r.getLong(0));
    }
    if (columns.contains(Columns.SOURCE)) {
      Map<String, Long> perSource =
          Histograms.counts(table, col(Columns.SOURCE), Integer.MAX_VALUE);
      long sources = perSource.size();
      summary.put("sources", sources);
      StringBuilder shown = new StringBuilder();
      perSource.entrySet().stream()
          .limit(top)
          .forEach(
              e ->
                  shown
                      .append(shown.length() == 0 ? "" : ", ")
                      .append(e.getKey())
                      .append('=')
                      .append(e.getValue()));
      summary.put("documents per source", shown + (sources > top ? ", ..." : ""));
      summary.reconcile(
          "documents = sum over sources",
          docs,
          perSource.values().stream().mapToLong(Long::longValue).toArray());
    }
    if (columns.contains("lang")) {
      summary.put("languages", Histograms.counts(table, col("lang"), top));
    }
    if (columns.contains("reasons")) {
      summary.put("reject reasons", Histograms.counts(table, explode(col("reasons")), top));
      summary.put(
          "rows with a reason",
          table.where("size(reasons) > 0").agg(count(lit(1))).first().getLong(0));
    }
    return summary;
  }
}
