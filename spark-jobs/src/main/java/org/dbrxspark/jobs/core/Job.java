package org.dbrxspark.jobs.core;

import java.io.PrintStream;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;

/** A named job run as {@code dbrx-spark NAME --option value ...}. */
public interface Job {
  /** The command-line name, e.g. {@code curate}. */
  String name();

  /** One paragraph for {@code --help}. */
  String description();

  /** The job's own options; the entry point adds the common ones. */
  List<OptionSpec<?>> options();

  /**
   * Cross-option checks that must pass before any Spark work starts.
   *
   * @throws UsageException when the combination cannot run
   */
  default void validate(ParsedOptions options) {}

  /** Runs the job and returns its end-of-run summary. */
  JobSummary run(SparkSession spark, ParsedOptions options);

  /**
   * Runs the job; a job whose results are printed (rag-query's hits) writes them to {@code out}.
   */
  default JobSummary run(SparkSession spark, ParsedOptions options, PrintStream out) {
    return run(spark, options);
  }

  /**
   * Whether this run prints its results on standard output; the summary then goes to standard
   * error.
   */
  default boolean printsResults(ParsedOptions options) {
    return false;
  }
}
