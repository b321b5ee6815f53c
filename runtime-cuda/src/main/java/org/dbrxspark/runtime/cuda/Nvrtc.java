package org.dbrxspark.runtime.cuda;

import static org.bytedeco.cuda.global.nvrtc.NVRTC_SUCCESS;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCompileProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCreateProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcDestroyProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBIN;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBINSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetErrorString;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLog;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLogSize;

import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * Compiles CUDA C with NVRTC to a CUBIN for one GPU architecture. A CUBIN is machine code for that
 * architecture, so a driver older than this NVRTC still loads it, where newer PTX would not.
 */
final class Nvrtc {
  private Nvrtc() {}

  /**
   * The CUBIN of {@code source} for compute capability {@code capability} (90 compiles for sm_90);
   * an error carries NVRTC's log, which names the file and line at fault.
   */
  static byte[] compile(String source, int capability) {
    String arch = "sm_" + capability;
    _nvrtcProgram program = new _nvrtcProgram();
    try (BytePointer text = new BytePointer(source);
        BytePointer name = new BytePointer("dbrx-kernels.cu")) {
      check(
          nvrtcCreateProgram(program, text, name, 0, (PointerPointer<?>) null, null),
          "nvrtcCreateProgram",
          arch);
    }
    // Line info costs nothing at run time and lets compute-sanitizer name the source line.
    String[] flags = {"--gpu-architecture=" + arch, "--std=c++17", "--generate-line-info"};
    try (PointerPointer<BytePointer> options = new PointerPointer<>(flags)) {
      int result = nvrtcCompileProgram(program, flags.length, options);
      if (result != NVRTC_SUCCESS) {
        throw new CudaException(
            "NVRTC could not compile the CUDA backend's kernels for "
                + arch
                + ": "
                + nvrtcGetErrorString(result).getString()
                + "\n"
                + log(program),
            0);
      }
      try (SizeTPointer size = new SizeTPointer(1)) {
        check(nvrtcGetCUBINSize(program, size), "nvrtcGetCUBINSize", arch);
        byte[] cubin = new byte[Math.toIntExact(size.get())];
        check(nvrtcGetCUBIN(program, cubin), "nvrtcGetCUBIN", arch);
        return cubin;
      }
    } finally {
      nvrtcDestroyProgram(program);
    }
  }

  private static String log(_nvrtcProgram program) {
    try (SizeTPointer size = new SizeTPointer(1)) {
      if (nvrtcGetProgramLogSize(program, size) != NVRTC_SUCCESS) {
        return "(no log)";
      }
      try (BytePointer log = new BytePointer(size.get())) {
        nvrtcGetProgramLog(program, log);
        return log.getString();
      }
    }
  }

  private static void check(int result, String call, String arch) {
    if (result != NVRTC_SUCCESS) {
      throw new CudaException(
          call + " for " + arch + " failed: " + nvrtcGetErrorString(result).getString(), 0);
    }
  }
}
