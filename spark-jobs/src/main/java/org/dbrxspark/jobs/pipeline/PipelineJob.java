package org.dbrxspark.jobs.pipeline;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.cli.OptionSet;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.OptionValues;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.core.Job;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.runtime.checkpoint.CheckpointWriter;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.Presets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole flow in one Spark application, each stage reading the previous stage's Delta table:
 * curate, dedup, mix, tokenize, generate, rag-index, rag-query. On its defaults it runs the bundled
 * sample corpus and prompts with a generated checkpoint, which is the project's quick start.
 */
public final class PipelineJob implements Job {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineJob.class);

  static final OptionSpec<String> WORKDIR =
      OptionSpec.path(
          "workdir",
          "target/quickstart",
          "Folder for every stage's Delta tables (and the generated checkpoint)");
  static final OptionSpec<String> INPUT =
      OptionSpec.path(
          "input",
          "data/sample-corpus/corpus.jsonl.gz",
          "Corpus to prepare (any input the curate job reads)");
  static final OptionSpec<String> PROMPTS =
      OptionSpec.path(
          "prompts",
          "data/sample-prompts/prompts.jsonl",
          "Prompt table (id, prompt) for the generation stage");
  static final OptionSpec<String> MODEL =
      OptionSpec.path(
          "model",
          "",
          "DBRX checkpoint, a Hugging Face folder or a GGUF file; empty: <workdir>/model, written by the runtime's init "
              + "with random weights on the first run");
  static final OptionSpec<String> PRESET =
      OptionSpec.choice(
          "model-preset",
          "small",
          "Size of the generated checkpoint when --model is empty",
          Presets.NAMES.toArray(String[]::new));
  static final OptionSpec<List<String>> WEIGHTS =
      OptionSpec.list(
          "weights",
          "debian-copyright=0.4,debian-changelog=0.2,common-licenses=0.2,messages-de=0.1,messages-fr=0.05,messages-es=0.05",
          "Mix weights per source");
  static final OptionSpec<Long> BUDGET =
      OptionSpec.longValue("budget", "100000", 1, "Mix token budget");
  static final OptionSpec<Integer> SEQ_LEN =
      OptionSpec.integer("seq-len", 2048, 2, "Length of the packed training sequences");
  static final OptionSpec<Integer> MAX_NEW_TOKENS =
      OptionSpec.integer("max-new-tokens", 32, 1, "Tokens to generate per prompt");
  static final OptionSpec<String> QUERY =
      OptionSpec.string(
          "query",
          "What does the Apache License say about patent claims?",
          "Question for the rag-query stage");
  static final OptionSpec<String> STAGES =
      OptionSpec.string(
          "stages",
          String.join(",", Stage.NAMES),
          "Stages to run, in pipeline order (a stage reads the tables of the stages before it)");

  /** The Delta table, under the workdir, that each stage appends its row to as it ends. */
  static final String SUMMARY_TABLE = "pipeline_summary";

  /**
   * One row per stage run: when the pipeline run started (ISO-8601, the same for its stages), the
   * stage's place in that run, its job, wall seconds, whether its counts reconciled, its tables,
   * and its summary as JSON (what {@code --stats-output} writes).
   */
  static final StructType SUMMARY_SCHEMA =
      DataTypes.createStructType(
          List.of(
              DataTypes.createStructField("run_started", DataTypes.StringType, false),
              DataTypes.createStructField("stage", DataTypes.IntegerType, false),
              DataTypes.createStructField("job", DataTypes.StringType, false),
              DataTypes.createStructField("seconds", DataTypes.DoubleType, false),
              DataTypes.createStructField("balanced", DataTypes.BooleanType, false),
              DataTypes.createStructField("output", DataTypes.StringType, false),
              DataTypes.createStructField("stats", DataTypes.StringType, false)));

  private final StageRunner runner;

  /**
   * @param runner runs one registered job with options given as typed values
   */
  public PipelineJob(StageRunner runner) {
    this.runner = runner;
  }

  /**
   * Runs the job named {@code job} in {@code spark} with {@code options} over its section of the
   * pipeline file {@code pipelineFile} (empty: none); returns its summary.
   */
  @FunctionalInterface
  public interface StageRunner {
    JobSummary run(
        SparkSession spark, String job, String pipelineFile, OptionValues options, PrintStream out);
  }

  @Override
  public String name() {
    return "pipeline";
  }

  @Override
  public String description() {
    return "Runs curate, dedup, mix, tokenize, generate, rag-index and rag-query in one Spark application, "
        + "each stage reading the Delta table of the one before, and prints what each did. On its defaults "
        + "it prepares the bundled sample corpus and generates with a small checkpoint of random weights "
        + "(its text is noise); --model points it at a real DBRX checkpoint. Other options of a stage come "
        + "from --config FILE, in a section named after the stage; the file's top level holds the "
        + "pipeline's own options.";
  }

  @Override
  public List<OptionSpec<?>> options() {
    return List.of(
        WORKDIR,
        INPUT,
        PROMPTS,
        MODEL,
        PRESET,
        WEIGHTS,
        BUDGET,
        SEQ_LEN,
        MAX_NEW_TOKENS,
        QUERY,
        STAGES);
  }

  @Override
  public void validate(ParsedOptions options) {
    Stage.parse(options.get(STAGES));
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions options) {
    return run(spark, options, System.out);
  }

  /** Runs the stages, printing each stage's summary (and rag-query's hits) to {@code out}. */
  @Override
  public JobSummary run(SparkSession spark, ParsedOptions options, PrintStream out) {
    Path workdir = Path.of(options.get(WORKDIR)).toAbsolutePath();
    List<Stage> stages = Stage.parse(options.get(STAGES));
    Tables tables = new Tables(workdir);
    String model = stages.stream().anyMatch(Stage::needsModel) ? model(options, workdir) : "";

    JobSummary summary = new JobSummary("pipeline: " + stages.size() + " stages in " + workdir);
    String started = Instant.now().toString();
    String summaryTable = tables.at(SUMMARY_TABLE);
    int unbalanced = 0;
    for (Stage stage : stages) {
      OptionValues given = stage.options(tables, options, model);
      LOG.info(
          "pipeline: stage {} of {}: {} {}",
          stages.indexOf(stage) + 1,
          stages.size(),
          stage.job(),
          given);
      long start = System.nanoTime();
      JobSummary result;
      try {
        result = runner.run(spark, stage.job(), options.get(OptionSet.CONFIG), given, out);
      } catch (Exception e) { // SparkException is checked, and Scala code throws it undeclared
        throw new IllegalStateException(
            "pipeline: stage "
                + stage.job()
                + " failed; the stages before it have "
                + "written their tables, so once its cause is fixed, go on with --stages "
                + String.join(
                    ",",
                    stages.subList(stages.indexOf(stage), stages.size()).stream()
                        .map(Stage::job)
                        .toList()),
            e);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      out.print(result);
      unbalanced += result.balanced() ? 0 : 1;
      summary.put(
          stage.job(), String.format(Locale.ROOT, "%6.1f s  %s", seconds, stage.output(tables)));
      summary.part(stage.job(), result);
      Row row =
          RowFactory.create(
              started,
              stages.indexOf(stage) + 1,
              stage.job(),
              seconds,
              result.balanced(),
              stage.output(tables),
              result.toJson());
      // Appended as each stage ends, so a run that fails later still records the stages it ran.
      DeltaTables.append(spark.createDataFrame(List.of(row), SUMMARY_SCHEMA), summaryTable);
    }
    summary.put("model", model.isEmpty() ? "(not used)" : model);
    summary.put("summary table", summaryTable);
    summary.reconcile(
        "stages = stages whose counts reconcile", stages.size(), stages.size() - unbalanced);
    return summary;
  }

  /** The checkpoint to use: --model, else a generated one cached under the workdir. */
  private static String model(ParsedOptions options, Path workdir) {
    if (!options.get(MODEL).isEmpty()) {
      return options.get(MODEL);
    }
    Path dir = workdir.resolve("model-" + options.get(PRESET));
    if (!Files.exists(dir)) {
      LOG.info(
          "pipeline: writing a random '{}' DBRX checkpoint to {} (once; later runs reuse it)",
          options.get(PRESET),
          dir);
      try {
        CheckpointWriter.writeRandom(dir, Presets.named(options.get(PRESET)), 0L, DType.BF16, 1);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the checkpoint to " + dir, e);
      }
    }
    return dir.toString();
  }

  /** Where each stage writes, under the workdir. */
  record Tables(Path workdir) {
    String at(String name) {
      return workdir.resolve(name).toString();
    }
  }

  /** Raised for a --stages list that names an unknown stage or breaks the order. */
  static UsageException badStages(String why) {
    return new UsageException(
        "--stages: " + why + " (stages: " + String.join(",", Stage.NAMES) + ")");
  }
}
