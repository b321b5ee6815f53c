package org.dbrxspark.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.junit.jupiter.api.Test;

/** The sampling filters on hand-made logits over DBRX's full vocabulary. */
class SamplerTest {
  private static final int VOCAB = 100352;
  private static final boolean[] PRODUCIBLE = DbrxTokenizer.shared().producibleMask(VOCAB);

  private static float[] logits(int... favourites) {
    float[] logits = new float[VOCAB];
    for (int i = 0; i < favourites.length; i++) {
      logits[favourites[i]] = 10 - i; // each favourite e times likelier than the next
    }
    return logits;
  }

  private static Set<Integer> draws(SamplingParams params, float[] logits, int n) {
    Set<Integer> seen = new HashSet<>();
    for (int seed = 0; seed < n; seed++) {
      seen.add(
          new Sampler(params.toBuilder().seed(seed).build(), PRODUCIBLE, new int[0])
              .next(logits, 0));
    }
    return seen;
  }

  @Test
  void neverProducedIdsAreMaskedUnlessAskedOtherwise() {
    float[] logits = logits(100256, 100300, 42);
    SamplingParams greedy = SamplingParams.greedy();
    assertEquals(42, new Sampler(greedy, PRODUCIBLE, new int[0]).next(logits, 0));
    SamplingParams unmasked = greedy.toBuilder().maskUnproducible(false).build();
    assertEquals(100256, new Sampler(unmasked, PRODUCIBLE, new int[0]).next(logits, 0));
  }

  @Test
  void topKOfOneIsGreedy() {
    SamplingParams params = SamplingParams.builder().temperature(5).topK(1).build();
    assertEquals(Set.of(7), draws(params, logits(7, 8, 9), 50));
  }

  @Test
  void topPKeepsTheSmallestSetReachingTheMass() {
    // Probabilities ~ e^10 : e^9 : e^8 over three favourites, the rest negligible at T = 0.5.
    SamplingParams params = SamplingParams.builder().temperature(0.5).topP(0.85).build();
    assertEquals(Set.of(7), draws(params, logits(7, 8, 9), 100));
    SamplingParams wider = SamplingParams.builder().temperature(0.5).topP(0.9).build();
    assertEquals(Set.of(7, 8), draws(wider, logits(7, 8, 9), 200));
  }

  @Test
  void minPDropsTokensFarBelowTheBest() {
    SamplingParams params = SamplingParams.builder().temperature(1).minP(0.2).build();
    // e^-1 = 0.37 of the best survives, e^-2 = 0.14 does not.
    assertEquals(Set.of(7, 8), draws(params, logits(7, 8, 9), 200));
  }

  @Test
  void repetitionPenaltyPushesSeenTokensDown() {
    float[] logits = logits(7, 8);
    SamplingParams penalised = SamplingParams.builder().repetitionPenalty(1.5).build();
    assertEquals(8, new Sampler(penalised, PRODUCIBLE, new int[] {7}).next(logits, 0));
    assertEquals(
        7, new Sampler(SamplingParams.greedy(), PRODUCIBLE, new int[] {7}).next(logits, 0));
  }

  @Test
  void theSameSeedDrawsTheSameTokenAndSeedsVary() {
    SamplingParams params = SamplingParams.builder().temperature(1).build();
    float[] flat = new float[VOCAB];
    Set<Integer> draws = draws(params, flat, 20);
    assertTrue(draws.size() > 15, "20 seeds over a flat distribution gave " + draws);
    assertEquals(draws, draws(params, flat, 20));
  }

  @Test
  void invalidParametersNameTheParameter() {
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class, () -> SamplingParams.builder().topP(0).build());
    assertEquals("top_p must be in (0, 1], got 0.0", e.getMessage());
  }
}
