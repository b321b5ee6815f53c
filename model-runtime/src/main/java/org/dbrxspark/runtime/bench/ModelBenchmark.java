package org.dbrxspark.runtime.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.KvBlockPool;
import org.dbrxspark.runtime.model.KvCache;
import org.dbrxspark.runtime.model.Step;

/** Decode and prefill throughput of a model: forward pass plus the output head. */
public final class ModelBenchmark {
  private final DbrxModel model;
  private final KvBlockPool pool;
  private final SplittableRandom random = new SplittableRandom(7);

  /** Benchmarks {@code model} with KV caches from {@code pool}. */
  public ModelBenchmark(DbrxModel model, KvBlockPool pool) {
    this.model = model;
    this.pool = pool;
  }

  /**
   * Tokens per second generating {@code steps} tokens for each of {@code batch} sequences, after a
   * {@code promptLength}-token prefill (not timed). Each step is one batched forward pass of one
   * token per sequence and the logits of every sequence.
   */
  public double decode(int batch, int promptLength, int steps) {
    List<KvCache> caches = new ArrayList<>();
    List<Step> prefill = new ArrayList<>();
    for (int b = 0; b < batch; b++) {
      KvCache cache = pool.newCache();
      caches.add(cache);
      prefill.add(new Step(cache, randomTokens(promptLength), false));
    }
    try {
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
    } finally {
      caches.forEach(KvCache::release);
    }
  }

  /**
   * Tokens per second prefilling one {@code length}-token prompt, through the last token's logits.
   */
  public double prefill(int length) {
    float[] logits = new float[model.config().vocabSize()];
    KvCache cache = pool.newCache();
    try {
      long start = System.nanoTime();
      model.logits(model.forward(List.of(new Step(cache, randomTokens(length), false))), 1, logits);
      return length / ((System.nanoTime() - start) / 1e9);
    } finally {
      cache.release();
    }
  }

  private int[] randomTokens(int n) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = random.nextInt(Math.min(100_000, model.config().vocabSize()));
    }
    return ids;
  }
}
