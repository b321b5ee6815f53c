package org.dbrxspark.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.kernels.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The paged KV cache: block accounting, and what f16/bf16 storage does to the logits. */
class KvCacheTest {
  private static Backend kernels;
  private static DbrxModel model;

  private static final int[] A = {5, 900, 17, 333, 1023, 0, 64, 12, 12, 400};

  @BeforeAll
  static void load() throws Exception {
    kernels = new CpuBackend(2);
    model = DbrxModel.load(GoldenSets.dir("tiny-bf16"), kernels);
  }

  @AfterAll
  static void close() {
    model.close();
    kernels.close();
  }

  private static KvBlockPool pool(KvDType dtype, long tokens) {
    return model.newKvPool(dtype, tokens, false);
  }

  @Test
  void blocksAreTakenAsASequenceGrowsAndReusedAfterRelease() {
    KvBlockPool pool = pool(KvDType.F16, 64);
    assertEquals(4, pool.capacity());
    KvCache a = pool.newCache();
    KvCache b = pool.newCache();
    assertTrue(a.tryReserve(17));
    assertEquals(2, a.blocks());
    assertEquals(2, pool.taken());
    assertFalse(b.tryReserve(40), "3 blocks needed, 2 free");
    assertEquals(0, b.blocks(), "a refused reservation takes nothing");
    assertEquals(2, pool.taken());
    a.release();
    assertEquals(0, pool.taken());
    assertTrue(b.tryReserve(40));
    assertEquals(3, pool.taken());
    assertEquals(3, pool.allocated(), "the released blocks' memory is reused");
  }

  @Test
  void aForwardPassTakesTheBlocksItsPositionsNeed() {
    KvBlockPool pool = pool(KvDType.F32, 256);
    KvCache cache = pool.newCache();
    model.forward(List.of(new Step(cache, Arrays.copyOf(A, 10), false)));
    assertEquals(1, cache.blocks());
    for (int i = 0; i < 7; i++) {
      model.forward(List.of(new Step(cache, new int[] {A[i]}, false)));
    }
    assertEquals(17, cache.length());
    assertEquals(2, cache.blocks());
    assertEquals(2, pool.taken());
    cache.release();
    assertEquals(0, pool.taken());
  }

  @Test
  void decodingAcrossBlockBoundariesEqualsAFullRecompute() {
    int[] ids = new int[40];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = (i * 37) % 1024;
    }
    KvBlockPool pool = pool(KvDType.F16, 128);
    int d = model.config().dModel();
    float[] full = model.forward(List.of(new Step(pool.newCache(), ids, true)));
    KvCache cache = pool.newCache();
    float[] incremental = new float[full.length];
    System.arraycopy(
        model.forward(List.of(new Step(cache, Arrays.copyOf(ids, 10), true))),
        0,
        incremental,
        0,
        10 * d);
    for (int t = 10; t < ids.length; t++) {
      System.arraycopy(
          model.forward(List.of(new Step(cache, new int[] {ids[t]}, false))),
          0,
          incremental,
          t * d,
          d);
    }
    assertEquals(3, cache.blocks());
    assertArrayEquals(full, incremental);
  }

  @Test
  void aFullPoolIsAnErrorForCallersThatDoNotScheduleAroundIt() {
    KvBlockPool pool = pool(KvDType.F32, 16);
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> model.forward(List.of(new Step(pool.newCache(), new int[17], false))));
    assertEquals(
        "KV cache full: 17 more tokens need 2 blocks, 0 of the pool's 1 are taken", e.getMessage());
  }

  @Test
  void halfPrecisionCachesGiveLogitsCloseToF32() {
    int vocab = model.config().vocabSize();
    float[] reference = logits(KvDType.F32, vocab);
    double scale = 0;
    for (float v : reference) {
      scale = Math.max(scale, Math.abs(v));
    }
    for (KvDType dtype : new KvDType[] {KvDType.F16, KvDType.BF16}) {
      float[] got = logits(dtype, vocab);
      double worst = 0;
      for (int i = 0; i < got.length; i++) {
        worst = Math.max(worst, Math.abs(got[i] - reference[i]));
      }
      // Storing rounds each key and value by at most the dtype's unit roundoff u (2^-11 for f16,
      // 2^-8 for bf16), relative. To first order each of the 2 x n_layers stored tensors moves
      // the logits by at most u of their magnitude. Measured on this checkpoint: f16 8.3e-4, bf16
      // 5.7e-3, largest logit 2.87 (about u/2 of it for both).
      double u = dtype == KvDType.F16 ? 0x1p-11 : 0x1p-8;
      double bound = 2 * model.config().nLayers() * u * scale;
      System.out.printf(
          "%s KV: max |logit - f32 logit| = %.3g (largest logit %.3g, bound %.3g)%n",
          dtype.label(), worst, scale, bound);
      assertTrue(worst > 0, dtype + " storage should round something");
      assertTrue(worst <= bound, dtype + ": " + worst);
    }
  }

  private static float[] logits(KvDType dtype, int vocab) {
    float[] hidden = model.forward(List.of(new Step(pool(dtype, 256).newCache(), A, true)));
    float[] logits = new float[A.length * vocab];
    model.logits(hidden, A.length, logits);
    return logits;
  }

  @Test
  void aForkSharesItsSourcesFullBlocksCopiesThePartialOneAndContinuesAsTheSourceDoes() {
    KvBlockPool pool = pool(KvDType.F16, 128);
    int[] prompt = new int[37];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = (i * 131 + 7) % 1024;
    }
    KvCache source = pool.newCache();
    assertTrue(source.tryReserve(prompt.length + 1));
    KvCache fork = pool.newCache();
    assertTrue(fork.tryFork(source, prompt.length, 1));
    assertEquals(4, pool.taken(), "two full blocks shared, one partial block each");
    model.forward(List.of(new Step(source, prompt, false)));
    fork.completeFork(source);
    assertEquals(prompt.length, fork.length());
    // The next token through both caches, and through a cache that computed the prompt itself.
    KvCache alone = pool.newCache();
    model.forward(List.of(new Step(alone, prompt, false)));
    int[] next = {77};
    float[] want = model.forward(List.of(new Step(alone, next, false)));
    float[] both =
        model.forward(List.of(new Step(source, next, false), new Step(fork, next, false)));
    int width = want.length;
    assertArrayEquals(want, Arrays.copyOfRange(both, 0, width));
    assertArrayEquals(want, Arrays.copyOfRange(both, width, 2 * width));
    alone.release();
    source.release();
    assertEquals(3, pool.taken(), "the fork still holds the shared blocks");
    fork.release();
    assertEquals(0, pool.taken());
  }

  @Test
  void aForkThatFindsNoFreeBlockHoldsNothing() {
    KvBlockPool pool = pool(KvDType.F16, 64);
    KvCache source = pool.newCache();
    assertTrue(source.tryReserve(64));
    KvCache fork = pool.newCache();
    assertFalse(fork.tryFork(source, 40, 1));
    assertEquals(0, fork.blocks());
    assertEquals(4, pool.taken());
    source.release();
    assertEquals(0, pool.taken(), "the shared blocks were given back");
  }
}
