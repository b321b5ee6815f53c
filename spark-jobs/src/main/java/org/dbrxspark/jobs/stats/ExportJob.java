package org.dbrxspark.jobs.stats;

import static org.apache.spark.sql.functions.col;

import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.core.Job;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DeltaTables;

/**
 * {@code export}: writes a Delta table out as JSON lines or Parquet files, sorted by id when it has
 * one.
 */
public final class ExportJob implements Job {
  public static final OptionSpec<String> INPUT =
      OptionSpec.path("input", null, "Delta table to export");
  public static final OptionSpec<String> OUTPUT =
      OptionSpec.path("output", null, "Folder to write (replaced if it exists)");
  public static final OptionSpec<String> FORMAT =
      OptionSpec.choice("format", "jsonl", "Output format", "jsonl", "parquet");
  public static final OptionSpec<String> COMPRESSION =
      OptionSpec.choice(
          "compression",
          "default",
          "Codec: default is gzip for jsonl and snappy for parquet",
          "default",
          "none",
          "gzip",
          "snappy",
          "zstd");
  public static final OptionSpec<Integer> FILES =
      OptionSpec.integer("files", 0, 0, "Number of output files; 0 lets Spark decide");

  @Override
  public String name() {
    return "export";
  }

  @Override
  public String description() {
    return "Export a Delta table as JSON lines or Parquet.";
  }

  @Override
  public List<OptionSpec<?>> options() {
    return List.of(INPUT, OUTPUT, FORMAT, COMPRESSION, FILES);
  }

  @Override
  public void validate(ParsedOptions o) {
    if (o.get(FORMAT).equals("jsonl") && List.of("snappy", "zstd").contains(o.get(COMPRESSION))) {
      throw new UsageException(
          "--compression " + o.get(COMPRESSION) + " is for parquet; jsonl takes gzip or none");
    }
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions o) {
    String input = o.get(INPUT);
    if (!DeltaTables.exists(spark, input)) {
      throw new IllegalArgumentException("not a Delta table: " + input);
    }
    Dataset<Row> table = DeltaTables.read(spark, input);
    if (Arrays.asList(table.columns()).contains(Columns.ID)) {
      table = table.orderBy(col(Columns.ID));
    }
    if (o.get(FILES) > 0) {
      table = table.coalesce(o.get(FILES));
    }
    boolean json = o.get(FORMAT).equals("jsonl");
    String codec =
        switch (o.get(COMPRESSION)) {
          case "default" -> json ? "gzip" : "snappy";
          default -> o.get(COMPRESSION);
        };
    String output = o.get(OUTPUT);
    var writer = table.write().mode("overwrite").option("compression", codec);
    if (json) {
      writer.json(output);
    } else {
      writer.parquet(output);
    }
    long in = DeltaTables.read(spark, input).count();
    long out = (json ? spark.read().json(output) : spark.read().parquet(output)).count();
    return new JobSummary("export " + input)
        .put("rows", in)
        .put("output", output + " (" + o.get(FORMAT) + ", " + codec + ")")
        .put("rows written", out)
        .reconcile("input rows = rows written", in, out);
  }
}
