package org.dbrxspark.runtime.engine;

import java.util.ArrayList;
import java.util.List;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.KvBlockPool;

/** Log-probability, mean and perplexity of texts, batched under a token budget. */
public final class Scorer {
  /** Logit rows computed at once: bounds the [rows, vocab] buffer (~6 MB at DBRX's vocab). */
  private static final int LOGIT_ROWS = 16;

  private final DbrxModel model;
  private final EngineOptions options;
  private final KvBlockPool pool;
  private final int maxSeqLen;

  /** With a KV pool of its own, sized by {@code options}. */
  public Scorer(DbrxModel model, EngineOptions options) {
    this(model, options, options.newKvPool(model));
  }

  /** Drawing on {@code pool}, which other engines may share. */
  public Scorer(DbrxModel model, EngineOptions options, KvBlockPool pool) {
    this.model = model;
    this.options = options;
    this.pool = pool;
    this.maxSeqLen = options.maxSeqLen(model.config());
  }

  /** Scores every request; a request that cannot be scored gets an error, not an exception. */
  public List<ScoreResult> score(List<ScoreRequest> requests) {
    ScoreResult[] results = new ScoreResult[requests.size()];
    List<int[]> sequences = new ArrayList<>();
    List<Integer> owners = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      ScoreRequest request = requests.get(i);
      int[] sequence = concat(request.prefix(), request.text());
      String problem = problemWith(request, sequence);
      if (problem != null) {
        results[i] = ScoreResult.failed(problem);
      } else {
        sequences.add(sequence);
        owners.add(i);
      }
    }
    PrefillBatches.run(
        model,
        pool,
        sequences,
        options.maxBatchTokens(),
        (j, hidden) -> {
          ScoreRequest request = requests.get(owners.get(j));
          results[owners.get(j)] =
              new ScoreResult(logprobs(sequences.get(j), request.prefix().length, hidden), null);
        });
    return List.of(results);
  }

  /**
   * Log-probability of each token after the first scored position, from the rows that predict them.
   */
  private float[] logprobs(int[] sequence, int prefixLength, float[] hidden) {
    int d = model.config().dModel();
    int vocab = model.config().vocabSize();
    int first = Math.max(1, prefixLength);
    float[] out = new float[sequence.length - first];
    float[] logits = new float[LOGIT_ROWS * vocab];
    for (int target = first; target < sequence.length; target += LOGIT_ROWS) {
      int rows = Math.min(LOGIT_ROWS, sequence.length - target);
      float[] predicting = new float[rows * d];
      System.arraycopy(hidden, (target - 1) * d, predicting, 0, rows * d);
      model.logits(predicting, rows, logits);
      for (int r = 0; r < rows; r++) {
        out[target - first + r] = LogSoftmax.at(logits, r * vocab, vocab, sequence[target + r]);
      }
    }
    return out;
  }

  private String problemWith(ScoreRequest request, int[] sequence) {
    if (request.prefix().length == 0 && request.text().length == 1) {
      return "a single token has nothing to be conditioned on: give a prefix or a longer text";
    }
    return request.text().length == 0
        ? "empty text"
        : InputCheck.problem(model.config(), sequence, "prefix + text", maxSeqLen, maxSeqLen);
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = new int[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
