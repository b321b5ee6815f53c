package org.dbrxspark.runtime.engine;

import java.util.ArrayList;
import java.util.List;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.KvBlockPool;

/** Sentence embeddings: pooled final hidden states (after norm_f), L2-normalised. */
public final class Embedder {
  private final DbrxModel model;
  private final EngineOptions options;
  private final KvBlockPool pool;
  private final int maxSeqLen;

  /** With a KV pool of its own, sized by {@code options}. */
  public Embedder(DbrxModel model, EngineOptions options) {
    this(model, options, options.newKvPool(model));
  }

  /** Drawing on {@code pool}, which other engines may share. */
  public Embedder(DbrxModel model, EngineOptions options, KvBlockPool pool) {
    this.model = model;
    this.options = options;
    this.pool = pool;
    this.maxSeqLen = options.maxSeqLen(model.config());
  }

  /** Embeds every token sequence; one that cannot be embedded gets an error, not an exception. */
  public List<EmbeddingResult> embed(List<int[]> texts, Pooling pooling) {
    EmbeddingResult[] results = new EmbeddingResult[texts.size()];
    List<int[]> sequences = new ArrayList<>();
    List<Integer> owners = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      int[] ids = texts.get(i);
      String problem = InputCheck.problem(model.config(), ids, "text", maxSeqLen, maxSeqLen);
      if (problem != null) {
        results[i] = EmbeddingResult.failed(problem);
      } else {
        sequences.add(ids);
        owners.add(i);
      }
    }
    int d = model.config().dModel();
    PrefillBatches.run(
        model,
        pool,
        sequences,
        options.maxBatchTokens(),
        (j, hidden) -> {
          int length = sequences.get(j).length;
          float[] vector = new float[d];
          int first = pooling == Pooling.LAST ? length - 1 : 0;
          for (int t = first; t < length; t++) {
            for (int i = 0; i < d; i++) {
              vector[i] += hidden[t * d + i];
            }
          }
          normalise(vector);
          results[owners.get(j)] = new EmbeddingResult(vector, length, null);
        });
    return List.of(results);
  }

  /** Scales to unit L2 norm (a mean and a sum differ only by scale, so no division is needed). */
  private static void normalise(float[] vector) {
    double norm = 0;
    for (float v : vector) {
      norm += (double) v * v;
    }
    if (norm > 0) {
      float inv = (float) (1 / Math.sqrt(norm));
      for (int i = 0; i < vector.length; i++) {
        vector[i] *= inv;
      }
    }
  }
}
