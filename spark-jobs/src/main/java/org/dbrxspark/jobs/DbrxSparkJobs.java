package org.dbrxspark.jobs;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.IntConsumer;
import org.apache.commons.lang3.exception.ExceptionUtils;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.cli.OptionSet;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.OptionValues;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.core.Job;
import org.dbrxspark.jobs.core.JobResult;
import org.dbrxspark.jobs.core.JobRun;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.core.ProgressReporter;
import org.dbrxspark.jobs.core.SparkSessions;
import org.dbrxspark.jobs.curate.CurateJob;
import org.dbrxspark.jobs.decontam.DecontaminateJob;
import org.dbrxspark.jobs.dedup.DedupJob;
import org.dbrxspark.jobs.generate.GenerateJob;
import org.dbrxspark.jobs.mix.MixJob;
import org.dbrxspark.jobs.pipeline.PipelineJob;
import org.dbrxspark.jobs.rag.RagIndexJob;
import org.dbrxspark.jobs.rag.RagQueryJob;
import org.dbrxspark.jobs.score.ScoreJob;
import org.dbrxspark.jobs.stats.ExportJob;
import org.dbrxspark.jobs.stats.StatsJob;
import org.dbrxspark.jobs.tokenize.TokenizeJob;
import org.dbrxspark.runtime.cli.CliConventions;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The one entry point for every job: {@code JOB --option value ...}. Used by {@code bin/dbrx-spark}
 * (local Spark) and by {@code spark-submit --class} on a cluster.
 */
public final class DbrxSparkJobs {
  /** Spark master; default local[*] unless spark-submit set one. */
  public static final OptionSpec<String> MASTER =
      OptionSpec.string(
          "master", "", "Spark master URL; default: the one spark-submit set, else local[*]");

  /** Shuffle partitions for the job's SparkSession. */
  public static final OptionSpec<Integer> SHUFFLE_PARTITIONS =
      OptionSpec.integer(
          "shuffle-partitions",
          0,
          0,
          "spark.sql.shuffle.partitions for this run; 0: Spark's setting, or 2 x cores on a local master");

  /** Seconds between progress lines. */
  public static final OptionSpec<Integer> PROGRESS_INTERVAL =
      OptionSpec.integer("progress-interval", 10, 1, "Seconds between progress log lines");

  private static final List<OptionSpec<?>> COMMON =
      List.of(MASTER, SHUFFLE_PARTITIONS, PROGRESS_INTERVAL, JobSummary.STATS_OUTPUT);

  private final Map<String, Job> jobs = new LinkedHashMap<>();

  /** The entry point with every job registered. */
  public DbrxSparkJobs() {
    for (Job job :
        List.of(
            new CurateJob(),
            new DedupJob(),
            new DecontaminateJob(),
            new MixJob(),
            new TokenizeJob(),
            new GenerateJob(),
            new ScoreJob(),
            new RagIndexJob(),
            new RagQueryJob(),
            new ExportJob(),
            new StatsJob(),
            new PipelineJob(this::runStage))) {
      jobs.put(job.name(), job);
    }
  }

  /**
   * The launcher's entry point ({@code bin/dbrx-spark}, {@code spark-submit --class}, a Databricks
   * JAR task): runs the job and ends with its exit code, the one place that does ({@link #end}).
   */
  public static void main(String[] args) {
    int code;
    try {
      code =
          new DbrxSparkJobs()
              .run(
                  args,
                  System.out,
                  System.err,
                  o -> SparkSessions.create(args[0], o.get(MASTER), o.get(SHUFFLE_PARTITIONS)));
    } catch (Exception | Error e) {
      // Exception, not RuntimeException: Scala throws SparkException (checked in Java) undeclared,
      // and it escaped here, past end(), with a stack trace as its only word.
      e.printStackTrace();
      System.err.println(failure(args.length == 0 ? "" : args[0], e));
      code = CliConventions.FAILED;
    }
    end(code, args.length == 0 ? "" : args[0], System.getenv(), System::exit);
  }

  /**
   * The last line a failed run prints, under its stack trace: what failed and the first cause, e.g.
   * the file Spark could not read and why ({@code EOFException: Unexpected end of input stream}: a
   * truncated gzip).
   */
  static String failure(String job, Throwable e) {
    // Causes can form a cycle (initCause refuses only the exception itself): ExceptionUtils stops
    // at the first repeat.
    Throwable root = ExceptionUtils.getRootCause(e);
    String line = "dbrx-spark " + job + " failed: " + firstLine(e);
    return root == e
        ? line
        : line + " (" + root.getClass().getSimpleName() + ": " + firstLine(root) + ")";
  }

  private static String firstLine(Throwable e) {
    String message = e.getMessage();
    return message == null ? e.getClass().getSimpleName() : message.lines().findFirst().orElse("");
  }

  /** The environment variable every Databricks Runtime cluster sets. */
  static final String DATABRICKS_RUNTIME = "DATABRICKS_RUNTIME_VERSION";

  /**
   * Ends a run of {@link #main} with exit code {@code code}. Elsewhere the JVM exits with it:
   * Spark's non-daemon threads would otherwise keep a failed job alive. A Databricks JAR task runs
   * in the cluster's driver JVM, where {@code System.exit} takes the driver down with it; there a
   * run that succeeded returns, and one that failed throws, which is how Databricks marks a task
   * failed.
   */
  static void end(int code, String job, Map<String, String> environment, IntConsumer exit) {
    if (!environment.containsKey(DATABRICKS_RUNTIME)) {
      exit.accept(code);
    } else if (code != CliConventions.DONE) {
      throw new IllegalStateException(
          "dbrx-spark " + job + " failed with exit code " + code + "; the reason is printed above");
    }
  }

  /**
   * Runs {@code args} ({@code JOB --option value ...}) and returns the exit code: 0 done, 1 the job
   * failed or its counts did not reconcile, 2 a usage error (message on {@code err}).
   *
   * @param sessions makes the SparkSession once the options are valid
   */
  public int run(
      String[] args,
      PrintStream out,
      PrintStream err,
      Function<ParsedOptions, SparkSession> sessions) {
    return call(args, out, err, sessions).exitCode();
  }

  /**
   * Runs one job on {@code spark} as a library call, e.g. from a notebook: {@code run(spark,
   * "curate", "--input", in, "--output", out)}. Nothing exits; the result holds the exit code and
   * the job's summary with its counts. The summary and any usage error are printed as on the
   * command line.
   */
  public JobResult run(SparkSession spark, String... args) {
    return call(args, System.out, System.err, options -> spark);
  }

  /**
   * Runs {@code args} ({@code JOB --option value ...}), printing what the command line prints, and
   * returns how it ended.
   *
   * @param sessions makes the SparkSession once the options are valid
   */
  public JobResult call(
      String[] args,
      PrintStream out,
      PrintStream err,
      Function<ParsedOptions, SparkSession> sessions) {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
      out.print(usage());
      return args.length == 0 ? JobResult.usage("no job given") : JobResult.printedOnly();
    }
    if (args[0].equals(CliConventions.COMPLETION)) {
      out.print(CliConventions.completionScript(root()));
      return JobResult.printedOnly();
    }
    Job job = jobs.get(args[0]);
    if (job == null) {
      err.println("unknown job '" + args[0] + "'\n");
      err.print(usage());
      return JobResult.usage("unknown job '" + args[0] + "'");
    }
    OptionSet optionSet = optionSet(job);
    ParsedOptions options;
    try {
      String[] rest = new String[args.length - 1];
      System.arraycopy(args, 1, rest, 0, rest.length);
      options = optionSet.parse(rest);
      if (options.helpRequested()) {
        out.print(optionSet.help(job.description()));
        return JobResult.printedOnly();
      }
      job.validate(options);
    } catch (UsageException e) {
      err.println("dbrx-spark " + job.name() + ": " + e.getMessage());
      return JobResult.usage(e.getMessage());
    }
    SparkSession spark = sessions.apply(options);
    JobSummary summary;
    try (ProgressReporter ignored =
        ProgressReporter.start(spark, job.name(), options.get(PROGRESS_INTERVAL))) {
      summary = JobRun.execute(job, spark, options, out);
    } catch (UsageException | IllegalArgumentException e) {
      err.println("dbrx-spark " + job.name() + ": " + e.getMessage());
      return JobResult.usage(e.getMessage());
    }
    (job.printsResults(options) ? err : out).print(summary);
    return JobResult.of(summary);
  }

  /**
   * Runs a registered job in an existing session with options composed in code: a stage of the
   * pipeline. Its options are checked and validated as on the command line.
   */
  private JobSummary runStage(
      SparkSession spark, String name, String pipelineFile, OptionValues given, PrintStream out) {
    Job job = jobs.get(name);
    ParsedOptions options = optionSet(job).compose(pipelineFile, given);
    job.validate(options);
    return JobRun.execute(job, spark, options, out);
  }

  /** The option set (common options plus the job's) that {@code --help} and parsing use. */
  public OptionSet optionSet(Job job) {
    List<OptionSpec<?>> all = new ArrayList<>(COMMON);
    all.addAll(job.options());
    return new OptionSet(job.name(), all);
  }

  /** The registered jobs by name. */
  public Map<String, Job> jobs() {
    return jobs;
  }

  /** Every job under {@code dbrx-spark}: the job list, and what shell completion offers. */
  private CommandSpec root() {
    CommandSpec root =
        CliConventions.command(
            "dbrx-spark", "Runs a dbrx-spark job on Spark: dbrx-spark JOB --option value ...");
    root.usageMessage()
        .synopsisSubcommandLabel("JOB")
        .commandListHeading("%nJobs:%n")
        .footer("%nRun 'dbrx-spark JOB --help' for its options.");
    for (Job job : jobs.values()) {
      CommandSpec spec = optionSet(job).commandSpec();
      spec.usageMessage().header(firstSentence(job.description()));
      root.addSubcommand(job.name(), spec);
    }
    root.addSubcommand(
        CliConventions.COMPLETION,
        CliConventions.command(
            CliConventions.COMPLETION,
            "Print the bash completion script: source <(bin/dbrx-spark completion)"));
    return root;
  }

  private String usage() {
    return CliConventions.help(root());
  }

  private static String firstSentence(String text) {
    int dot = text.indexOf(". ");
    return dot < 0 ? text : text.substring(0, dot + 1);
  }
}
