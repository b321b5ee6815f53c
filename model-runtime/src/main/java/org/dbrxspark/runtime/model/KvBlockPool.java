package org.dbrxspark.runtime.model;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * The KV cache's memory, paged as in vLLM: fixed-size blocks, each holding the keys and values of
 * {@link #BLOCK_TOKENS} consecutive positions of one sequence in every layer. Caches take blocks
 * as their sequences grow and give them back when released, so the memory in use follows the
 * lengths of the sequences in flight; {@link #capacity()} bounds it.
 *
 * <p>Blocks live off the Java heap, one direct buffer each (so no buffer nears the 2 GiB limit),
 * allocated on first use and then reused. A block is laid out {@code [layer][K|V][kvHead][slot][headDim]},
 * so one head's keys (or values) for the whole block are contiguous: attention widens them to f32
 * in one bulk read.
 *
 * <p>Thread-safe: taking and returning blocks is synchronized; reads and writes of distinct blocks
 * may run concurrently.
 */
public final class KvBlockPool {
  /** Positions per block; vLLM's default block size. */
  public static final int BLOCK_TOKENS = 16;

  private final KvDType dtype;
  private final int kvHeads;
  private final int headDim;
  private final int blockElements;
  private final int capacity;
  /** Typed views of the blocks allocated so far, by id; replaced (not mutated) when it grows. */
  private volatile Buffer[] views = new Buffer[0];
  private int allocated;
  private int[] free = new int[0];
  private int freeCount;

  /**
   * @param capacityTokens the most positions held at once, over all sequences (rounded up to whole
   *     blocks); {@code Long.MAX_VALUE} for no bound
   */
  public KvBlockPool(DbrxConfig config, KvDType dtype, long capacityTokens) {
    this.dtype = dtype;
    this.kvHeads = config.kvNHeads();
    this.headDim = config.headDim();
    long elements = elementsPerBlock(config);
    if (elements * dtype.bytes() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a KV block of " + BLOCK_TOKENS + " positions would exceed 2 GiB");
    }
    this.blockElements = (int) elements;
    this.capacity = (int) Math.min(Integer.MAX_VALUE, blocksFor(capacityTokens));
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
    return dtype;
  }

  /** The most blocks that may be taken at once. */
  public int capacity() {
    return capacity;
  }

  /** Bytes of one block. */
  public long blockBytes() {
    return (long) blockElements * dtype.bytes();
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
    Buffer[] grown = views;
    if (allocated == grown.length) {
      grown = Arrays.copyOf(grown, Math.max(16, Math.min(capacity, allocated * 2)));
    }
    ByteBuffer block = ByteBuffer.allocateDirect(blockElements * dtype.bytes()).order(ByteOrder.nativeOrder());
    grown[allocated] = dtype == KvDType.F32 ? block.asFloatBuffer() : block.asShortBuffer();
    views = grown;
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

  /** Stores one position's keys or values, all heads ({@code kvHeads x headDim} floats from {@code src[off]}). */
  void write(int block, int layer, int kind, int slot, float[] src, int off) {
    Buffer view = views[block];
    for (int h = 0; h < kvHeads; h++) {
      int at = offset(layer, kind, h) + slot * headDim;
      int from = off + h * headDim;
      if (view instanceof FloatBuffer floats) {
        floats.put(at, src, from, headDim);
      } else {
        ShortBuffer shorts = (ShortBuffer) view;
        for (int i = 0; i < headDim; i++) {
          shorts.put(at + i, dtype.narrow(src[from + i]));
        }
      }
    }
  }

  /** Widens the first {@code slots} positions of one head's keys or values into {@code dst[0, slots x headDim)}. */
  void read(int block, int layer, int kind, int head, int slots, float[] dst) {
    Buffer view = views[block];
    int at = offset(layer, kind, head);
    int count = slots * headDim;
    if (view instanceof FloatBuffer floats) {
      floats.get(at, dst, 0, count);
    } else {
      short[] bits = new short[count];
      ((ShortBuffer) view).get(at, bits, 0, count);
      dtype.widen(bits, dst, count);
    }
  }

  private int offset(int layer, int kind, int head) {
    return ((layer * 2 + kind) * kvHeads + head) * BLOCK_TOKENS * headDim;
  }
}
