package org.dbrxspark.jobs.core;

import java.io.PrintStream;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.cli.ParsedOptions;

/**
 * What every run of a job gets, whether the entry point or the pipeline starts it: its wall time in
 * the summary, and the summary written as JSON to {@link JobSummary#STATS_OUTPUT} when one is
 * named.
 */
public final class JobRun {
  private JobRun() {}

  /** Runs {@code job}, times it and writes its stats; returns its summary. */
  public static JobSummary execute(
      Job job, SparkSession spark, ParsedOptions options, PrintStream out) {
    long start = System.nanoTime();
    JobSummary summary = job.run(spark, options, out);
    summary.timing("wall", (System.nanoTime() - start) / 1e9);
    summary.writeJson(options.get(JobSummary.STATS_OUTPUT));
    return summary;
  }
}
