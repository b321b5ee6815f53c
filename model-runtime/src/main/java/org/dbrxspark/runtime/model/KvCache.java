package org.dbrxspark.runtime.model;

import java.util.Arrays;

/**
 * The keys and values one sequence has produced so far, in every layer: a block table mapping its
 * positions to blocks of a {@link KvBlockPool}, block {@code p / BLOCK_TOKENS} holding position
 * {@code p}. Blocks are taken as the sequence grows and returned by {@link #release}.
 *
 * <p>Not thread-safe: one sequence is driven by one forward pass at a time.
 */
public final class KvCache {
  private final KvBlockPool pool;
  private int[] blocks = new int[0];
  private int blockCount;
  private int length;

  KvCache(KvBlockPool pool) {
    this.pool = pool;
  }

  /** Tokens cached so far: the position of the next token. */
  public int length() {
    return length;
  }

  /** Blocks this cache holds. */
  public int blocks() {
    return blockCount;
  }

  /**
   * Takes the blocks that {@code more} tokens beyond the current length need; returns false, taking
   * none, when the pool has too few free.
   */
  public boolean tryReserve(int more) {
    int needed = (int) KvBlockPool.blocksFor((long) length + more) - blockCount;
    if (needed <= 0) {
      return true;
    }
    int[] taken = pool.take(needed);
    if (taken == null) {
      return false;
    }
    if (blocks.length < blockCount + needed) {
      blocks = Arrays.copyOf(blocks, Math.max(blockCount + needed, 2 * blocks.length));
    }
    System.arraycopy(taken, 0, blocks, blockCount, needed);
    blockCount += needed;
    return true;
  }

  /** Returns every block to the pool and empties the cache, which may then be filled again. */
  public void release() {
    pool.release(blocks, blockCount);
    blockCount = 0;
    length = 0;
  }

  /** Like {@link #tryReserve}, but a full pool is an error: for callers that do not schedule around it. */
  void reserve(int more) {
    if (!tryReserve(more)) {
      throw new IllegalStateException("KV cache full: " + more + " more tokens need "
          + (KvBlockPool.blocksFor((long) length + more) - blockCount) + " blocks, " + pool.taken()
          + " of the pool's " + pool.capacity() + " are taken");
    }
  }

  /** The block table: entry {@code i} is the pool block holding positions {@code [16i, 16i + 16)}. */
  int[] blockTable() {
    return blocks;
  }

  KvBlockPool pool() {
    return pool;
  }

  /** Marks {@code count} reserved positions as filled (after every layer has written them). */
  void advance(int count) {
    length += count;
  }
}
