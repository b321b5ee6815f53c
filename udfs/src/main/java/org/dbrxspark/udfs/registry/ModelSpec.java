package org.dbrxspark.udfs.registry;

import java.io.Serializable;
import java.util.Objects;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.udfs.device.DevicePolicy;

/**
 * Which checkpoint to load and how: with the task's device, the key of the executor's model
 * registry, so that specs differing in any load option never share a loaded model.
 *
 * @param location a local folder, a Hadoop FileSystem URI ({@code file://}, {@code hdfs://}, {@code
 *     s3a://}, ...) or the name of a folder shipped with {@code --files}/{@code --archives}/{@code
 *     SparkContext.addFile} (resolved through {@code SparkFiles})
 * @param threads CPU threads for the model's kernels; 0 means one per available processor
 * @param maxBatchTokens tokens one forward step may process (see {@link EngineOptions})
 * @param maxSequences sequences generating at once per task (see {@link EngineOptions})
 * @param prefixCaching whether the executor's tasks reuse the KV blocks of prompt prefixes that
 *     they share (see {@link EngineOptions#prefixCaching()}); outputs are the same either way
 * @param maxSeqLen the positions one sequence fills (prompt and every generated token but the
 *     last); 0 for the model's
 * @param kvDtype how the KV cache stores keys and values
 * @param kvCacheTokens positions the KV cache holds at once; 0 for {@code maxSequences x maxSeqLen}
 * @param device where the model computes: the task's GPU, the CPU, and what happens when a GPU
 *     cannot be used
 */
public record ModelSpec(
    String location,
    int threads,
    int maxBatchTokens,
    int maxSequences,
    boolean prefixCaching,
    int maxSeqLen,
    KvDType kvDtype,
    long kvCacheTokens,
    DevicePolicy device)
    implements Serializable {

  public ModelSpec {
    Objects.requireNonNull(location, "location");
    Objects.requireNonNull(device, "device");
    if (location.isBlank()) {
      throw new IllegalArgumentException("model location must not be empty");
    }
    if (threads < 0) {
      throw new IllegalArgumentException("threads must be >= 0, got " + threads);
    }
    // Validates the batching and KV cache options before any task runs.
    new EngineOptions(
        maxBatchTokens, maxSequences, maxSeqLen, kvDtype, kvCacheTokens, prefixCaching);
  }

  /** With the runtime's KV cache defaults and prefix caching. */
  public ModelSpec(String location, int threads, int maxBatchTokens, int maxSequences) {
    this(location, threads, new EngineOptions(maxBatchTokens, maxSequences));
  }

  /** The location with these threads and engine options, on the default device policy. */
  public ModelSpec(String location, int threads, EngineOptions engine) {
    this(location, threads, engine, DevicePolicy.DEFAULT);
  }

  /** The location with these threads, engine options and device policy. */
  public ModelSpec(String location, int threads, EngineOptions engine, DevicePolicy device) {
    this(
        location,
        threads,
        engine.maxBatchTokens(),
        engine.maxSequences(),
        engine.prefixCaching(),
        engine.maxSeqLen(),
        engine.kvDtype(),
        engine.kvCacheTokens(),
        device);
  }

  /** The location with the runtime's default engine options and one thread per processor. */
  public static ModelSpec of(String location) {
    return new ModelSpec(location, 0, EngineOptions.defaults());
  }

  /** This spec with prefix caching on or off. */
  public ModelSpec withPrefixCaching(boolean value) {
    return new ModelSpec(location, threads, engineOptions().withPrefixCaching(value), device);
  }

  /** This spec computing where {@code value} says. */
  public ModelSpec withDevice(DevicePolicy value) {
    return new ModelSpec(location, threads, engineOptions(), value);
  }

  /** This spec with these KV cache options (0 for the defaults of the context and cache size). */
  public ModelSpec withKvCache(int maxSeqLen, KvDType kvDtype, long kvCacheTokens) {
    return new ModelSpec(
        location,
        threads,
        new EngineOptions(
            maxBatchTokens, maxSequences, maxSeqLen, kvDtype, kvCacheTokens, prefixCaching),
        device);
  }

  /** This spec with {@link #threads} resolved to a count: the form the registry keys. */
  ModelSpec withResolvedThreads() {
    return new ModelSpec(location, resolvedThreads(), engineOptions(), device);
  }

  /** The engine's batching limits, KV cache and prefix caching. */
  public EngineOptions engineOptions() {
    return new EngineOptions(
        maxBatchTokens, maxSequences, maxSeqLen, kvDtype, kvCacheTokens, prefixCaching);
  }

  /** {@link #threads} with 0 resolved to the available processors. */
  public int resolvedThreads() {
    return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
  }
}
