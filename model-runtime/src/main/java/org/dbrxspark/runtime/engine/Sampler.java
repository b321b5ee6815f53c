package org.dbrxspark.runtime.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token of one sequence from its logits. One instance per sequence: it owns the
 * sequence's random stream, so the draw depends only on the request's seed and its own history.
 */
final class Sampler {
  private final SamplingParams params;
  private final boolean[] producible;
  private final SplittableRandom random;
  /** Tokens seen so far (prompt and output), for the repetition penalty. */
  private final boolean[] seen;

  Sampler(SamplingParams params, boolean[] producible, int[] prompt) {
    this.params = params;
    this.producible = producible;
    this.random = new SplittableRandom(params.seed());
    this.seen = new boolean[producible.length];
    for (int id : prompt) {
      seen[id] = true;
    }
  }

  int vocabSize() {
    return producible.length;
  }

  /** Chooses a token from {@code logits} ({@code vocab} values starting at {@code offset}). */
  int next(float[] logits, int offset) {
    int vocab = producible.length;
    float[] scores = Arrays.copyOfRange(logits, offset, offset + vocab);
    for (int v = 0; v < vocab; v++) {
      if (params.maskUnproducible() && !producible[v]) {
        scores[v] = Float.NEGATIVE_INFINITY;
      } else if (seen[v] && params.repetitionPenalty() != 1) {
        float p = (float) params.repetitionPenalty();
        scores[v] = scores[v] > 0 ? scores[v] / p : scores[v] * p;
      }
    }
    int token = params.temperature() == 0 ? argmax(scores) : draw(scores);
    seen[token] = true;
    return token;
  }

  private static int argmax(float[] scores) {
    int best = 0;
    for (int v = 1; v < scores.length; v++) {
      if (scores[v] > scores[best]) {
        best = v;
      }
    }
    return best;
  }

  /** Temperature, then top-k, top-p and min-p filtering, then one seeded draw. */
  private int draw(float[] scores) {
    int[] candidates = candidatesByScore(scores);
    int count = candidates.length;
    if (params.topK() > 0) {
      count = Math.min(count, params.topK());
    }
    double max = scores[candidates[0]];
    double[] probabilities = new double[count];
    double sum = 0;
    for (int i = 0; i < count; i++) {
      probabilities[i] = Math.exp((scores[candidates[i]] - max) / params.temperature());
      sum += probabilities[i];
    }
    double cumulative = 0;
    int kept = 0;
    while (kept < count) {
      double p = probabilities[kept] / sum;
      if (kept > 0 && (cumulative >= params.topP() || p < params.minP() * probabilities[0] / sum)) {
        break;
      }
      cumulative += p;
      kept++;
    }
    double target = random.nextDouble() * cumulative * sum;
    double running = 0;
    for (int i = 0; i < kept; i++) {
      running += probabilities[i];
      if (target < running) {
        return candidates[i];
      }
    }
    return candidates[kept - 1];
  }

  /** Ids with a finite score, most likely first (ties by id, so the order is deterministic). */
  private int[] candidatesByScore(float[] scores) {
    long[] keyed = new long[scores.length];
    int n = 0;
    for (int v = 0; v < scores.length; v++) {
      if (scores[v] != Float.NEGATIVE_INFINITY) {
        // Sortable bits of -score in the high word, the id in the low word: one primitive sort.
        int bits = Float.floatToIntBits(-scores[v]);
        bits ^= (bits >> 31) & 0x7fffffff;
        keyed[n++] = ((long) bits << 32) | v;
      }
    }
    if (n == 0) {
      throw new IllegalStateException("every token is masked: nothing to sample");
    }
    long[] sorted = Arrays.copyOf(keyed, n);
    Arrays.sort(sorted);
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = (int) sorted[i];
    }
    return ids;
  }
}
