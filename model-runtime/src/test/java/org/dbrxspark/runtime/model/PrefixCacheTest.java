package org.dbrxspark.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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

/**
 * The pool's prefix cache: what is shared, what is evicted, and that shared blocks give the same
 * bits.
 */
class PrefixCacheTest {
  private static Backend kernels;
  private static DbrxModel model;

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

  private static int[] tokens(int length, int salt) {
    int[] ids = new int[length];
    for (int i = 0; i < length; i++) {
      ids[i] = (37 * i + 11 * salt + 5) % 1024;
    }
    return ids;
  }

  /** Runs {@code ids} into a new prefix-sharing cache of {@code pool}, which it returns. */
  private static KvCache fill(KvBlockPool pool, int[] ids, PrefixCacheCounts counts) {
    KvCache cache = pool.newPrefixCache(counts);
    cache.shareCachedPrefix(ids);
    model.forward(
        List.of(new Step(cache, Arrays.copyOfRange(ids, cache.length(), ids.length), false)));
    return cache;
  }

  @Test
  void attentionOverSharedBlocksGivesTheBitsOfAFullPrefill() {
    for (KvDType dtype : KvDType.values()) {
      KvBlockPool pool = model.newKvPool(dtype, 256, true);
      int[] ids = tokens(45, 1);
      // Without sharing: the whole sequence in one prefill, every position's final hidden state.
      float[] full = model.forward(List.of(new Step(pool.newCache(), ids, true)));
      fill(pool, ids, new PrefixCacheCounts()).release();
      KvCache cache = pool.newPrefixCache(new PrefixCacheCounts());
      assertEquals(2, cache.shareCachedPrefix(ids), dtype.label());
      float[] rest = model.forward(List.of(new Step(cache, Arrays.copyOfRange(ids, 32, 45), true)));
      int d = model.config().dModel();
      assertArrayEquals(Arrays.copyOfRange(full, 32 * d, 45 * d), rest, dtype.label());
      cache.release();
    }
  }

  @Test
  void onlyTheSamePrefixIsSharedAndAtLeastOneTokenIsLeftToCompute() {
    KvBlockPool pool = model.newKvPool(KvDType.F16, 512, true);
    PrefixCacheCounts counts = new PrefixCacheCounts();
    int[] first = tokens(48, 2);
    fill(pool, first, counts).release();
    assertEquals(3, pool.cachedFree());
    assertEquals(0, pool.taken());

    // Same tokens: all but the block of the last token come from the cache.
    KvCache same = pool.newPrefixCache(counts);
    assertEquals(2, same.shareCachedPrefix(first));
    assertEquals(32, same.length());
    same.release();

    // Same first block, different second block: one block shared.
    int[] branch = first.clone();
    branch[20] = 999;
    KvCache branched = pool.newPrefixCache(counts);
    assertEquals(1, branched.shareCachedPrefix(branch));
    branched.release();

    // The second block's tokens after another first block: keys chain, so nothing is shared.
    int[] otherStart = first.clone();
    otherStart[0] = 998;
    KvCache other = pool.newPrefixCache(counts);
    assertEquals(0, other.shareCachedPrefix(otherStart));
    other.release();

    // A sequence that is exactly a cached block still computes its last token's block.
    KvCache oneBlock = pool.newPrefixCache(counts);
    assertEquals(0, oneBlock.shareCachedPrefix(Arrays.copyOf(first, 16)));
    assertEquals(1, pool.newPrefixCache(counts).shareCachedPrefix(Arrays.copyOf(first, 17)));
    assertEquals(0, pool.newCache().shareCachedPrefix(first), "a plain cache never shares");
    KvCache twice = pool.newPrefixCache(counts);
    twice.shareCachedPrefix(first);
    assertThrows(IllegalStateException.class, () -> twice.shareCachedPrefix(first));
  }

  @Test
  void sharedBlocksAreCountedOnceAndStayCachedAfterRelease() {
    KvBlockPool pool = model.newKvPool(KvDType.F16, 512, true);
    int[] ids = tokens(40, 3);
    KvCache a = fill(pool, ids, new PrefixCacheCounts());
    assertEquals(3, pool.taken());
    KvCache b = pool.newPrefixCache(new PrefixCacheCounts());
    b.shareCachedPrefix(ids);
    assertEquals(3, pool.taken(), "b holds a's two full blocks");
    assertTrue(b.tryReserve(ids.length - b.length() + 1));
    assertEquals(4, pool.taken());
    a.release();
    assertEquals(3, pool.taken(), "the shared blocks stay held by b, a's last block is free");
    b.release();
    assertEquals(0, pool.taken());
    assertEquals(2, pool.cachedFree(), "a's two full blocks; the partial blocks are not cached");
  }

  @Test
  void cachedBlocksAreEvictedLeastRecentlyUsedFirstOnlyWhenThePoolNeedsThem() {
    KvBlockPool pool = model.newKvPool(KvDType.F16, 64, true);
    PrefixCacheCounts counts = new PrefixCacheCounts();
    int[] a = tokens(33, 4);
    int[] b = tokens(17, 5);
    fill(pool, a, counts).release();
    assertEquals(2, pool.cachedFree());
    fill(pool, b, counts).release();
    // Four blocks: a's two and b's first are cached, one is free and uncached.
    assertEquals(3, pool.cachedFree());
    assertEquals(0, counts.evictedBlocks());
    KvCache big = pool.newPrefixCache(counts);
    assertTrue(big.tryReserve(32));
    // The free block first, then the least recently released: a's second block (released last
    // first).
    assertEquals(1, counts.evictedBlocks());
    assertEquals(
        1, pool.newPrefixCache(counts).shareCachedPrefix(a), "a's first block is still cached");
    assertEquals(1, pool.newPrefixCache(counts).shareCachedPrefix(b), "so is b's");
  }
}
