package org.dbrxspark.runtime.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.KvCache;
import org.dbrxspark.runtime.model.Step;

/** Decode and prefill throughput of a model: forward pass plus the output head. */
public final class ModelBenchmark {
  private final DbrxModel model;
  private final SplittableRandom random = new SplittableRandom(7);

  public ModelBenchmark(DbrxModel model) {
    this.model = model;
  }

  /**
   * Tokens per second generating {@code steps} tokens for each of {@code batch} sequences, after
   * a {@code promptLength}-token prefill (not timed). Each step is one batched forward pass of
   * one token per sequence and the logits of every sequence.
   */
  public double decode(int batch, int promptLength, int steps) {
    List<KvCache> caches = new ArrayList<>();
    List<Step> prefill = new ArrayList<>();
    for (int b = 0; b < batch; b++) {
      KvCache cache = model.newCache();
      caches.add(cache);
      prefill.add(new Step(cache, randomTokens(promptLength), false));
    }
    model.forward(prefill);
    int vocab = model.config().vocabSize();
    float[] logits = new float[batch * vocab];
    long start = System.nanoTime();
    for (int s = 0; s < steps; s++) {
      List<Step> step = new ArrayList<>(batch);
      for (KvCache cache : caches) {
        step.add(new Step(cache, randomTokens(1), false));
      }
      model.logits(model.forward(step), batch, logits);
    }
    return (double) batch * steps / ((System.nanoTime() - start) / 1e9);
  }

  /** Tokens per second prefilling one {@code length}-token prompt, through the last token's logits. */
  public double prefill(int length) {
    float[] logits = new float[model.config().vocabSize()];
    long start = System.nanoTime();
    model.logits(model.forward(List.of(new Step(model.newCache(), randomTokens(length), false))), 1, logits);
    return length / ((System.nanoTime() - start) / 1e9);
  }

  private int[] randomTokens(int n) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = random.nextInt(Math.min(100_000, model.config().vocabSize()));
    }
    return ids;
  }
}
