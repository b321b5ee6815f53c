package org.dbrxspark.runtime.engine;

/** log softmax(logits) over one row, computed stably in double. */
final class LogSoftmax {
  private final float[] logits;
  private final int offset;
  private final int vocab;
  private final float max;
  private final double logSum;

  private LogSoftmax(float[] logits, int offset, int vocab) {
    this.logits = logits;
    this.offset = offset;
    this.vocab = vocab;
    float m = Float.NEGATIVE_INFINITY;
    for (int v = 0; v < vocab; v++) {
      m = Math.max(m, logits[offset + v]);
    }
    double sum = 0;
    for (int v = 0; v < vocab; v++) {
      sum += Math.exp(logits[offset + v] - m);
    }
    this.max = m;
    this.logSum = Math.log(sum);
  }

  /** The row of {@code vocab} logits starting at {@code offset}. */
  static LogSoftmax of(float[] logits, int offset, int vocab) {
    return new LogSoftmax(logits, offset, vocab);
  }

  static float at(float[] logits, int offset, int vocab, int token) {
    return of(logits, offset, vocab).at(token);
  }

  float at(int token) {
    return (float) (logits[offset + token] - max - logSum);
  }

  /** The {@code k} most likely tokens, most likely first (ties by lower id). */
  TokenLogprob[] top(int k) {
    if (k <= 0) {
      return new TokenLogprob[0];
    }
    int[] ids = new int[Math.min(k, vocab)];
    int n = 0;
    for (int v = 0; v < vocab; v++) {
      float score = logits[offset + v];
      if (n == ids.length && !(score > logits[offset + ids[n - 1]])) {
        continue;
      }
      // Insertion into the short sorted list; an equal score stays behind the lower id.
      int at = n < ids.length ? n++ : n - 1;
      while (at > 0 && score > logits[offset + ids[at - 1]]) {
        ids[at] = ids[at - 1];
        at--;
      }
      ids[at] = v;
    }
    TokenLogprob[] out = new TokenLogprob[n];
    for (int i = 0; i < n; i++) {
      out[i] = new TokenLogprob(ids[i], at(ids[i]));
    }
    return out;
  }
}
