package org.dbrxspark.benchmarks.udfs;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.benchmarks.Median;
import org.dbrxspark.benchmarks.Usage;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.checkpoint.CheckpointWriter;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.Presets;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.GenerationResult;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.udfs.device.DeviceSelection;
import org.dbrxspark.udfs.inference.Seeds;
import org.dbrxspark.udfs.ml.DbrxGenerator;
import org.dbrxspark.udfs.registry.LoadedModel;
import org.dbrxspark.udfs.registry.ModelRegistry;
import org.dbrxspark.udfs.registry.ModelSpec;
import org.dbrxspark.udfs.sql.DbrxFunctions;

/**
 * DbrxGenerator and the batched SQL function {@code dbrx_generate} in local Spark, against the
 * runtime's engine called directly, on the same prompts, seeds and batch. Not a test: run with
 * {@code bin/bench} (see BENCHMARKS.md).
 *
 * <p>Arguments: checkpoint folder (written with the {@code bench} preset if missing), rows,
 * max_new_tokens, repetitions (each in a rotated order; medians are reported).
 */
public final class GeneratorBenchmark {
  private static final long SEED = 1;
  private static final double TEMPERATURE = 0.8;
  private static final int TOP_K = 40;

  public static void main(String[] args) throws Exception {
    if (Usage.printedHelp(
        args,
        "usage: GeneratorBenchmark [CHECKPOINT [ROWS [NEW_TOKENS [REPETITIONS]]]]\n"
            + "  defaults: target/bench-checkpoint 32 32 2; the checkpoint (bench preset) is"
            + " written if missing")) {
      return;
    }
    Path checkpoint = Path.of(args.length > 0 ? args[0] : "target/bench-checkpoint");
    int rows = args.length > 1 ? Integer.parseInt(args[1]) : 32;
    int maxNew = args.length > 2 ? Integer.parseInt(args[2]) : 32;
    int reps = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    int threads = Runtime.getRuntime().availableProcessors();
    if (!Files.exists(checkpoint)) {
      long t = System.nanoTime();
      CheckpointWriter.writeRandom(checkpoint, Presets.named("bench"), 1, DType.BF16, 4);
      System.out.printf("wrote the bench checkpoint in %.1f s%n", (System.nanoTime() - t) / 1e9);
    }
    EngineOptions engine = EngineOptions.defaults();
    ModelSpec spec =
        new ModelSpec(
            checkpoint.toAbsolutePath().toString(),
            threads,
            engine.maxBatchTokens(),
            engine.maxSequences());
    SparkSession spark =
        SparkSession.builder()
            .master("local[" + threads + "]")
            .appName("udfs-benchmark")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .getOrCreate();

    List<Row> data = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      data.add(
          RowFactory.create(
              (long) i,
              "Row " + i + ": write a short note about topic " + i + " and its long history."));
    }
    Dataset<Row> prompts =
        spark
            .createDataFrame(
                data,
                new StructType().add("id", DataTypes.LongType).add("prompt", DataTypes.StringType))
            .coalesce(1)
            .cache();
    prompts.count();

    // The Spark path and the direct path share the registry's runtime: one load, same weights.
    try (LoadedModel model = ModelRegistry.acquire(spec, DeviceSelection.cpu())) {
      DbrxRuntime runtime = model.runtime();
      List<GenerationRequest> requests = new ArrayList<>();
      for (Row r : data) {
        SamplingParams params =
            SamplingParams.builder()
                .temperature(TEMPERATURE)
                .topK(TOP_K)
                .maxNewTokens(maxNew)
                .seed(Seeds.forRow(r.getString(1), SEED))
                .build(); // the row id of a row without idCol: its prompt
        requests.add(new GenerationRequest(runtime.tokenizer().encode(r.getString(1)), params));
      }
      DbrxGenerator generator =
          new DbrxGenerator()
              .setModelLocation(spec.location())
              .setThreads(threads)
              .setSeed(SEED)
              .setTemperature(TEMPERATURE)
              .setTopK(TOP_K)
              .setMaxNewTokens(maxNew)
              .setChunkRows(rows);

      DbrxFunctions.register(
          spark, DbrxFunctions.Options.of(spec.location()).withModel(spec).withSeed(SEED));
      prompts.createOrReplaceTempView("bench_prompts");
      String sql =
          String.format(
              Locale.ROOT,
              "SELECT id, prompt, dbrx_generate(prompt,"
                  + " '{\"max_new_tokens\": %d, \"temperature\": %s, \"top_k\": %d}') AS g FROM bench_prompts",
              maxNew,
              TEMPERATURE,
              TOP_K);

      // Warm-up of every path (JIT, Spark's first jobs).
      runtime.engine().generate(requests.subList(0, Math.min(4, rows)));
      generator.transform(prompts.limit(4)).collectAsList();
      spark.sql(sql + " LIMIT 4").collectAsList();

      // Each repetition rotates the order, so that drift on a noisy machine (JIT, heap, neighbours)
      // hits every path alike.
      double[][] times = new double[3][reps];
      List<GenerationResult> expected = null;
      List<Row> transformed = null;
      List<Row> selected = null;
      for (int rep = 0; rep < reps; rep++) {
        for (int k = 0; k < 3; k++) {
          int path = (rep + k) % 3;
          long t = System.nanoTime();
          switch (path) {
            case 0 -> expected = runtime.engine().generate(requests);
            case 1 -> transformed = generator.transform(prompts).collectAsList();
            default -> selected = spark.sql(sql).collectAsList();
          }
          times[path][rep] = (System.nanoTime() - t) / 1e9;
        }
      }
      long promptTokens = 0;
      long generated = 0;
      for (int i = 0; i < rows; i++) {
        String text = expected.get(i).text();
        if (!text.equals(transformed.get(i).getStruct(2).getAs("text"))
            || !text.equals(selected.get(i).getStruct(2).getAs("text"))) {
          throw new IllegalStateException("row " + i + " differs between the paths");
        }
        promptTokens += expected.get(i).promptTokens();
        generated += expected.get(i).completionTokens();
      }
      double direct = Median.of(times[0]);
      double transformer = Median.of(times[1]);
      double function = Median.of(times[2]);

      System.out.printf(
          Locale.ROOT,
          "%nruns (s): direct %s, DbrxGenerator %s, dbrx_generate %s%n",
          Arrays.toString(times[0]),
          Arrays.toString(times[1]),
          Arrays.toString(times[2]));
      System.out.printf(
          Locale.ROOT,
          "checkpoint %s (preset bench), %d threads, %d rows x %d new tokens (%d prompt, %d generated tokens), median of %d%n",
          checkpoint,
          threads,
          rows,
          maxNew,
          promptTokens,
          generated,
          reps);
      System.out.println("| path | rows | seconds | rows/s | generated tokens/s | all tokens/s |");
      System.out.println("|---|---|---|---|---|---|");
      line("runtime engine, direct", rows, direct, generated, promptTokens);
      line("DbrxGenerator, local Spark, 1 partition", rows, transformer, generated, promptTokens);
      line("dbrx_generate SQL, batched, 1 partition", rows, function, generated, promptTokens);
      System.out.printf(
          Locale.ROOT,
          "Spark overhead: %.1f%%; SQL function / transformer rows/s: %.2fx%n",
          100 * (transformer - direct) / direct,
          transformer / function);
    }
    spark.stop();
  }

  private static void line(String path, int rows, double seconds, long generated, long prompt) {
    System.out.printf(
        Locale.ROOT,
        "| %s | %d | %.2f | %.2f | %.1f | %.1f |%n",
        path,
        rows,
        seconds,
        rows / seconds,
        generated / seconds,
        (generated + prompt) / seconds);
  }
}
