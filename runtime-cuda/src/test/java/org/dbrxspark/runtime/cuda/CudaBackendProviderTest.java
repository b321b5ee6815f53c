package org.dbrxspark.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import org.dbrxspark.runtime.Devices;
import org.junit.jupiter.api.Test;

class CudaBackendProviderTest {

  @Test
  void devicesFindsTheProviderByKind() {
    assertInstanceOf(CudaBackendProvider.class, Devices.provider("cuda").orElseThrow());
  }

  @Test
  void aHostWithoutTheDriverIsRefusedNamingTheLibraryAndWhatToInstall() {
    assumeFalse(
        Files.exists(Path.of("/dev/nvidiactl")),
        "this host has an NVIDIA driver (/dev/nvidiactl), so cuda:0 is not refused for lack of one");
    String problem = Devices.problem("cuda:0");
    assertTrue(
        problem.startsWith("device 'cuda:0': the NVIDIA driver's libcuda.so.1 cannot be loaded"),
        problem);
    assertTrue(problem.contains("install the NVIDIA driver, 580 or later"), problem);
    assertTrue(problem.contains("device cpu"), problem);
  }

  @Test
  void deviceNamesAreParsedBeforeTheDriverIsAsked() {
    assertTrue(Devices.problem("cuda:x").contains("not a device name"));
    assertTrue(Devices.problem("rocm:0").contains("no backend for 'rocm'"));
    assertEquals(null, Devices.problem("cpu"));
  }

  /** The message JavaCPP's loader gives on a host without the driver, as recorded on one. */
  private static Throwable missing(String library) {
    UnsatisfiedLinkError cause =
        new UnsatisfiedLinkError(
            "/root/.javacpp/cache/cuda-13.1-9.19-1.5.13-linux-x86_64.jar/org/bytedeco/cuda/"
                + "linux-x86_64/libjnicudart.so: "
                + library
                + ": cannot open shared object file: No such file or directory");
    UnsatisfiedLinkError failure = new UnsatisfiedLinkError("no jnicudart in java.library.path");
    failure.initCause(cause);
    return failure;
  }

  @Test
  void aMissingLibraryIsNamedWithWhatProvidesIt() {
    String driver = CudaLibraries.describe(missing("libcuda.so.1"), null);
    assertTrue(driver.contains("libcuda.so.1 cannot be loaded (this host has no NVIDIA driver)"));

    String module = CudaLibraries.describe(missing("libcuda.so.1"), "580.95.05");
    assertTrue(module.contains("kernel module reports driver 580.95.05"), module);

    String nvrtc = CudaLibraries.describe(missing("libnvrtc.so.13"), null);
    assertTrue(nvrtc.contains("NVRTC's libnvrtc.so.13"), nvrtc);
    assertTrue(nvrtc.contains("-Pcuda-redist"), nvrtc);

    String runtime = CudaLibraries.describe(missing("libcudart.so.13"), null);
    assertTrue(runtime.contains("libcudart.so.13 cannot be loaded: install the CUDA 13"), runtime);

    String bindings = CudaLibraries.describe(new NoClassDefFoundError("org/bytedeco/cuda"), null);
    assertTrue(bindings.contains("org.bytedeco:cuda"), bindings);
  }

  @Test
  void driverVersionsReadAsCudaReleases() {
    assertEquals("13.0", CudaLibraries.cudaVersion(13000));
    assertEquals("12.8", CudaLibraries.cudaVersion(12080));
  }
}
