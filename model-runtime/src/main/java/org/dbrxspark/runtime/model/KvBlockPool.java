package org.dbrxspark.runtime.model;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.backend.KvStorage;
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * The KV cache's blocks, handed out as in vLLM: each holds the keys and values of {@link
 * #BLOCK_TOKENS} consecutive positions of one sequence in every layer. Caches take blocks as their
 * sequences grow and give them back when released, so the memory in use follows the lengths of the
 * sequences in flight; {@link #capacity()} bounds it. The blocks' memory is the backend's {@link
 * KvStorage}, grown when a block is first handed out and then reused.
 *
 * <p>With prefix caching (vLLM's automatic prefix caching), a full block is also kept under the key
 * of its tokens and everything before them, so that a sequence starting with the same tokens reuses
 * it instead of computing it again. Blocks are reference-counted; a cached block that no cache
 * holds stays cached and counts as free, and its contents are dropped, least recently used first,
 * only when no uncached block is free and the capacity is reached (so the pool's memory grows
 * towards its capacity as prefixes are cached). Keys are exact (the parent entry's serial number
 * and the block's tokens), so two different prefixes never share a block. A cached block is never
 * written again: a sequence only writes positions past its length.
 *
 * <p>A cache may also start as a fork of another ({@link KvCache#tryFork}): the full blocks of
 * their common positions are held by both, with or without prefix caching.
 *
 * <p>Thread-safe: taking, sharing and returning blocks is synchronized.
 */
public final class KvBlockPool {
  /** Positions per block; vLLM's default block size. */
  public static final int BLOCK_TOKENS = KvStorage.BLOCK_TOKENS;

  /** The parent serial of a sequence's first block. */
  static final long NO_PARENT = 0;

  private final KvStorage storage;
  private final int capacity;
  private final boolean prefixCaching;
  private int allocated;

  /** Caches holding each block. */
  private int[] refs = new int[0];

  /** Each block's cache key, or null when it holds nothing reusable. */
  private BlockKey[] keys = new BlockKey[0];

  /** Each cached block's serial: the parent of the key of the block after it. */
  private long[] serials = new long[0];

  private long lastSerial = NO_PARENT;
  private final Map<BlockKey, Integer> cached = new HashMap<>();

  /** Free blocks holding nothing reusable. */
  private int[] free = new int[0];

  private int freeCount;

  /** Free cached blocks, least recently released first: the eviction order. */
  private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>();

  /** A cached block's identity: the entry before it (its serial) and its own tokens. */
  private record BlockKey(long parent, int[] tokens) {
    @Override
    public boolean equals(Object o) {
      return o instanceof BlockKey k && k.parent == parent && Arrays.equals(k.tokens, tokens);
    }

    @Override
    public int hashCode() {
      return Long.hashCode(parent) * 31 + Arrays.hashCode(tokens);
    }
  }

  /** A cached prefix handed to a cache: its blocks (now held) and their serials. */
  record Shared(int[] blocks, long[] serials) {}

  /**
   * @param capacityTokens the most positions held at once, over all sequences (rounded up to whole
   *     blocks); {@code Long.MAX_VALUE} for no bound
   * @param prefixCaching whether full blocks are kept for sequences that start with the same tokens
   */
  KvBlockPool(KvStorage storage, long capacityTokens, boolean prefixCaching) {
    this.storage = storage;
    this.capacity = (int) Math.min(Integer.MAX_VALUE, blocksFor(capacityTokens));
    this.prefixCaching = prefixCaching;
  }

  /** Where the blocks' keys and values live. */
  KvStorage storage() {
    return storage;
  }

  /** An empty cache drawing on this pool that neither reuses nor offers cached prefixes. */
  public KvCache newCache() {
    return new KvCache(this, false, null);
  }

  /**
   * An empty cache that reuses cached prefixes and offers its own full blocks, when this pool
   * caches prefixes; what the cache does is added to {@code counts}.
   */
  public KvCache newPrefixCache(PrefixCacheCounts counts) {
    return new KvCache(this, prefixCaching, counts);
  }

  /** Blocks holding {@code tokens} positions. */
  public static long blocksFor(long tokens) {
    return tokens / BLOCK_TOKENS + (tokens % BLOCK_TOKENS == 0 ? 0 : 1);
  }

  /** Bytes of the blocks holding {@code tokens} positions of a model with {@code config}. */
  public static long bytesFor(DbrxConfig config, KvDType dtype, long tokens) {
    return blocksFor(tokens) * elementsPerBlock(config) * dtype.bytes();
  }

  private static long elementsPerBlock(DbrxConfig config) {
    return (long) BLOCK_TOKENS * config.nLayers() * 2 * config.kvNHeads() * config.headDim();
  }

  public KvDType dtype() {
    return storage.dtype();
  }

  /** Whether full blocks are kept for sequences that start with the same tokens. */
  public boolean prefixCaching() {
    return prefixCaching;
  }

  /** The most blocks that may be taken at once. */
  public int capacity() {
    return capacity;
  }

  /** Bytes of one block. */
  public long blockBytes() {
    return storage.blockBytes();
  }

  /** Blocks held by caches now (a block shared by several caches counts once). */
  public synchronized int taken() {
    return allocated - freeCount - evictable.size();
  }

  /** Blocks whose memory has been allocated: the most ever taken at once, plus cached ones. */
  public synchronized int allocated() {
    return allocated;
  }

  /** Free blocks that hold a cached prefix block. */
  public synchronized int cachedFree() {
    return evictable.size();
  }

  /**
   * {@code count} blocks, or {@code null} (taking none) when fewer are free. Uses free uncached
   * blocks first, then new memory up to the capacity, then evicts the least recently used cached
   * block; evictions are added to {@code counts} (if not null).
   */
  synchronized int[] take(int count, PrefixCacheCounts counts) {
    if (capacity - taken() < count) {
      return null;
    }
    int[] ids = new int[count];
    for (int i = 0; i < count; i++) {
      int id;
      if (freeCount > 0) {
        id = free[--freeCount];
      } else if (allocated < capacity) {
        id = allocate();
      } else {
        id = evictOldest();
        if (counts != null) {
          counts.recordEviction();
        }
      }
      refs[id] = 1;
      ids[i] = id;
    }
    return ids;
  }

  private int allocate() {
    storage.ensureBlocks(allocated + 1);
    if (refs.length == allocated) {
      int grown = Math.max(16, 2 * allocated);
      refs = Arrays.copyOf(refs, grown);
      keys = Arrays.copyOf(keys, grown);
      serials = Arrays.copyOf(serials, grown);
    }
    return allocated++;
  }

  private int evictOldest() {
    Iterator<Integer> oldest = evictable.iterator();
    int id = oldest.next();
    oldest.remove();
    cached.remove(keys[id]);
    keys[id] = null;
    return id;
  }

  /**
   * Returns blocks taken or shared earlier; wakes callers waiting in {@link #awaitFree}. Blocks go
   * back last first, so that a sequence's later blocks, the least likely to be shared, are evicted
   * before its earlier ones.
   */
  synchronized void release(int[] ids, int count) {
    for (int i = count - 1; i >= 0; i--) {
      int id = ids[i];
      if (--refs[id] > 0) {
        continue;
      }
      if (keys[id] != null) {
        evictable.add(id);
      } else {
        if (free.length == freeCount) {
          free = Arrays.copyOf(free, Math.max(16, 2 * free.length));
        }
        free[freeCount++] = id;
      }
    }
    notifyAll();
  }

  /** Holds the first {@code count} of {@code ids}, blocks a cache holds, for one more cache. */
  synchronized void retain(int[] ids, int count) {
    for (int i = 0; i < count; i++) {
      if (refs[ids[i]]++ == 0) {
        throw new IllegalStateException("block " + ids[i] + " is not held");
      }
    }
  }

  /**
   * Holds and returns the cached blocks that begin {@code tokens}: block {@code i} covers tokens
   * {@code [16i, 16i + 16)}, and at most {@code maxBlocks} are looked up.
   */
  synchronized Shared share(int[] tokens, int maxBlocks) {
    int[] blocks = new int[maxBlocks];
    long[] chain = new long[maxBlocks];
    long parent = NO_PARENT;
    int found = 0;
    while (found < maxBlocks) {
      Integer id = cached.get(new BlockKey(parent, blockTokens(tokens, found)));
      if (id == null) {
        break;
      }
      if (refs[id]++ == 0) {
        evictable.remove(id);
      }
      blocks[found] = id;
      parent = serials[id];
      chain[found++] = parent;
    }
    return new Shared(Arrays.copyOf(blocks, found), Arrays.copyOf(chain, found));
  }

  /**
   * Offers block {@code id}, holding block number {@code index} of {@code tokens} after the entry
   * {@code parent}, to later sequences; returns the serial that now stands for its contents (an
   * equal block's, when one is already cached: this one then stays private).
   */
  synchronized long offer(int id, long parent, int[] tokens, int index) {
    BlockKey key = new BlockKey(parent, blockTokens(tokens, index));
    Integer existing = cached.putIfAbsent(key, id);
    if (existing != null) {
      return serials[existing];
    }
    keys[id] = key;
    serials[id] = ++lastSerial;
    return lastSerial;
  }

  private static int[] blockTokens(int[] tokens, int index) {
    return Arrays.copyOfRange(tokens, index * BLOCK_TOKENS, (index + 1) * BLOCK_TOKENS);
  }

  /**
   * Waits until {@code count} blocks are free: for a caller holding none while other users of the
   * pool (concurrent engines on one runtime) hold the rest.
   */
  public synchronized void awaitFree(int count) {
    if (count > capacity) {
      throw new IllegalArgumentException(
          count + " KV blocks requested, the pool holds " + capacity);
    }
    while (capacity - taken() < count) {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for KV cache blocks", e);
      }
    }
  }
}
