package org.dbrxspark.runtime.model;

import java.util.Arrays;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.backend.KvStorage;
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * The KV cache's blocks, handed out as in vLLM: each holds the keys and values of
 * {@link #BLOCK_TOKENS} consecutive positions of one sequence in every layer. Caches take blocks
 * as their sequences grow and give them back when released, so the memory in use follows the
 * lengths of the sequences in flight; {@link #capacity()} bounds it. The blocks' memory is the
 * backend's {@link KvStorage}, grown when a block is first handed out and then reused.
 *
 * <p>Thread-safe: taking and returning blocks is synchronized.
 */
public final class KvBlockPool {
  /** Positions per block; vLLM's default block size. */
  public static final int BLOCK_TOKENS = KvStorage.BLOCK_TOKENS;

  private final KvStorage storage;
  private final int capacity;
  private int allocated;
  private int[] free = new int[0];
  private int freeCount;

  /**
   * @param capacityTokens the most positions held at once, over all sequences (rounded up to whole
   *     blocks); {@code Long.MAX_VALUE} for no bound
   */
  KvBlockPool(KvStorage storage, long capacityTokens) {
    this.storage = storage;
    this.capacity = (int) Math.min(Integer.MAX_VALUE, blocksFor(capacityTokens));
  }

  /** Where the blocks' keys and values live. */
  KvStorage storage() {
    return storage;
  }

  /** An empty cache drawing on this pool. */
  public KvCache newCache() {
    return new KvCache(this);
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

  /** The most blocks that may be taken at once. */
  public int capacity() {
    return capacity;
  }

  /** Bytes of one block. */
  public long blockBytes() {
    return storage.blockBytes();
  }

  /** Blocks held by caches now. */
  public synchronized int taken() {
    return allocated - freeCount;
  }

  /** Blocks whose memory has been allocated: the most ever taken at once. */
  public synchronized int allocated() {
    return allocated;
  }

  /** {@code count} blocks, or {@code null} (taking none) when fewer are free. */
  synchronized int[] take(int count) {
    if (capacity - taken() < count) {
      return null;
    }
    int[] ids = new int[count];
    for (int i = 0; i < count; i++) {
      ids[i] = freeCount > 0 ? free[--freeCount] : allocate();
    }
    return ids;
  }

  private int allocate() {
    storage.ensureBlocks(allocated + 1);
    return allocated++;
  }

  /** Returns blocks taken earlier; wakes callers waiting in {@link #awaitFree}. */
  synchronized void release(int[] ids, int count) {
    if (free.length < freeCount + count) {
      free = Arrays.copyOf(free, Math.max(freeCount + count, 2 * free.length));
    }
    System.arraycopy(ids, 0, free, freeCount, count);
    freeCount += count;
    notifyAll();
  }

  /**
   * Waits until {@code count} blocks are free: for a caller holding none while other users of the
   * pool (concurrent engines on one runtime) hold the rest.
   */
  public synchronized void awaitFree(int count) {
    if (count > capacity) {
      throw new IllegalArgumentException(count + " KV blocks requested, the pool holds " + capacity);
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
