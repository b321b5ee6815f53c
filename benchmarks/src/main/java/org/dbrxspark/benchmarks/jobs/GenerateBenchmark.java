package org.dbrxspark.benchmarks.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.sum;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.benchmarks.Median;
import org.dbrxspark.benchmarks.Usage;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.core.SparkSessions;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.runtime.checkpoint.CheckpointWriter;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.Presets;
import org.dbrxspark.udfs.ml.DbrxGenerator;

/**
 * The generate job end to end against the udfs {@code DbrxGenerator} alone, on the same prompts,
 * settings and partitioning in the same Spark session. The baseline is the transformer plus one
 * Delta write of its output; the job adds reading and checking the input, the anti-join against the
 * output, one Delta commit per chunk and the summary. Not a test: run with {@code bin/bench} (see
 * spark-jobs/README.md, "Benchmarks").
 *
 * <p>Arguments: work folder, preset (written there if missing), rows, max_new_tokens, chunks for
 * the chunked run, repetitions (alternating order; medians are reported).
 */
public final class GenerateBenchmark {
  private static final long SEED = 1;

  public static void main(String[] args) throws Exception {
    if (Usage.printedHelp(
        args,
        "usage: GenerateBenchmark [DIR [PRESET [ROWS [NEW_TOKENS [CHUNKS [REPETITIONS]]]]]]\n"
            + "  defaults: target/generate-bench small 32 32 4 2; the checkpoint is written to"
            + " DIR/checkpoint-PRESET if missing")) {
      return;
    }
    Path work = Path.of(args.length > 0 ? args[0] : "target/generate-bench").toAbsolutePath();
    String preset = args.length > 1 ? args[1] : "small";
    int rows = args.length > 2 ? Integer.parseInt(args[2]) : 32;
    int maxNew = args.length > 3 ? Integer.parseInt(args[3]) : 32;
    int chunks = args.length > 4 ? Integer.parseInt(args[4]) : 4;
    int reps = args.length > 5 ? Integer.parseInt(args[5]) : 2;
    int threads = Runtime.getRuntime().availableProcessors();
    Path checkpoint = work.resolve("checkpoint-" + preset);
    if (!Files.exists(checkpoint)) {
      CheckpointWriter.writeRandom(checkpoint, Presets.named(preset), 1, DType.BF16, 1);
    }
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      lines.add(
          "{\"id\": "
              + i
              + ", \"prompt\": \"Row "
              + i
              + ": write a short note about topic "
              + i
              + " and its long history.\"}");
    }
    // Tables of this invocation only: an existing job output would be resumed, not regenerated.
    Path runs = Files.createTempDirectory(Files.createDirectories(work), "run");
    String prompts = Files.write(runs.resolve("prompts.jsonl"), lines).toString();
    SparkSession spark =
        SparkSession.builder()
            .config(
                SparkSessions.withDelta(
                    new SparkConf()
                        .setMaster("local[" + threads + "]")
                        .setAppName("generate-benchmark")
                        .set("spark.ui.enabled", "false")
                        .set("spark.driver.host", "127.0.0.1")
                        .set("spark.sql.shuffle.partitions", "4")
                        .set("spark.databricks.delta.snapshotPartitions", "2")))
            .getOrCreate();

    // One task runs the whole input with every core, as in the udfs benchmark: the engine sees
    // one batch in the baseline and in the one-chunk run.
    DbrxGenerator generator =
        new DbrxGenerator()
            .setModelLocation(checkpoint.toString())
            .setThreads(threads)
            .setIdCol("id")
            .setSeed(SEED)
            .setTemperature(0.8)
            .setTopK(40)
            .setMaxNewTokens(maxNew)
            .setChunkRows(rows);
    String[] job = {
      "generate",
      "--input",
      prompts,
      "--model",
      checkpoint.toString(),
      "--threads",
      Integer.toString(threads),
      "--seed",
      Long.toString(SEED),
      "--temperature",
      "0.8",
      "--top-k",
      "40",
      "--max-new-tokens",
      Integer.toString(maxNew),
      "--batch-rows",
      Integer.toString(rows),
      "--partitions",
      "1",
      "--output"
    };

    // Warm-up: model load, JIT, Spark's first jobs.
    transformAndWrite(spark, generator, prompts, runs.resolve("warm").toString());
    runJob(spark, job, runs.resolve("warm-job").toString(), rows);

    double[][] seconds = new double[3][reps];
    String[] outputs = new String[3];
    for (int rep = 0; rep < reps; rep++) {
      // A new table per run: the job's normal path, not --overwrite.
      outputs[0] = runs.resolve("baseline-" + rep).toString();
      outputs[1] = runs.resolve("job-1-" + rep).toString();
      outputs[2] = runs.resolve("job-" + chunks + "-" + rep).toString();
      int[] order = rep % 2 == 0 ? new int[] {0, 1, 2} : new int[] {2, 1, 0};
      for (int path : order) {
        long t = System.nanoTime();
        switch (path) {
          case 0 -> transformAndWrite(spark, generator, prompts, outputs[0]);
          case 1 -> runJob(spark, job, outputs[1], rows);
          default -> runJob(spark, job, outputs[2], (rows + chunks - 1) / chunks);
        }
        seconds[path][rep] = (System.nanoTime() - t) / 1e9;
      }
    }
    List<Row> expected = texts(spark, outputs[0]);
    for (int path = 1; path < 3; path++) {
      if (!expected.equals(texts(spark, outputs[path]))) {
        throw new IllegalStateException(outputs[path] + " differs from the transformer's output");
      }
    }
    Row tokens =
        DeltaTables.read(spark, outputs[0])
            .agg(sum("generation.prompt_tokens"), sum("generation.completion_tokens"))
            .first();
    long prompt = tokens.getLong(0);
    long generated = tokens.getLong(1);
    System.out.printf(
        Locale.ROOT,
        "%nruns (s): baseline %s, job 1 chunk %s, job %d chunks %s%n",
        Arrays.toString(seconds[0]),
        Arrays.toString(seconds[1]),
        chunks,
        Arrays.toString(seconds[2]));
    System.out.printf(
        Locale.ROOT,
        "preset %s, %d threads, %d rows x %d new tokens (%d prompt, %d generated "
            + "tokens), median of %d%n",
        preset,
        threads,
        rows,
        maxNew,
        prompt,
        generated,
        reps);
    System.out.println("| path | seconds | generated tokens/s | all tokens/s | vs baseline |");
    System.out.println("|---|---|---|---|---|");
    double base = Median.of(seconds[0]);
    String[] names = {
      "DbrxGenerator.transform + one Delta write",
      "generate job, 1 chunk",
      "generate job, " + chunks + " chunks (--commit-every " + (rows + chunks - 1) / chunks + ")"
    };
    for (int path = 0; path < 3; path++) {
      double s = Median.of(seconds[path]);
      System.out.printf(
          Locale.ROOT,
          "| %s | %.2f | %.1f | %.1f | %.2f |%n",
          names[path],
          s,
          generated / s,
          (generated + prompt) / s,
          base / s);
    }
    spark.stop();
  }

  private static void transformAndWrite(
      SparkSession spark, DbrxGenerator generator, String prompts, String out) {
    Dataset<Row> input = spark.read().json(prompts);
    DeltaTables.overwrite(generator.transform(input.repartition(1, col("id"))), out);
  }

  private static void runJob(SparkSession spark, String[] job, String output, long commitEvery) {
    List<String> args = new ArrayList<>(Arrays.asList(job));
    args.addAll(
        List.of(
            output, "--commit-every", Long.toString(commitEvery), "--progress-interval", "3600"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code =
        new DbrxSparkJobs()
            .run(
                args.toArray(String[]::new),
                new PrintStream(out, true, StandardCharsets.UTF_8),
                System.err,
                o -> spark);
    if (code != 0) {
      throw new IllegalStateException(
          "generate failed (" + code + "):\n" + out.toString(StandardCharsets.UTF_8));
    }
  }

  private static List<Row> texts(SparkSession spark, String table) {
    return DeltaTables.read(spark, table)
        .orderBy("id")
        .select("id", "generation.text")
        .collectAsList();
  }
}
