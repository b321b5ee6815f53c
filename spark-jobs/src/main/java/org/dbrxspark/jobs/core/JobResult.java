package org.dbrxspark.jobs.core;

import org.dbrxspark.runtime.cli.CliConventions;

/**
 * How one run of a job ended, for a caller that runs jobs as a library: the exit code the command
 * line would end with ({@link CliConventions}: 0 done, 1 failed or counts did not reconcile, 2 a
 * usage error), the job's summary when it ran, and the usage error's message when it did not.
 *
 * @param summary the end-of-run report with the job's counts; null when the job did not run
 * @param usageError what was wrong with the options; null unless {@code exitCode} is 2
 */
public record JobResult(int exitCode, JobSummary summary, String usageError) {
  /** A run that ended with {@code summary}: done when its counts reconcile, failed otherwise. */
  public static JobResult of(JobSummary summary) {
    return new JobResult(
        summary.balanced() ? CliConventions.DONE : CliConventions.FAILED, summary, null);
  }

  /** Help or a completion script was printed; no job ran. */
  public static JobResult printedOnly() {
    return new JobResult(CliConventions.DONE, null, null);
  }

  /** A run stopped before it started: the options cannot run. */
  public static JobResult usage(String message) {
    return new JobResult(CliConventions.USAGE, null, message);
  }

  /** Whether the job ran and every reconciliation check held. */
  public boolean succeeded() {
    return exitCode == CliConventions.DONE;
  }
}
