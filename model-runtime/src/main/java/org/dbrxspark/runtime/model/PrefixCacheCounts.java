package org.dbrxspark.runtime.model;

/**
 * What the prefix cache did for one caller (an engine call), in blocks of {@link
 * KvBlockPool#BLOCK_TOKENS} positions: full prompt blocks found cached and not found when a
 * sequence was admitted, and cached blocks whose contents were dropped to make room.
 *
 * <p>Filled by one caller's caches; the pool updates it under its lock.
 */
public final class PrefixCacheCounts {
  private long hitBlocks;
  private long missBlocks;
  private long evictedBlocks;

  /**
   * Records one admission's lookup: {@code hits} blocks found, {@code misses} looked up and not
   * found.
   */
  public synchronized void recordLookup(int hits, int misses) {
    hitBlocks += hits;
    missBlocks += misses;
  }

  synchronized void recordEviction() {
    evictedBlocks++;
  }

  /** Full prompt blocks whose keys and values were taken from the cache instead of computed. */
  public synchronized long hitBlocks() {
    return hitBlocks;
  }

  /** Full prompt blocks looked up and not found (computed, then cached). */
  public synchronized long missBlocks() {
    return missBlocks;
  }

  /** Cached blocks reused for other positions because the pool had no other free block. */
  public synchronized long evictedBlocks() {
    return evictedBlocks;
  }
}
