package org.dbrxspark.udfs.registry;

import java.io.Serializable;
import java.util.Objects;
import org.dbrxspark.runtime.engine.EngineOptions;

/**
 * Which checkpoint to load and how: with the device, the key of the executor's model registry.
 *
 * @param location a local folder, a Hadoop FileSystem URI ({@code file://}, {@code hdfs://}, {@code
 *     s3a://}, ...) or the name of a folder shipped with {@code --files}/{@code --archives}/{@code
 *     SparkContext.addFile} (resolved through {@code SparkFiles})
 * @param threads CPU threads for the model's kernels; 0 means one per available processor
 * @param maxBatchTokens tokens one forward step may process (see {@link EngineOptions})
 * @param maxSequences sequences generating at once per task (see {@link EngineOptions})
 * @param prefixCaching whether the executor's tasks reuse the KV blocks of prompt prefixes that
 *     they share (see {@link EngineOptions#prefixCaching()}); outputs are the same either way
 */
public record ModelSpec(
    String location, int threads, int maxBatchTokens, int maxSequences, boolean prefixCaching)
    implements Serializable {

  public ModelSpec {
    Objects.requireNonNull(location, "location");
    if (location.isBlank()) {
      throw new IllegalArgumentException("model location must not be empty");
    }
    if (threads < 0) {
      throw new IllegalArgumentException("threads must be >= 0, got " + threads);
    }
    new EngineOptions(maxBatchTokens, maxSequences); // validates both
  }

  /** With prefix caching, the runtime's default. */
  public ModelSpec(String location, int threads, int maxBatchTokens, int maxSequences) {
    this(location, threads, maxBatchTokens, maxSequences, true);
  }

  /**
   * The location with the runtime's defaults (batching limits, prefix caching) and one thread per
   * processor.
   */
  public static ModelSpec of(String location) {
    EngineOptions defaults = EngineOptions.defaults();
    return new ModelSpec(
        location, 0, defaults.maxBatchTokens(), defaults.maxSequences(), defaults.prefixCaching());
  }

  /** This spec with prefix caching on or off. */
  public ModelSpec withPrefixCaching(boolean value) {
    return new ModelSpec(location, threads, maxBatchTokens, maxSequences, value);
  }

  /** The engine's batching limits and prefix caching. */
  public EngineOptions engineOptions() {
    return new EngineOptions(maxBatchTokens, maxSequences).withPrefixCaching(prefixCaching);
  }

  /** {@link #threads} with 0 resolved to the available processors. */
  public int resolvedThreads() {
    return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
  }
}
