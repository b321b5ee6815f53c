package org.dbrxspark.udfs.registry;

import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.MemoryPlan;

/**
 * Worst-case JVM memory a model's batching budget can take. Weights are memory-mapped and so not
 * counted; what grows with the budget is per task: the KV cache of {@code maxSequences} full-length
 * sequences (off-heap, in direct memory, whose limit is the maximum heap unless
 * -XX:MaxDirectMemorySize says otherwise), one step's activations and its logits rows (heap).
 */
final class MemoryBudget {
  private MemoryBudget() {}

  /**
   * JVM bytes one concurrently running task may need at most: the runtime's memory plan less its
   * weights.
   */
  static long perTaskBytes(DbrxConfig c, EngineOptions o) {
    MemoryPlan plan = MemoryPlan.of(c, o, 0);
    return plan.kvCacheBytes() + plan.activationBytes();
  }

  /** Why {@code tasks} concurrent tasks cannot run under {@code maxHeap}, or null when they can. */
  static String problem(DbrxConfig c, EngineOptions o, int tasks, long maxHeap) {
    long need = perTaskBytes(c, o) * tasks;
    if (need <= maxHeap) {
      return null;
    }
    return String.format(
        "not enough memory for the configured budget: %d concurrent task(s) with max_sequences=%d,"
            + " max_batch_tokens=%d and max_seq_len=%d may need %.2f GiB of heap, but the JVM's"
            + " maximum heap is %.2f GiB; lower maxSequences or maxBatchTokens, or raise"
            + " spark.executor.memory",
        tasks,
        o.maxSequences(),
        o.maxBatchTokens(),
        c.maxSeqLen(),
        need / (double) (1L << 30),
        maxHeap / (double) (1L << 30));
  }
}
