package org.dbrxspark.runtime.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.Step;

/**
 * Runs whole sequences through the model in batches under a token budget and hands each one its
 * final hidden states: the shared core of scoring and embedding.
 */
final class PrefillBatches {
  private PrefillBatches() {}

  /**
   * Calls {@code consumer(i, hidden)} for each sequence with its {@code [length, d_model]} final
   * hidden states. Sequences must be non-empty and fit the model's max_seq_len.
   */
  static void run(DbrxModel model, List<int[]> sequences, int maxBatchTokens, BiConsumer<Integer, float[]> consumer) {
    int d = model.config().dModel();
    int start = 0;
    while (start < sequences.size()) {
      int end = start;
      int tokens = 0;
      // A sequence over the budget still runs, alone.
      while (end < sequences.size() && (end == start || tokens + sequences.get(end).length <= maxBatchTokens)) {
        tokens += sequences.get(end).length;
        end++;
      }
      List<Step> steps = new ArrayList<>(end - start);
      for (int i = start; i < end; i++) {
        steps.add(new Step(model.newCache(), sequences.get(i), true));
      }
      float[] hidden = model.forward(steps);
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
}
