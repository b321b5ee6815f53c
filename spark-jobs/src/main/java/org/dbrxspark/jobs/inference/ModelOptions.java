package org.dbrxspark.jobs.inference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.udfs.device.DevicePolicy;
import org.dbrxspark.udfs.ml.DbrxModelTransformer;

/**
 * The options of the jobs that run the DBRX model (generate, score): where the checkpoint is, how
 * each executor runs it and how many tasks run it at once. They map one to one onto the udfs
 * transformers' params.
 */
public final class ModelOptions {
  public static final OptionSpec<String> MODEL =
      OptionSpec.path(
          "model",
          null,
          "DBRX checkpoint, a folder (config.json + safetensors) or a GGUF file: a local path (present on every host), a Hadoop URI (hdfs://, s3a://...; copied "
              + "once per host) or a name shipped with --files/--archives");
  public static final OptionSpec<Integer> THREADS =
      OptionSpec.integer(
          "threads",
          0,
          0,
          "CPU threads of the model's kernels in each executor; 0: one per processor");
  public static final OptionSpec<Integer> MAX_BATCH_TOKENS =
      OptionSpec.integer(
          "max-batch-tokens",
          EngineOptions.defaults().maxBatchTokens(),
          1,
          "Token budget of one engine step (prompt and decode tokens)");
  public static final OptionSpec<Integer> MAX_SEQUENCES =
      OptionSpec.integer(
          "max-sequences",
          EngineOptions.defaults().maxSequences(),
          1,
          "Sequences one task runs at once");
  public static final OptionSpec<Integer> MAX_SEQ_LEN =
      OptionSpec.integer(
          "max-seq-len",
          0,
          0,
          "Positions one sequence fills, its prompt and every generated token but the last (which is sampled, never fed back): a longer prompt fails its row, a generation stops at it; 0: the model's max_seq_len");
  public static final OptionSpec<String> KV_DTYPE =
      OptionSpec.choice(
          "kv-dtype",
          EngineOptions.DEFAULT_KV_DTYPE.label(),
          "How the KV cache stores keys and values",
          Arrays.stream(KvDType.values()).map(KvDType::label).toArray(String[]::new));
  public static final OptionSpec<Long> KV_CACHE_TOKENS =
      OptionSpec.longValue(
          "kv-cache-tokens",
          "0",
          0,
          "Positions each executor's KV cache holds over all sequences, at least --max-seq-len; 0: max-sequences x max-seq-len");
  public static final OptionSpec<String> DEVICE =
      OptionSpec.string(
          "device",
          DevicePolicy.CPU,
          "Where the model computes: cpu, auto (each task's Spark-assigned GPU, else the CPU), cuda (the task's GPU, required) or cuda:N (GPU N for every task, for local mode); the CUDA backend has not yet run on a GPU");
  public static final OptionSpec<String> DEVICE_FALLBACK =
      OptionSpec.choice(
          "device-fallback",
          "none",
          "cpu: a task whose GPU cannot be used (no CUDA backend, driver or device) computes on the CPU, saying so once per executor; none: it fails naming what to install",
          "none",
          DevicePolicy.CPU);
  public static final OptionSpec<Integer> BATCH_ROWS =
      OptionSpec.integer("batch-rows", 128, 1, "Rows a task hands to the runtime per call");
  public static final OptionSpec<Integer> BATCH_TOKENS =
      OptionSpec.integer(
          "batch-tokens",
          65536,
          1,
          "A runtime call takes no more rows once their input tokens reach this many");
  public static final OptionSpec<Integer> PARTITIONS =
      OptionSpec.integer(
          "partitions",
          0,
          0,
          "Tasks that run the model at once (rows are spread by id); 0: Spark's default parallelism");

  private ModelOptions() {}

  /** The options, for a job's option list. */
  public static List<OptionSpec<?>> specs() {
    List<OptionSpec<?>> all =
        new ArrayList<>(List.of(MODEL, THREADS, MAX_BATCH_TOKENS, MAX_SEQUENCES));
    all.addAll(loadSpecs());
    all.addAll(List.of(BATCH_ROWS, BATCH_TOKENS, PARTITIONS));
    return all;
  }

  /**
   * The KV cache and device options, for jobs that run the model with their own batching options.
   */
  public static List<OptionSpec<?>> loadSpecs() {
    return List.of(MAX_SEQ_LEN, KV_DTYPE, KV_CACHE_TOKENS, DEVICE, DEVICE_FALLBACK);
  }

  /**
   * Refuses KV cache options that cannot go together and a device that is not one (before any Spark
   * job), naming them; the model's own max_seq_len is checked when an executor loads it.
   */
  public static void validate(ParsedOptions o) {
    if (!DevicePolicy.isDevice(o.get(DEVICE))) {
      throw new UsageException("--device: '" + o.get(DEVICE) + "' is not " + DevicePolicy.CHOICES);
    }
    long cache = o.get(KV_CACHE_TOKENS);
    if (cache > 0 && cache < o.get(MAX_SEQ_LEN)) {
      throw new UsageException(
          "--kv-cache-tokens "
              + cache
              + " cannot hold one sequence of --max-seq-len "
              + o.get(MAX_SEQ_LEN)
              + ": raise it or lower --max-seq-len");
    }
  }

  /** Sets the model location, load options and batching of {@code transformer}. */
  public static <T extends DbrxModelTransformer<T>> T apply(T transformer, ParsedOptions o) {
    return LoadOptions.from(o)
        .applyTo(transformer)
        .setModelLocation(o.get(MODEL))
        .setThreads(o.get(THREADS))
        .setMaxBatchTokens(o.get(MAX_BATCH_TOKENS))
        .setMaxSequences(o.get(MAX_SEQUENCES))
        .setChunkRows(o.get(BATCH_ROWS))
        .setChunkTokens(o.get(BATCH_TOKENS));
  }

  /**
   * A job's KV cache and device options, for jobs that run the model through several transformers:
   * each gets the same, so that they share one loaded model.
   */
  public record LoadOptions(
      int maxSeqLen, String kvDtype, long kvCacheTokens, String device, String deviceFallback) {
    public static LoadOptions from(ParsedOptions o) {
      return new LoadOptions(
          o.get(MAX_SEQ_LEN),
          o.get(KV_DTYPE),
          o.get(KV_CACHE_TOKENS),
          o.get(DEVICE),
          o.get(DEVICE_FALLBACK));
    }

    public <T extends DbrxModelTransformer<T>> T applyTo(T transformer) {
      return transformer
          .setMaxSeqLen(maxSeqLen)
          .setKvDtype(kvDtype)
          .setKvCacheTokens(kvCacheTokens)
          .setDevice(device)
          .setDeviceFallback(deviceFallback);
    }
  }

  /**
   * Spreads {@code rows} by a hash of {@code idCol} over {@code --partitions} tasks, so that a
   * single input file does not run the model on one core. Results do not depend on it: the
   * runtime's output for a row does not depend on its batch mates.
   */
  public static Dataset<Row> spread(Dataset<Row> rows, String idCol, ParsedOptions o) {
    int partitions =
        o.get(PARTITIONS) > 0
            ? o.get(PARTITIONS)
            : rows.sparkSession().sparkContext().defaultParallelism();
    return rows.repartition(partitions, Columns.named(idCol));
  }
}
