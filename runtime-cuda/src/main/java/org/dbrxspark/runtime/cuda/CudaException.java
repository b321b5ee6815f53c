package org.dbrxspark.runtime.cuda;

import static org.bytedeco.cuda.global.cudart.cuGetErrorName;
import static org.bytedeco.cuda.global.cudart.cuGetErrorString;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;

/** A CUDA driver call that failed, named with the call, its operation and the driver's error. */
public final class CudaException extends RuntimeException {
  private final int code;

  CudaException(String message, int code) {
    super(message);
    this.code = code;
  }

  /** The driver's CUresult, 0 when the failure was not the driver's. */
  public int code() {
    return code;
  }

  /** Throws, naming {@code call} and the driver's error, unless {@code result} is CUDA_SUCCESS. */
  static void check(int result, String call) {
    if (result != 0) {
      throw new CudaException(call + " failed: " + describe(result), result);
    }
  }

  /** {@code CUDA_ERROR_OUT_OF_MEMORY (2: out of memory)}, as the driver names its CUresult. */
  static String describe(int result) {
    try (PointerPointer<BytePointer> name = new PointerPointer<>(1);
        PointerPointer<BytePointer> text = new PointerPointer<>(1)) {
      boolean named = cuGetErrorName(result, name) == 0 && name.get(0) != null;
      boolean described = cuGetErrorString(result, text) == 0 && text.get(0) != null;
      return (named ? name.getString(0) : "CUresult")
          + " ("
          + result
          + (described ? ": " + text.getString(0) : "")
          + ")";
    }
  }
}
