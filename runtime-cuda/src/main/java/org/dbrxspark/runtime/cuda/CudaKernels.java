package org.dbrxspark.runtime.cuda;

import static org.bytedeco.cuda.global.cudart.cuCtxSynchronize;
import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.cuModuleUnload;

import java.lang.ref.Reference;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;

/**
 * The backend's kernels, compiled by NVRTC for the device's architecture and loaded into its
 * context. {@link #launch} checks every argument against the kernel's declared parameter before the
 * driver sees it, and names the kernel in every error.
 *
 * <p>Launches go to the legacy default stream, which orders them with each other and with the
 * synchronous copies, so results are ready when a download returns. A kernel's own fault surfaces
 * at the next synchronizing call; with {@code -Ddbrx.cuda.syncLaunches=true} every launch
 * synchronizes, so the error names the kernel that faulted (the conformance suite runs so).
 */
final class CudaKernels implements AutoCloseable {
  private static final boolean SYNC_LAUNCHES = Boolean.getBoolean("dbrx.cuda.syncLaunches");

  /** CUBINs by compute capability: NVRTC takes seconds, so each process compiles once. */
  private static final Map<Integer, byte[]> CUBINS = new ConcurrentHashMap<>();

  private record Kernel(CUfunc_st function, List<CudaSources.Param> params) {}

  private final CudaSources sources;
  private final CUmod_st module;
  private final Map<String, Kernel> kernels = new HashMap<>();

  /** Compiles and loads the kernels; the context of the device must be current. */
  CudaKernels(CudaSources sources, int capability) {
    this.sources = sources;
    byte[] cubin = CUBINS.computeIfAbsent(capability, c -> Nvrtc.compile(sources.text(), c));
    this.module = new CUmod_st();
    try (BytePointer image = new BytePointer(cubin)) {
      CudaException.check(
          cuModuleLoadData(module, image), "cuModuleLoadData(CUBIN for sm_" + capability + ")");
    }
    sources
        .kernels()
        .forEach(
            (name, params) -> {
              CUfunc_st function = new CUfunc_st();
              CudaException.check(
                  cuModuleGetFunction(function, module, name), "cuModuleGetFunction(" + name + ")");
              kernels.put(name, new Kernel(function, params));
            });
  }

  /** A launch constant of the sources, such as {@code ATTEND_THREADS}. */
  int constant(String name) {
    return sources.constant(name);
  }

  /**
   * Launches kernel {@code name} on a {@code [gridX, gridY]} grid of {@code block}-thread blocks.
   * Arguments: a {@link DevicePointer} for a pointer parameter, an Integer for {@code int}, a Long
   * for {@code long long}, a Float or a Double.
   */
  void launch(String name, int gridX, int gridY, int block, Object... args) {
    Kernel kernel = kernels.get(name);
    if (kernel == null) {
      throw new IllegalStateException("no kernel " + name + " in the CUDA sources");
    }
    if (args.length != kernel.params().size()) {
      throw new IllegalArgumentException(
          "kernel "
              + name
              + " takes "
              + kernel.params().size()
              + " arguments "
              + kernel.params()
              + ", given "
              + args.length);
    }
    try (PointerScope scope = new PointerScope()) { // frees the boxed values and their array
      PointerPointer<Pointer> values = new PointerPointer<>(args.length);
      for (int i = 0; i < args.length; i++) {
        values.put(i, box(name, i, kernel.params().get(i), args[i]));
      }
      CudaException.check(
          cuLaunchKernel(
              kernel.function(),
              gridX,
              gridY,
              1,
              block,
              1,
              1,
              0,
              (CUstream_st) null,
              values,
              (PointerPointer<?>) null),
          "cuLaunchKernel(" + name + ", grid " + gridX + " x " + gridY + ", block " + block + ")");
    } finally {
      // The buffers stay reachable until the kernel is queued: a cleaner's free is queued after it.
      Reference.reachabilityFence(args);
    }
    if (SYNC_LAUNCHES) {
      CudaException.check(cuCtxSynchronize(), "kernel " + name + " (synchronized after launch)");
    }
  }

  /** Native memory holding one argument's value, as the parameter's type lays it out. */
  private static Pointer box(String kernel, int index, CudaSources.Param param, Object arg) {
    Pointer value =
        switch (param) {
          case POINTER ->
              arg instanceof DevicePointer p ? new LongPointer(1).put(p.address()) : null;
          case INT -> arg instanceof Integer v ? new IntPointer(1).put(v) : null;
          case LONG -> arg instanceof Long v ? new LongPointer(1).put(v) : null;
          case FLOAT -> arg instanceof Float v ? new FloatPointer(1).put(v) : null;
          case DOUBLE -> arg instanceof Double v ? new DoublePointer(1).put(v) : null;
        };
    if (value == null) {
      throw new IllegalArgumentException(
          "kernel "
              + kernel
              + " parameter "
              + index
              + " takes a "
              + param
              + ", given "
              + (arg == null ? "null" : arg.getClass().getSimpleName()));
    }
    return value;
  }

  @Override
  public void close() {
    CudaException.check(cuModuleUnload(module), "cuModuleUnload");
  }
}
