package org.dbrxspark.runtime.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.KvBlockPool;
import org.dbrxspark.runtime.model.Step;

/**
 * Runs whole sequences through the model in batches under a token budget and hands each one its
 * final hidden states: the shared core of scoring and embedding.
 */
final class PrefillBatches {
  private PrefillBatches() {}

  /**
   * Calls {@code consumer(i, hidden)} for each sequence with its {@code [length, d_model]} final
   * hidden states. Sequences must be non-empty and fit the model's max_seq_len. A batch's caches
   * are drawn from {@code pool} and returned before the next batch.
   */
  static void run(
      DbrxModel model,
      KvBlockPool pool,
      List<int[]> sequences,
      int maxBatchTokens,
      BiConsumer<Integer, float[]> consumer) {
    int d = model.config().dModel();
    int start = 0;
    while (start < sequences.size()) {
      int end = start;
      int tokens = 0;
      long blocks = 0;
      // A sequence over the budget still runs, alone; a batch never needs more blocks than the pool
      // has.
      while (end < sequences.size()
          && (end == start
              || tokens + sequences.get(end).length <= maxBatchTokens
                  && blocks + KvBlockPool.blocksFor(sequences.get(end).length)
                      <= pool.capacity())) {
        tokens += sequences.get(end).length;
        blocks += KvBlockPool.blocksFor(sequences.get(end).length);
        end++;
      }
      List<Step> steps = new ArrayList<>(end - start);
      for (int i = start; i < end; i++) {
        steps.add(new Step(pool.newCache(), sequences.get(i), true));
      }
      float[] hidden;
      try {
        reserve(pool, steps, (int) blocks);
        hidden = model.forward(steps);
      } finally {
        steps.forEach(s -> s.cache().release());
      }
      int row = 0;
      for (int i = start; i < end; i++) {
        int length = sequences.get(i).length;
        float[] own = new float[length * d];
        System.arraycopy(hidden, row * d, own, 0, own.length);
        consumer.accept(i, own);
        row += length;
      }
      start = end;
    }
  }

  /**
   * Takes every step's blocks, all or none at a time, waiting while other users of the pool hold
   * them.
   */
  private static void reserve(KvBlockPool pool, List<Step> steps, int blocks) {
    while (!steps.stream().allMatch(s -> s.cache().tryReserve(s.tokens().length))) {
      steps.forEach(s -> s.cache().release());
      pool.awaitFree(blocks);
    }
  }
}
