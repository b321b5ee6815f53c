package org.dbrxspark.udfs.registry;

import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.engine.EngineOptions;

/**
 * Worst-case heap a model's batching budget can take. Weights are memory-mapped and so not
 * counted; what grows with the budget is per task: the KV caches of {@code maxSequences} full-length
 * sequences, one step's activations over {@code maxBatchTokens} tokens and its logits rows.
 */
final class MemoryBudget {
  private MemoryBudget() {}

  /** Heap bytes one concurrently running task may need at most. */
  static long perTaskBytes(DbrxConfig c, EngineOptions o) {
    long kvWidth = (long) c.kvNHeads() * c.headDim();
    long kvCache = (long) o.maxSequences() * c.maxSeqLen() * c.nLayers() * 2 * kvWidth;
    // Residual, norm, attention output and projection rows, QKV, and the gate/up/down rows of
    // an expert that every token of the step may be routed to.
    long activations = (long) o.maxBatchTokens()
        * (5L * c.dModel() + c.qkvWidth() + 2L * c.ffnHiddenSize() + c.moeNumExperts());
    long logits = (long) Math.min(o.maxSequences(), o.maxBatchTokens()) * c.vocabSize();
    return (kvCache + activations + logits) * Float.BYTES;
  }

  /**
   * Why {@code tasks} concurrent tasks cannot run under {@code maxHeap}, or null when they can.
   */
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
        tasks, o.maxSequences(), o.maxBatchTokens(), c.maxSeqLen(), need / (double) (1L << 30),
        maxHeap / (double) (1L << 30));
  }
}
