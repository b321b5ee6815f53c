package org.dbrxspark.runtime.engine;

/** log softmax(logits)[token] over one row, computed stably in double. */
final class LogSoftmax {
  private LogSoftmax() {}

  static float at(float[] logits, int offset, int vocab, int token) {
    float max = Float.NEGATIVE_INFINITY;
    for (int v = 0; v < vocab; v++) {
      max = Math.max(max, logits[offset + v]);
    }
    double sum = 0;
    for (int v = 0; v < vocab; v++) {
      sum += Math.exp(logits[offset + v] - max);
    }
    return (float) (logits[offset + token] - max - Math.log(sum));
  }
}
