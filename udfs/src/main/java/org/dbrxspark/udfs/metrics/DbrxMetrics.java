package org.dbrxspark.udfs.metrics;

import java.io.Serializable;
import java.util.Locale;
import org.apache.spark.SparkContext;
import org.apache.spark.util.LongAccumulator;
import org.dbrxspark.udfs.inference.BatchCounts;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spark accumulators of one transformer call or one set of SQL functions: rows, runtime calls
 * (batches), prompt tokens, generated tokens, error rows, model loads and their time, and the
 * prefix cache's hits, misses and evictions, counted in KV blocks of 16 tokens. Created on the
 * driver; executors add to them and log one line per batch; the driver logs a summary for every
 * stage that touched them.
 *
 * <p>Accumulators are named {@code dbrx.<label>.<metric>} and show in the Spark UI. As with any
 * accumulator updated in a transformation, a stage that is recomputed adds again.
 */
public final class DbrxMetrics implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(DbrxMetrics.class);

  /** Prefix of every accumulator name; the stage summary looks for it. */
  public static final String PREFIX = "dbrx.";

  private final String label;
  private final LongAccumulator rows;
  private final LongAccumulator batches;
  private final LongAccumulator promptTokens;
  private final LongAccumulator generatedTokens;
  private final LongAccumulator errors;
  private final LongAccumulator modelLoads;
  private final LongAccumulator modelLoadMillis;
  private final LongAccumulator prefixCacheHitBlocks;
  private final LongAccumulator prefixCacheMissBlocks;
  private final LongAccumulator prefixCacheEvictedBlocks;

  private DbrxMetrics(SparkContext sc, String label) {
    this.label = label;
    this.rows = sc.longAccumulator(PREFIX + label + ".rows");
    this.batches = sc.longAccumulator(PREFIX + label + ".batches");
    this.promptTokens = sc.longAccumulator(PREFIX + label + ".prompt_tokens");
    this.generatedTokens = sc.longAccumulator(PREFIX + label + ".generated_tokens");
    this.errors = sc.longAccumulator(PREFIX + label + ".errors");
    this.modelLoads = sc.longAccumulator(PREFIX + label + ".model_loads");
    this.modelLoadMillis = sc.longAccumulator(PREFIX + label + ".model_load_ms");
    // In blocks, not tokens: progress reporting sums every dbrx.*_tokens accumulator as work done.
    this.prefixCacheHitBlocks = sc.longAccumulator(PREFIX + label + ".prefix_cache_hit_blocks");
    this.prefixCacheMissBlocks = sc.longAccumulator(PREFIX + label + ".prefix_cache_miss_blocks");
    this.prefixCacheEvictedBlocks =
        sc.longAccumulator(PREFIX + label + ".prefix_cache_evicted_blocks");
  }

  /**
   * Registers a new set of accumulators on the driver and makes sure the stage summary is logged.
   *
   * @param label names the accumulators, e.g. {@code generate} or {@code sql}
   */
  public static DbrxMetrics register(SparkContext sc, String label) {
    StageSummaryListener.installOn(sc);
    return new DbrxMetrics(sc, label);
  }

  /**
   * Adds the counts of one runtime call without logging: for row-at-a-time callers, where a line
   * per row is noise.
   */
  public void recordRows(BatchCounts counts) {
    rows.add(counts.rows());
    batches.add(1);
    promptTokens.add(counts.promptTokens());
    generatedTokens.add(counts.generatedTokens());
    errors.add(counts.errors());
    prefixCacheHitBlocks.add(counts.prefixCacheHitBlocks());
    prefixCacheMissBlocks.add(counts.prefixCacheMissBlocks());
    prefixCacheEvictedBlocks.add(counts.prefixCacheEvictedBlocks());
  }

  /** Adds one batch's counts and logs its throughput (executor side). */
  public void recordBatch(BatchCounts counts, long nanos) {
    recordRows(counts);
    if (LOG.isInfoEnabled()) {
      double seconds = nanos / 1e9;
      long tokens = counts.promptTokens() + counts.generatedTokens();
      LOG.info(
          String.format(
              Locale.ROOT,
              "dbrx %s batch: %d rows (%d errors), %d prompt + %d generated tokens in %.2f s: %.1f rows/s, %.1f tokens/s",
              label,
              counts.rows(),
              counts.errors(),
              counts.promptTokens(),
              counts.generatedTokens(),
              seconds,
              counts.rows() / Math.max(seconds, 1e-9),
              tokens / Math.max(seconds, 1e-9)));
    }
  }

  /**
   * Counts a load, and its time, when the task's lease loaded the model (executor side).
   *
   * @param millis the lease's load time: 0 when it shares an earlier load, at least 1 otherwise
   */
  public void recordModelLoad(long millis) {
    if (millis > 0) {
      modelLoads.add(1);
      modelLoadMillis.add(millis);
    }
  }

  /** Rows processed (driver side, once the action has run). */
  public long rows() {
    return rows.value();
  }

  /** Runtime calls: {@code rows() / batches()} is the mean batch a call gave the engine. */
  public long batches() {
    return batches.value();
  }

  public long promptTokens() {
    return promptTokens.value();
  }

  public long generatedTokens() {
    return generatedTokens.value();
  }

  /** Rows whose result has its error set. */
  public long errors() {
    return errors.value();
  }

  /** Models loaded by the tasks: at most one per executor, device and model unless unloaded. */
  public long modelLoads() {
    return modelLoads.value();
  }

  /** Milliseconds spent loading models, summed over the executors that loaded one. */
  public long modelLoadMillis() {
    return modelLoadMillis.value();
  }

  /**
   * Full prompt blocks (16 tokens each) whose keys and values came from the executors' prefix
   * caches.
   */
  public long prefixCacheHitBlocks() {
    return prefixCacheHitBlocks.value();
  }

  /** Full prompt blocks looked up in the prefix caches and not found, hence computed. */
  public long prefixCacheMissBlocks() {
    return prefixCacheMissBlocks.value();
  }

  /** Cached prefix blocks dropped to make room in the executors' KV caches. */
  public long prefixCacheEvictedBlocks() {
    return prefixCacheEvictedBlocks.value();
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "%s: rows=%d batches=%d prompt_tokens=%d generated_tokens=%d errors=%d"
            + " model_loads=%d model_load_ms=%d prefix_cache_hit_blocks=%d prefix_cache_miss_blocks=%d"
            + " prefix_cache_evicted_blocks=%d",
        label,
        rows(),
        batches(),
        promptTokens(),
        generatedTokens(),
        errors(),
        modelLoads(),
        modelLoadMillis(),
        prefixCacheHitBlocks(),
        prefixCacheMissBlocks(),
        prefixCacheEvictedBlocks());
  }
}
