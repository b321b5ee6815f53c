package org.dbrxspark.runtime.cuda;

import static org.bytedeco.cuda.global.cudart.CUDA_ERROR_OUT_OF_MEMORY;
import static org.bytedeco.cuda.global.cudart.CU_MEMPOOL_ATTR_RELEASE_THRESHOLD;
import static org.bytedeco.cuda.global.cudart.cuCtxSynchronize;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetDefaultMemPool;
import static org.bytedeco.cuda.global.cudart.cuMemAlloc;
import static org.bytedeco.cuda.global.cudart.cuMemAllocAsync;
import static org.bytedeco.cuda.global.cudart.cuMemFree;
import static org.bytedeco.cuda.global.cudart.cuMemFreeAsync;
import static org.bytedeco.cuda.global.cudart.cuMemGetInfo;
import static org.bytedeco.cuda.global.cudart.cuMemPoolSetAttribute;
import static org.bytedeco.cuda.global.cudart.cuMemPoolTrimTo;

import java.lang.ref.Cleaner;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.cuda.cudart.CUmemPoolHandle_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * The GPU memory of one backend. The seam has no call that frees activations (the CPU leaves them
 * to the garbage collector), so a buffer is freed when it becomes unreachable, by a cleaner, or
 * when the backend closes, whichever comes first. Activations come from the stream-ordered
 * allocator: freed on the stream, after the kernels already launched on them, and pooled by the
 * driver for the next step's buffers of the same size. Weights and KV blocks, which live as long as
 * the model, are plain allocations.
 */
final class CudaMemory implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();
  private static final System.Logger LOG = System.getLogger(CudaMemory.class.getName());

  private final CudaContext context;
  private final CUmemPoolHandle_st pool = new CUmemPoolHandle_st();
  private final Set<Allocation> live = ConcurrentHashMap.newKeySet();

  /** The memory of {@code context}'s device; that context must be current. */
  CudaMemory(CudaContext context) {
    this.context = context;
    CudaException.check(
        cuDeviceGetDefaultMemPool(pool, context.device()),
        "cuDeviceGetDefaultMemPool(cuda:" + context.ordinal() + ")");
    // The pool keeps freed activations across synchronizations (a download every step) instead of
    // returning them to the driver, like PyTorch's caching allocator; trimmed when memory runs out.
    try (LongPointer unlimited = new LongPointer(1).put(-1L)) {
      CudaException.check(
          cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, unlimited),
          "cuMemPoolSetAttribute(release threshold)");
    }
  }

  /**
   * One allocation, as its cleaner sees it: never the buffer itself, or it would stay reachable.
   */
  private final class Allocation implements Runnable {
    final long address;
    final boolean pooled;

    Allocation(long address, boolean pooled) {
      this.address = address;
      this.pooled = pooled;
    }

    /** Frees the memory unless the cleaner or close already did; either may call it. */
    @Override
    public void run() {
      if (!live.remove(this)) {
        return;
      }
      context.makeCurrent();
      int result = pooled ? cuMemFreeAsync(address, (CUstream_st) null) : cuMemFree(address);
      if (result != 0) {
        LOG.log(
            System.Logger.Level.WARNING,
            "freeing GPU memory on cuda:"
                + context.ordinal()
                + " failed: "
                + CudaException.describe(result));
      }
    }
  }

  /** GPU memory that a kernel takes as a pointer. */
  static final class Buffer implements DevicePointer {
    private final long address;
    private final long bytes;

    private Buffer(long address, long bytes) {
      this.address = address;
      this.bytes = bytes;
    }

    @Override
    public long address() {
      return address;
    }

    long bytes() {
      return bytes;
    }
  }

  /** Makes the device's context current on the calling thread: first thing of every operation. */
  void enter() {
    context.makeCurrent();
  }

  /** Memory for activations and per-call tables: stream-ordered, freed once unreachable. */
  Buffer temporary(long bytes) {
    return allocate(bytes, true);
  }

  /** Memory for weights and KV blocks. */
  Buffer lasting(long bytes) {
    return allocate(bytes, false);
  }

  private Buffer allocate(long bytes, boolean pooled) {
    if (bytes == 0) {
      return new Buffer(0, 0); // the driver refuses empty allocations; nothing reads this one
    }
    context.makeCurrent();
    long[] address = new long[1];
    int result = alloc(address, bytes, pooled);
    // Unreachable buffers are freed only after a collection finds them: ask for one, let the frees
    // reach the device, return the pool's cached memory to it, and try again before giving up.
    for (int attempt = 1; result == CUDA_ERROR_OUT_OF_MEMORY && attempt <= 3; attempt++) {
      System.gc();
      try {
        Thread.sleep(50L * attempt);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      CudaException.check(cuCtxSynchronize(), "cuCtxSynchronize (waiting for freed memory)");
      CudaException.check(cuMemPoolTrimTo(pool, 0), "cuMemPoolTrimTo");
      result = alloc(address, bytes, pooled);
    }
    if (result != 0) {
      throw new CudaException(
          (pooled ? "cuMemAllocAsync(" : "cuMemAlloc(")
              + bytes
              + " bytes) on cuda:"
              + context.ordinal()
              + " failed: "
              + CudaException.describe(result)
              + freeMemory(),
          result);
    }
    Buffer buffer = new Buffer(address[0], bytes);
    Allocation allocation = new Allocation(address[0], pooled);
    live.add(allocation);
    CLEANER.register(buffer, allocation);
    return buffer;
  }

  private static int alloc(long[] address, long bytes, boolean pooled) {
    return pooled
        ? cuMemAllocAsync(address, bytes, (CUstream_st) null)
        : cuMemAlloc(address, bytes);
  }

  private String freeMemory() {
    try (SizeTPointer free = new SizeTPointer(1);
        SizeTPointer total = new SizeTPointer(1)) {
      return cuMemGetInfo(free, total) == 0
          ? " (" + free.get() + " of " + total.get() + " bytes free)"
          : "";
    }
  }

  /** Frees everything still allocated, after the work in flight. */
  @Override
  public void close() {
    context.makeCurrent();
    CudaException.check(cuCtxSynchronize(), "cuCtxSynchronize before freeing GPU memory");
    for (Allocation allocation : live.toArray(Allocation[]::new)) {
      allocation.run();
    }
    CudaException.check(cuCtxSynchronize(), "cuCtxSynchronize after freeing GPU memory");
  }
}
