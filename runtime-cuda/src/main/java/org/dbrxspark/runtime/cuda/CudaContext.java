package org.dbrxspark.runtime.cuda;

import static org.bytedeco.cuda.global.cudart.cuCtxSetCurrent;
import static org.bytedeco.cuda.global.cudart.cuDeviceGet;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRelease;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRetain;

import org.bytedeco.cuda.cudart.CUctx_st;

/**
 * The primary context of device {@code cuda:ordinal} (driver handle {@code device}), the one cudart
 * and other libraries in the process share. Driver calls act on the calling thread's current
 * context, so every thread makes it current before its calls.
 */
record CudaContext(int ordinal, int device, CUctx_st context) implements AutoCloseable {

  /** Retains device {@code ordinal}'s primary context; {@link #close} releases it. */
  static CudaContext retain(int ordinal) {
    int[] device = new int[1];
    CudaException.check(cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
    CUctx_st context = new CUctx_st();
    CudaException.check(
        cuDevicePrimaryCtxRetain(context, device[0]),
        "cuDevicePrimaryCtxRetain(cuda:" + ordinal + ")");
    return new CudaContext(ordinal, device[0], context);
  }

  /** Makes this context the calling thread's current one. */
  void makeCurrent() {
    CudaException.check(cuCtxSetCurrent(context), "cuCtxSetCurrent(cuda:" + ordinal + ")");
  }

  @Override
  public void close() {
    CudaException.check(
        cuDevicePrimaryCtxRelease(device), "cuDevicePrimaryCtxRelease(cuda:" + ordinal + ")");
  }
}
