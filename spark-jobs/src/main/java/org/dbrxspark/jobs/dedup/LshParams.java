package org.dbrxspark.jobs.dedup;

import java.io.Serializable;

/**
 * LSH banding: {@code bands} bands of {@code rows} MinHash values each. Two documents with Jaccard
 * similarity s share at least one band with probability {@code 1 - (1 - s^rows)^bands}.
 */
public record LshParams(int bands, int rows) implements Serializable {
  /** The probability with which {@link #forRecall} makes a pair at the threshold a candidate. */
  public static final double RECALL_AT_THRESHOLD = 0.95;

  private static final int STEPS = 1000;

  /**
   * The bands and rows for verified deduplication, where a false candidate costs one exact Jaccard
   * computation and a missed pair is a duplicate left in the corpus: among the bandings ({@code
   * bands * rows <= numPerm}) under which a pair at {@code threshold} becomes a candidate with
   * probability at least {@code recall}, the one with the smallest false-positive area (the fewest
   * candidates to verify). The probability grows with the similarity, so every pair at or above the
   * threshold is found with at least that probability. When no banding reaches it, the one with the
   * highest probability.
   */
  public static LshParams forRecall(double threshold, int numPerm, double recall) {
    LshParams best = null;
    double bestArea = Double.MAX_VALUE;
    LshParams likeliest = null;
    for (int b = 1; b <= numPerm; b++) {
      for (int r = 1; b * r <= numPerm; r++) {
        LshParams p = new LshParams(b, r);
        double chance = p.collisionProbability(threshold);
        if (likeliest == null || chance > likeliest.collisionProbability(threshold)) {
          likeliest = p;
        }
        double area = falsePositiveArea(threshold, b, r);
        if (chance >= recall && area < bestArea) {
          bestArea = area;
          best = p;
        }
      }
    }
    return best != null ? best : likeliest;
  }

  /**
   * The bands and rows for unverified deduplication, where a false candidate is a wrongly removed
   * document: those (with {@code bands * rows <= numPerm}) minimising the sum of the false-positive
   * area (the probability of becoming a candidate, integrated over similarities below {@code
   * threshold}) and the false-negative area (the probability of being missed, integrated over
   * similarities above it), weighted equally.
   */
  public static LshParams optimal(double threshold, int numPerm) {
    LshParams best = null;
    double bestError = Double.MAX_VALUE;
    for (int b = 1; b <= numPerm; b++) {
      for (int r = 1; b * r <= numPerm; r++) {
        double error = falsePositiveArea(threshold, b, r) + falseNegativeArea(threshold, b, r);
        if (error < bestError) {
          bestError = error;
          best = new LshParams(b, r);
        }
      }
    }
    return best;
  }

  /** The probability that documents with Jaccard similarity {@code s} become candidates. */
  public double collisionProbability(double s) {
    return 1 - Math.pow(1 - Math.pow(s, rows), bands);
  }

  static double falsePositiveArea(double t, int b, int r) {
    LshParams p = new LshParams(b, r);
    return integrate(0, t, p::collisionProbability);
  }

  static double falseNegativeArea(double t, int b, int r) {
    LshParams p = new LshParams(b, r);
    return integrate(t, 1, s -> 1 - p.collisionProbability(s));
  }

  private static double integrate(
      double from, double to, java.util.function.DoubleUnaryOperator f) {
    double h = (to - from) / STEPS;
    double sum = 0;
    for (int i = 0; i < STEPS; i++) {
      sum += f.applyAsDouble(from + (i + 0.5) * h);
    }
    return sum * h;
  }
}
