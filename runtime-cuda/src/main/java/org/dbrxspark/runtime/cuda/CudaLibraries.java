package org.dbrxspark.runtime.cuda;

import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static org.bytedeco.cuda.global.cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
import static org.bytedeco.cuda.global.cudart.cuDeviceGet;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetAttribute;
import static org.bytedeco.cuda.global.cudart.cuDeviceGetCount;
import static org.bytedeco.cuda.global.cudart.cuDriverGetVersion;
import static org.bytedeco.cuda.global.cudart.cuInit;
import static org.bytedeco.cuda.global.cudart.cuMemGetInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.SizeTPointer;
import org.dbrxspark.runtime.backend.DeviceMemory;

/**
 * Loads the CUDA libraries the backend needs, once per JVM, and says in a sentence why a host
 * cannot use them: the library that failed to load, the driver version when one is known, and what
 * to install. The driver API comes from the NVIDIA driver's {@code libcuda.so.1}; cudart and NVRTC
 * from a CUDA 13 toolkit or the {@code cuda-redist} jar.
 */
final class CudaLibraries {
  private CudaLibraries() {}

  /** CUDA 13: the major version of the bindings; a driver must support at least this. */
  static final int CUDA_MAJOR = 13;

  /** CUDA 13 compiles for compute capability 7.5 (Turing) and newer only. */
  static final int MIN_CAPABILITY = 75;

  private static final String USE_CPU = "; or run on the CPU (device cpu)";

  private static final Pattern MISSING =
      Pattern.compile("(lib[\\w+.-]+?\\.so(?:\\.\\d+)*): cannot open shared object file");

  /** Why the driver API cannot be loaded here, or null; decided once, when first asked. */
  private static final class Driver {
    static final String PROBLEM = load(cudart.class);
  }

  /** Why NVRTC cannot be loaded here, or null; asked only once the driver API is loaded. */
  private static volatile String nvrtcProblem;

  private static volatile boolean nvrtcTried;

  /**
   * Why device {@code cuda:ordinal} cannot be used here, or null: checked in the order a user fixes
   * them (driver library, driver version, the device, NVRTC).
   */
  static String problem(int ordinal) {
    if (Driver.PROBLEM != null) {
      return Driver.PROBLEM;
    }
    int[] version = new int[1];
    int result = cuDriverGetVersion(version);
    if (result != 0) {
      return "cuDriverGetVersion failed: " + CudaException.describe(result) + USE_CPU;
    }
    if (version[0] / 1000 < CUDA_MAJOR) {
      return "the NVIDIA driver supports CUDA "
          + cudaVersion(version[0])
          + ", older than the CUDA "
          + CUDA_MAJOR
          + " the backend is built for: install NVIDIA driver 580 or later"
          + USE_CPU;
    }
    result = cuInit(0);
    if (result != 0) {
      return "cuInit failed with the NVIDIA driver for CUDA "
          + cudaVersion(version[0])
          + ": "
          + CudaException.describe(result)
          + USE_CPU;
    }
    int[] count = new int[1];
    result = cuDeviceGetCount(count);
    if (result != 0) {
      return "cuDeviceGetCount failed: " + CudaException.describe(result) + USE_CPU;
    }
    if (ordinal >= count[0]) {
      return "this host has "
          + count[0]
          + " CUDA device(s)"
          + (count[0] > 0 ? ", cuda:0 to cuda:" + (count[0] - 1) : "");
    }
    int capability = capability(ordinal);
    if (capability < MIN_CAPABILITY) {
      return "its compute capability is "
          + capability / 10
          + "."
          + capability % 10
          + ", below the 7.5 that CUDA "
          + CUDA_MAJOR
          + " compiles for"
          + USE_CPU;
    }
    return nvrtcProblem();
  }

  /** Free and total memory of device {@code ordinal}, in its primary context. */
  static DeviceMemory memory(int ordinal) {
    try (CudaContext context = CudaContext.retain(ordinal);
        SizeTPointer free = new SizeTPointer(1);
        SizeTPointer total = new SizeTPointer(1)) {
      context.makeCurrent();
      CudaException.check(cuMemGetInfo(free, total), "cuMemGetInfo on cuda:" + ordinal);
      return new DeviceMemory(free.get(), total.get());
    }
  }

  /** Compute capability of device {@code ordinal} as major * 10 + minor: 90 for an H100. */
  static int capability(int ordinal) {
    int[] device = new int[1];
    CudaException.check(cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
    int[] major = new int[1];
    int[] minor = new int[1];
    CudaException.check(
        cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device[0]),
        "cuDeviceGetAttribute(compute capability major)");
    CudaException.check(
        cuDeviceGetAttribute(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device[0]),
        "cuDeviceGetAttribute(compute capability minor)");
    return major[0] * 10 + minor[0];
  }

  /** Why NVRTC, which compiles the kernels, cannot be loaded here, or null. */
  static String nvrtcProblem() {
    if (!nvrtcTried) {
      synchronized (CudaLibraries.class) {
        if (!nvrtcTried) {
          // JavaCPP's NVRTC bindings load the driver API's first, so its problem comes first.
          nvrtcProblem = Driver.PROBLEM != null ? Driver.PROBLEM : load(nvrtc.class);
          nvrtcTried = true;
        }
      }
    }
    return nvrtcProblem;
  }

  private static String load(Class<?> bindings) {
    try {
      Loader.load(bindings);
      return null;
    } catch (Throwable t) { // UnsatisfiedLinkError, or NoClassDefFoundError without the jars
      return describe(t, driverModuleVersion());
    }
  }

  /**
   * A load failure as a sentence: the library that is missing and what provides it. {@code
   * moduleVersion} is the version the NVIDIA kernel module reports, or null without one.
   */
  static String describe(Throwable failure, String moduleVersion) {
    String library = null;
    String first = null;
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String message = String.valueOf(t.getMessage());
      first = first == null ? t.toString() : first;
      Matcher m = MISSING.matcher(message);
      if (m.find()) {
        library = m.group(1);
        break;
      }
    }
    if (library == null) {
      return "the CUDA bindings (org.bytedeco:cuda) cannot be loaded: " + first + USE_CPU;
    }
    if (library.startsWith("libcuda.so")) {
      String driver =
          moduleVersion == null
              ? "this host has no NVIDIA driver"
              : "the NVIDIA kernel module reports driver "
                  + moduleVersion
                  + " but its library is not on the loader path";
      return "the NVIDIA driver's "
          + library
          + " cannot be loaded ("
          + driver
          + "): install the NVIDIA driver, 580 or later for CUDA "
          + CUDA_MAJOR
          + USE_CPU;
    }
    if (library.startsWith("libnvrtc")) {
      return "NVRTC's "
          + library
          + ", which compiles the backend's kernels at load, cannot be loaded: install the CUDA "
          + CUDA_MAJOR
          + " toolkit's NVRTC (cuda-nvrtc-"
          + CUDA_MAJOR
          + "-x), or build with -Pcuda-redist, which bundles it"
          + USE_CPU;
    }
    return "the CUDA library "
        + library
        + " cannot be loaded: install the CUDA "
        + CUDA_MAJOR
        + " toolkit, or build with -Pcuda-redist, which bundles cudart, NVRTC and cuBLAS"
        + USE_CPU;
  }

  /** The driver version in /proc/driver/nvidia/version, or null where there is no such module. */
  private static String driverModuleVersion() {
    try {
      Matcher m =
          Pattern.compile("Kernel Module\\s+(?:for \\S+\\s+)?(\\d+(?:\\.\\d+)+)")
              .matcher(Files.readString(Path.of("/proc/driver/nvidia/version")));
      return m.find() ? m.group(1) : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** 13000 as 13.0, as cuDriverGetVersion encodes CUDA versions. */
  static String cudaVersion(int encoded) {
    return encoded / 1000 + "." + encoded % 1000 / 10;
  }
}
