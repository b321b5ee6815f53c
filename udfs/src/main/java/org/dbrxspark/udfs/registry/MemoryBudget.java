package org.dbrxspark.udfs.registry;

import java.util.Locale;
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.MemoryPlan;

/**
 * The executor's memory check before it loads a model: the runtime's own {@link MemoryPlan} for the
 * checkpoint and engine options, with one forward step's activations for every task that may run
 * the model at once. The tasks share the loaded model (its mapped weights and its one KV cache) but
 * each runs its own steps, whose activations are on the heap; the runtime checks the same plan for
 * one caller when it loads.
 */
final class MemoryBudget {
  private MemoryBudget() {}

  /**
   * Why {@code tasks} concurrent tasks cannot run {@code checkpoint}, opened for loading, with
   * {@code options} in this JVM, or null when they can.
   */
  static String problem(Checkpoint checkpoint, EngineOptions options, int tasks) {
    MemoryPlan plan = MemoryPlan.of(checkpoint.config(), options, checkpoint.totalBytes(), tasks);
    long maxHeap = Runtime.getRuntime().maxMemory();
    if (plan.activationBytes() > maxHeap) {
      return String.format(
          Locale.ROOT,
          "not enough memory for the configured budget: %d concurrent task(s) with"
              + " max_batch_tokens=%d and max_sequences=%d need %.2f GiB of heap for their"
              + " activations, but the JVM's maximum heap is %.2f GiB; lower maxBatchTokens or"
              + " maxSequences, or raise spark.executor.memory",
          tasks,
          options.maxBatchTokens(),
          options.maxSequences(),
          gib(plan.activationBytes()),
          gib(maxHeap));
    }
    String problem = plan.problem();
    return problem == null
        ? null
        : "not enough memory for the configured budget of " + tasks + " task(s): " + problem;
  }

  private static double gib(long bytes) {
    return bytes / (double) (1L << 30);
  }
}
