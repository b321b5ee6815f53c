package org.dbrxspark.runtime.cuda;

import static org.bytedeco.cuda.global.cudart.cuMemcpyDtoD;
import static org.bytedeco.cuda.global.cudart.cuMemsetD8;

import java.util.Arrays;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.backend.KvStorage;
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * KV blocks in GPU memory, one allocation each, made when first handed out and then reused. A block
 * is laid out {@code [layer][K|V][kvHead][slot][headDim]} (attention.cu reads it so); the kernels
 * reach a block through its device address, which never changes once allocated.
 */
final class CudaKvStorage implements KvStorage {
  private final CudaMemory memory;
  private final KvDType dtype;
  private final int layers;
  private final int kvHeads;
  private final int headDim;
  private final long blockBytes;

  /** The blocks allocated so far, by id; replaced (not mutated) when it grows. */
  private volatile CudaMemory.Buffer[] blocks = new CudaMemory.Buffer[0];

  CudaKvStorage(CudaMemory memory, DbrxConfig config, KvDType dtype) {
    this.memory = memory;
    this.dtype = dtype;
    this.layers = config.nLayers();
    this.kvHeads = config.kvNHeads();
    this.headDim = config.headDim();
    this.blockBytes = (long) BLOCK_TOKENS * layers * 2 * kvHeads * headDim * dtype.bytes();
  }

  @Override
  public KvDType dtype() {
    return dtype;
  }

  @Override
  public long blockBytes() {
    return blockBytes;
  }

  int kvHeads() {
    return kvHeads;
  }

  int headDim() {
    return headDim;
  }

  /** Whether the kernels may read {@code other}'s blocks with this storage's geometry and type. */
  boolean sameLayout(CudaKvStorage other) {
    return dtype == other.dtype
        && layers == other.layers
        && kvHeads == other.kvHeads
        && headDim == other.headDim;
  }

  @Override
  public synchronized void ensureBlocks(int count) {
    CudaMemory.Buffer[] current = blocks;
    if (count <= current.length) {
      return;
    }
    memory.enter();
    CudaMemory.Buffer[] grown = Arrays.copyOf(current, count);
    for (int id = current.length; id < count; id++) {
      grown[id] = memory.lasting(blockBytes);
      // Zeroed, as the CPU's direct buffers are, so an unwritten slot never holds a NaN.
      CudaException.check(
          cuMemsetD8(grown[id].address(), (byte) 0, blockBytes), "cuMemsetD8(KV block)");
    }
    blocks = grown;
  }

  @Override
  public void copyBlock(int from, int to) {
    memory.enter();
    CudaException.check(
        cuMemcpyDtoD(address(to), address(from), blockBytes),
        "cuMemcpyDtoD(KV block " + from + " to " + to + ")");
  }

  /** The device address of block {@code id}. */
  long address(int id) {
    CudaMemory.Buffer[] current = blocks;
    if (id < 0 || id >= current.length) {
      throw new IllegalArgumentException(
          "KV block " + id + " does not exist (" + current.length + " blocks allocated)");
    }
    return current[id].address();
  }
}
