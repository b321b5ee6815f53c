package org.dbrxspark.runtime.engine;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.dbrxspark.runtime.structured.CompiledFormat;
import org.dbrxspark.runtime.tokenizer.SpecialTokens;

/**
 * Picks the next token of one sequence from its logits. One instance per sequence: it owns the
 * sequence's random stream, so the draw depends only on the request's seed and its own history.
 * Under a response format it also owns the format's DFA state, and samples only the tokens that
 * state allows, so the constraint too depends on nothing but the sequence itself.
 *
 * <p>A row of logits becomes scores in this order (vLLM's): masks (the format's, else the
 * unproducible ids), logit bias, the repetition penalty, presence and frequency penalties, then,
 * while fewer than {@code min_tokens} are generated, end-of-sequence and stop token ids are
 * suppressed unless nothing else is left (a response format may allow nothing else). Temperature
 * and the top-k, top-p and min-p filters act on those scores.
 */
final class Sampler {
  private final SamplingParams params;
  private final boolean[] producible;
  private final SplittableRandom random;

  /** Tokens seen so far (prompt and output), for the repetition penalty. */
  private final boolean[] seen;

  /** The response format, or null; its state advances with every sampled token. */
  private final CompiledFormat format;

  private int formatState;

  /** Bias per id, or null without a logit bias. */
  private final float[] bias;

  /** Times each id was generated, or null without presence and frequency penalties. */
  private final int[] counts;

  /** Ids that end generation: end-of-sequence and the stop token ids. */
  private final int[] stopIds;

  private int generated;

  /** The ids in {@code params}' logit bias and stop token ids must be inside the vocabulary. */
  Sampler(SamplingParams params, boolean[] producible, int[] prompt) {
    this.params = params;
    this.producible = producible;
    this.random = new SplittableRandom(params.seed());
    this.format = params.responseFormat();
    this.formatState = format == null ? 0 : format.start();
    this.seen = new boolean[producible.length];
    for (int id : prompt) {
      seen[id] = true;
    }
    this.bias = params.logitBias().isEmpty() ? null : new float[producible.length];
    params.logitBias().forEach((id, b) -> bias[id] = (float) b.doubleValue());
    boolean penalised = params.presencePenalty() != 0 || params.frequencyPenalty() != 0;
    this.counts = penalised ? new int[producible.length] : null;
    this.stopIds =
        IntStream.concat(
                SpecialTokens.EOS_IDS.stream().mapToInt(Integer::intValue).sorted(),
                params.stopTokenIds().stream().mapToInt(Integer::intValue))
            .filter(id -> id < producible.length)
            .distinct()
            .toArray();
  }

  /** Whether drawing {@code token} ends generation: an end-of-sequence or stop token id. */
  boolean stops(int token) {
    for (int id : stopIds) {
      if (id == token) {
        return true;
      }
    }
    return false;
  }

  int vocabSize() {
    return producible.length;
  }

  /** Chooses a token from {@code logits} ({@code vocab} values starting at {@code offset}). */
  int next(float[] logits, int offset) {
    int vocab = producible.length;
    float[] scores = Arrays.copyOfRange(logits, offset, offset + vocab);
    long[] allowed = format == null ? null : format.allowed(formatState);
    for (int v = 0; v < vocab; v++) {
      boolean masked =
          allowed != null
              ? (v >>> 6) >= allowed.length || (allowed[v >>> 6] & (1L << v)) == 0
              : params.maskUnproducible() && !producible[v];
      if (masked) {
        scores[v] = Float.NEGATIVE_INFINITY;
        continue;
      }
      if (bias != null) {
        scores[v] += bias[v];
      }
      if (seen[v] && params.repetitionPenalty() != 1) {
        float p = (float) params.repetitionPenalty();
        scores[v] = scores[v] > 0 ? scores[v] / p : scores[v] * p;
      }
      if (counts != null && counts[v] > 0) {
        scores[v] -= (float) (params.presencePenalty() + params.frequencyPenalty() * counts[v]);
      }
    }
    if (generated < params.minTokens()) {
      suppressStops(scores);
    }
    int token = params.temperature() == 0 ? argmax(scores) : draw(scores);
    seen[token] = true;
    if (counts != null) {
      counts[token]++;
    }
    generated++;
    if (format != null && !SpecialTokens.isEos(token)) {
      formatState = format.advance(formatState, token);
    }
    return token;
  }

  /** Masks the stop ids, unless they are all that is left (a format's match may be complete). */
  private void suppressStops(float[] scores) {
    float[] kept = new float[stopIds.length];
    for (int i = 0; i < stopIds.length; i++) {
      kept[i] = scores[stopIds[i]];
      scores[stopIds[i]] = Float.NEGATIVE_INFINITY;
    }
    for (float score : scores) {
      if (score != Float.NEGATIVE_INFINITY) {
        return;
      }
    }
    for (int i = 0; i < stopIds.length; i++) {
      scores[stopIds[i]] = kept[i];
    }
  }

  /** Whether the text so far matches the response format (true without one). */
  boolean formatMatched() {
    return format == null || format.accepting(formatState);
  }

  /** Whether the text so far is a whole match that no token may extend: generation ends. */
  boolean formatComplete() {
    return format != null && format.complete(formatState);
  }

  boolean constrained() {
    return format != null;
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

  /**
   * Temperature, then top-k, top-p and min-p filtering, then one seeded draw. Only the tokens the
   * filters can keep are sorted: a few hundred, not the whole vocabulary, in the usual case.
   */
  private int draw(float[] scores) {
    double temperature = params.temperature();
    float max = Float.NEGATIVE_INFINITY;
    double total = 0;
    int finite = 0;
    for (float score : scores) {
      max = Math.max(max, score);
    }
    if (max == Float.NEGATIVE_INFINITY) {
      throw new IllegalStateException("every token is masked: nothing to sample");
    }
    for (float score : scores) {
      if (score != Float.NEGATIVE_INFINITY) {
        total += Math.exp((score - max) / temperature);
        finite++;
      }
    }
    boolean filtered = params.topK() > 0 || params.topP() < 1 || params.minP() > 0;
    // Widen the window below the best score until it holds every token a filter could keep.
    double gap = temperature * Math.log(1e4);
    int[] candidates;
    while (true) {
      candidates = filtered ? sortedAbove(scores, max - gap) : allFinite(scores, finite);
      if (!filtered
          || candidates.length == finite
          || (params.minP() > 0 && gap >= -temperature * Math.log(params.minP()))
          || (params.topK() > 0 && candidates.length >= params.topK())
          || (params.topK() == 0 && mass(scores, candidates, max) >= params.topP() * total)) {
        break;
      }
      gap *= 3;
    }
    int count = params.topK() > 0 ? Math.min(candidates.length, params.topK()) : candidates.length;
    double[] weights = new double[count];
    double sum = 0;
    for (int i = 0; i < count; i++) {
      weights[i] = Math.exp((scores[candidates[i]] - max) / temperature);
      sum += weights[i];
    }
    // Top-p and min-p act on the distribution after top-k (or over the whole vocabulary).
    double norm = params.topK() > 0 ? sum : total;
    double cumulative = 0;
    double keptWeight = 0;
    int kept = 0;
    while (kept < count) {
      if (kept > 0 && (cumulative >= params.topP() || weights[kept] < params.minP() * weights[0])) {
        break;
      }
      cumulative += weights[kept] / norm;
      keptWeight += weights[kept];
      kept++;
    }
    double target = random.nextDouble() * keptWeight;
    double running = 0;
    for (int i = 0; i < kept; i++) {
      running += weights[i];
      if (target < running) {
        return candidates[i];
      }
    }
    return candidates[kept - 1];
  }

  private double mass(float[] scores, int[] ids, float max) {
    double sum = 0;
    for (int id : ids) {
      sum += Math.exp((scores[id] - max) / params.temperature());
    }
    return sum;
  }

  private static int[] allFinite(float[] scores, int finite) {
    int[] ids = new int[finite];
    int n = 0;
    for (int v = 0; v < scores.length; v++) {
      if (scores[v] != Float.NEGATIVE_INFINITY) {
        ids[n++] = v;
      }
    }
    return ids;
  }

  /** Ids scoring at least {@code floor}, most likely first (ties by id, so the order is fixed). */
  private static int[] sortedAbove(float[] scores, double floor) {
    long[] keyed = new long[64];
    int n = 0;
    for (int v = 0; v < scores.length; v++) {
      if (scores[v] >= floor && scores[v] != Float.NEGATIVE_INFINITY) {
        if (n == keyed.length) {
          keyed = Arrays.copyOf(keyed, n * 2);
        }
        // Sortable bits of -score in the high word, the id in the low word: one primitive sort.
        int bits = Float.floatToIntBits(-scores[v]);
        bits ^= (bits >> 31) & 0x7fffffff;
        keyed[n++] = ((long) bits << 32) | v;
      }
    }
    Arrays.sort(keyed, 0, n);
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = (int) keyed[i];
    }
    return ids;
  }
}
