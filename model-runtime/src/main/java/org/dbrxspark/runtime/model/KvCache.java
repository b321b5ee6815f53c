package org.dbrxspark.runtime.model;

import java.util.Arrays;

/**
 * The keys and values one sequence has produced so far, in every layer: a block table mapping its
 * positions to blocks of a {@link KvBlockPool}, block {@code p / BLOCK_TOKENS} holding position
 * {@code p}. Blocks are taken as the sequence grows and returned by {@link #release}.
 *
 * <p>A cache made with prefix caching also keeps its tokens: it can start from the pool's cached
 * blocks of a prefix ({@link #shareCachedPrefix}), and offers each block it fills to the pool. Any
 * cache can start as a fork of another at a common prefix ({@link #tryFork}).
 *
 * <p>Not thread-safe: one sequence is driven by one forward pass at a time.
 */
public final class KvCache {
  private final KvBlockPool pool;
  private final boolean prefixCaching;
  private final PrefixCacheCounts counts;
  private int[] blocks = new int[0];
  private int blockCount;
  private int length;

  /** With prefix caching: the tokens at positions {@code [0, length)}. */
  private int[] tokens = new int[0];

  /** With prefix caching: per full block, the serial its contents are cached under. */
  private long[] serials = new long[0];

  private int offered;

  KvCache(KvBlockPool pool, boolean prefixCaching, PrefixCacheCounts counts) {
    this.pool = pool;
    this.prefixCaching = prefixCaching;
    this.counts = counts;
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
   * Starts an empty cache from the pool's cached blocks that begin {@code sequence}, at most {@link
   * #shareableBlocks} of them. Does nothing without prefix caching.
   *
   * @return the blocks shared; the cache now holds their positions
   */
  public int shareCachedPrefix(int[] sequence) {
    if (!prefixCaching) {
      return 0;
    }
    if (length > 0 || blockCount > 0) {
      throw new IllegalStateException("only an empty cache can start from a cached prefix");
    }
    KvBlockPool.Shared shared = pool.share(sequence, shareableBlocks(sequence.length));
    int found = shared.blocks().length;
    blocks = Arrays.copyOf(shared.blocks(), Math.max(found, blocks.length));
    blockCount = found;
    serials = Arrays.copyOf(shared.serials(), Math.max(found, serials.length));
    offered = found;
    length = found * KvBlockPool.BLOCK_TOKENS;
    tokens = Arrays.copyOf(sequence, Math.max(length, tokens.length));
    return found;
  }

  /**
   * Starts this empty cache as a fork of {@code source} at {@code length} positions (vLLM's fork of
   * a sequence into n samples): holds source's blocks that lie wholly inside them too, shared by
   * reference (neither cache writes them again: a cache writes only past its length), and takes
   * blocks of its own for the rest and for {@code more} positions after. Source must hold those
   * positions, or have them reserved in the forward pass under way; once they are written, {@link
   * #completeFork} makes them this cache's.
   *
   * @return false, holding nothing, when the pool has too few free blocks
   */
  public boolean tryFork(KvCache source, int length, int more) {
    if (this.length > 0 || blockCount > 0) {
      throw new IllegalStateException("only an empty cache can start as a fork");
    }
    int full = length / KvBlockPool.BLOCK_TOKENS;
    pool.retain(source.blocks, full);
    blocks = Arrays.copyOf(source.blocks, Math.max(full, blocks.length));
    blockCount = full;
    if (!tryReserve(length + more)) {
      release();
      return false;
    }
    return true;
  }

  /**
   * Finishes {@link #tryFork} once {@code source} has written its positions: this cache then holds
   * them all, the last partial block as a copy in its own block, and continues from source's length
   * (with prefix caching, from its tokens and the cache entries of its full blocks).
   */
  public void completeFork(KvCache source) {
    int full = source.length / KvBlockPool.BLOCK_TOKENS;
    if (length > 0 || !Arrays.equals(blocks, 0, full, source.blocks, 0, full)) {
      throw new IllegalStateException("this cache is not a fork of that one at its length");
    }
    if (source.length % KvBlockPool.BLOCK_TOKENS != 0) {
      pool.storage().copyBlock(source.blocks[full], blocks[full]);
    }
    length = source.length;
    if (prefixCaching) {
      tokens = Arrays.copyOf(source.tokens, Math.max(length, tokens.length));
      serials = Arrays.copyOf(source.serials, Math.max(full, serials.length));
      offered = full;
    }
  }

  /**
   * The full blocks of a {@code length}-token sequence that may come from the prefix cache: all but
   * the one holding its last token, which must be computed for its logits.
   */
  public static int shareableBlocks(int length) {
    return (length - 1) / KvBlockPool.BLOCK_TOKENS;
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
    int[] taken = pool.take(needed, counts);
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
    offered = 0;
  }

  /**
   * Like {@link #tryReserve}, but a full pool is an error: for callers that do not schedule around
   * it.
   */
  void reserve(int more) {
    if (!tryReserve(more)) {
      throw new IllegalStateException(
          "KV cache full: "
              + more
              + " more tokens need "
              + (KvBlockPool.blocksFor((long) length + more) - blockCount)
              + " blocks, "
              + pool.taken()
              + " of the pool's "
              + pool.capacity()
              + " are taken");
    }
  }

  /**
   * The block table: entry {@code i} is the pool block holding positions {@code [16i, 16i + 16)}.
   */
  int[] blockTable() {
    return blocks;
  }

  KvBlockPool pool() {
    return pool;
  }

  /**
   * Marks reserved positions as filled with {@code added} (after every layer has written them) and,
   * with prefix caching, offers the blocks they completed to the pool.
   */
  void advance(int[] added) {
    if (!prefixCaching) {
      length += added.length;
      return;
    }
    if (tokens.length < length + added.length) {
      tokens = Arrays.copyOf(tokens, Math.max(length + added.length, 2 * tokens.length));
    }
    System.arraycopy(added, 0, tokens, length, added.length);
    length += added.length;
    offerFullBlocks();
  }

  private void offerFullBlocks() {
    int full = length / KvBlockPool.BLOCK_TOKENS;
    if (serials.length < full) {
      serials = Arrays.copyOf(serials, Math.max(full, 2 * serials.length));
    }
    for (; offered < full; offered++) {
      long parent = offered == 0 ? KvBlockPool.NO_PARENT : serials[offered - 1];
      serials[offered] = pool.offer(blocks[offered], parent, tokens, offered);
    }
  }
}
