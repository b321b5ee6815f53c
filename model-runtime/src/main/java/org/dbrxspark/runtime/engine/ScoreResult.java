package org.dbrxspark.runtime.engine;

/**
 * Log-probabilities of a text's tokens under the model.
 *
 * @param tokenLogprobs natural-log probability of each scored token, in order
 * @param error why the text could not be scored, or {@code null}
 */
public record ScoreResult(float[] tokenLogprobs, String error) {

  /** Number of scored tokens. */
  public int tokenCount() {
    return tokenLogprobs.length;
  }

  /** Sum of the token log-probabilities. */
  public double logprobSum() {
    double sum = 0;
    for (float lp : tokenLogprobs) {
      sum += lp;
    }
    return sum;
  }

  /** Mean token log-probability; NaN when nothing was scored. */
  public double logprobMean() {
    return tokenLogprobs.length == 0 ? Double.NaN : logprobSum() / tokenLogprobs.length;
  }

  /** exp(-mean log-probability); NaN when nothing was scored. */
  public double perplexity() {
    return Math.exp(-logprobMean());
  }

  static ScoreResult failed(String error) {
    return new ScoreResult(new float[0], error);
  }
}
