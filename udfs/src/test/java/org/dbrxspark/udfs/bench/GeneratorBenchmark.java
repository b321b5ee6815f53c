package org.dbrxspark.udfs.bench;

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
 * DbrxGenerator in local Spark against the runtime's engine called directly on the same prompts,
 * seeds and batch, plus the row-at-a-time SQL function. Not a test: run with {@code java} (see
 * udfs/BENCHMARKS.md).
 *
 * <p>Arguments: checkpoint folder (written with the {@code bench} preset if missing), rows,
 * max_new_tokens, rows for the SQL function, repetitions (in alternating order; medians are reported).
 */
public final class GeneratorBenchmark {
  private static final long SEED = 1;
  private static final double TEMPERATURE = 0.8;
  private static final int TOP_K = 40;

  public static void main(String[] args) throws Exception {
    Path checkpoint = Path.of(args.length > 0 ? args[0] : "target/bench-checkpoint");
    int rows = args.length > 1 ? Integer.parseInt(args[1]) : 32;
    int maxNew = args.length > 2 ? Integer.parseInt(args[2]) : 32;
    int sqlRows = args.length > 3 ? Integer.parseInt(args[3]) : 8;
    int reps = args.length > 4 ? Integer.parseInt(args[4]) : 2;
    int threads = Runtime.getRuntime().availableProcessors();
    if (!Files.exists(checkpoint)) {
      long t = System.nanoTime();
      CheckpointWriter.writeRandom(checkpoint, Presets.named("bench"), 1, DType.BF16, 4);
      System.out.printf("wrote the bench checkpoint in %.1f s%n", (System.nanoTime() - t) / 1e9);
    }
    EngineOptions engine = EngineOptions.defaults();
    ModelSpec spec = new ModelSpec(checkpoint.toAbsolutePath().toString(), threads, engine.maxBatchTokens(),
        engine.maxSequences());
    SparkSession spark = SparkSession.builder().master("local[" + threads + "]").appName("udfs-benchmark")
        .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").getOrCreate();

    List<Row> data = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      data.add(RowFactory.create((long) i, "Row " + i + ": write a short note about topic " + i + " and its long history."));
    }
    Dataset<Row> prompts = spark.createDataFrame(data,
        new StructType().add("id", DataTypes.LongType).add("prompt", DataTypes.StringType)).coalesce(1).cache();
    prompts.count();

    // The Spark path and the direct path share the registry's runtime: one load, same weights.
    try (LoadedModel model = ModelRegistry.acquire(spec, DeviceSelection.cpu())) {
      DbrxRuntime runtime = model.runtime();
      List<GenerationRequest> requests = new ArrayList<>();
      for (Row r : data) {
        SamplingParams params = SamplingParams.builder().temperature(TEMPERATURE).topK(TOP_K).maxNewTokens(maxNew)
            .seed(Seeds.forRow(Long.toString(r.getLong(0)), SEED)).build();
        requests.add(new GenerationRequest(runtime.tokenizer().encode(r.getString(1)), params));
      }
      DbrxGenerator generator = new DbrxGenerator().setModelLocation(spec.location()).setThreads(threads)
          .setIdCol("id").setSeed(SEED).setTemperature(TEMPERATURE).setTopK(TOP_K).setMaxNewTokens(maxNew)
          .setChunkRows(rows);

      // Warm-up of both paths (JIT, Spark's first job).
      runtime.engine().generate(requests.subList(0, Math.min(4, rows)));
      generator.transform(prompts.limit(4)).collectAsList();

      // Alternating order, so that drift on a noisy machine (JIT, heap, neighbours) hits both.
      double[] directTimes = new double[reps];
      double[] sparkTimes = new double[reps];
      List<GenerationResult> expected = null;
      List<Row> actual = null;
      for (int rep = 0; rep < reps; rep++) {
        for (int path : rep % 2 == 0 ? new int[] {0, 1} : new int[] {1, 0}) {
          long t = System.nanoTime();
          if (path == 0) {
            expected = runtime.engine().generate(requests);
            directTimes[rep] = (System.nanoTime() - t) / 1e9;
          } else {
            actual = generator.transform(prompts).collectAsList();
            sparkTimes[rep] = (System.nanoTime() - t) / 1e9;
          }
        }
      }
      double direct = median(directTimes);
      double spark1 = median(sparkTimes);
      long promptTokens = 0;
      long generated = 0;
      for (int i = 0; i < rows; i++) {
        Row g = actual.get(i).getStruct(2);
        if (!expected.get(i).text().equals(g.getAs("text"))) {
          throw new IllegalStateException("row " + i + " differs between Spark and the runtime");
        }
        promptTokens += expected.get(i).promptTokens();
        generated += expected.get(i).completionTokens();
      }

      DbrxFunctions.register(spark, DbrxFunctions.Options.of(spec.location()).withModel(spec).withSeed(SEED));
      prompts.limit(sqlRows).createOrReplaceTempView("bench_prompts");
      String params = String.format(Locale.ROOT, "{\"max_new_tokens\": %d, \"temperature\": %s, \"top_k\": %d}",
          maxNew, TEMPERATURE, TOP_K);
      long t = System.nanoTime();
      List<Row> sql = spark.sql("SELECT dbrx_generate(prompt, '" + params + "') AS g FROM bench_prompts").collectAsList();
      double sqlSeconds = (System.nanoTime() - t) / 1e9;
      long sqlGenerated = sql.stream().mapToLong(r -> r.getStruct(0).<Integer>getAs("completion_tokens")).sum();
      long sqlPrompt = sql.stream().mapToLong(r -> r.getStruct(0).<Integer>getAs("prompt_tokens")).sum();

      System.out.printf(Locale.ROOT, "%nruns (s): direct %s, Spark %s%n", Arrays.toString(directTimes), Arrays.toString(sparkTimes));
      System.out.printf(Locale.ROOT, "checkpoint %s (preset bench), %d threads, %d rows x %d new tokens (%d prompt, %d generated tokens), median of %d%n",
          checkpoint, threads, rows, maxNew, promptTokens, generated, reps);
      System.out.println("| path | rows | seconds | rows/s | generated tokens/s | all tokens/s |");
      System.out.println("|---|---|---|---|---|---|");
      line("runtime engine, direct", rows, direct, generated, promptTokens);
      line("DbrxGenerator, local Spark, 1 partition", rows, spark1, generated, promptTokens);
      line("dbrx_generate SQL, row at a time", sql.size(), sqlSeconds, sqlGenerated, sqlPrompt);
      System.out.printf(Locale.ROOT, "Spark overhead: %.1f%%%n", 100 * (spark1 - direct) / direct);
    }
    spark.stop();
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  private static void line(String path, int rows, double seconds, long generated, long prompt) {
    System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %.2f | %.1f | %.1f |%n", path, rows, seconds, rows / seconds,
        generated / seconds, (generated + prompt) / seconds);
  }
}
