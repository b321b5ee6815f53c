package org.dbrxspark.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every kernel compiles with NVRTC to a CUBIN for the A100, H100 and B200 architectures. Needs
 * NVRTC, which JavaCPP loads only after the driver API: on a host with the NVIDIA driver, run with
 * {@code -Pcuda-redist} (or a CUDA 13 toolkit's libnvrtc on the loader path). Elsewhere it is
 * skipped, saying which library is missing.
 */
class CudaNvrtcTest {

  @ParameterizedTest
  @ValueSource(ints = {80, 90, 100})
  void everyKernelCompilesToACubin(int capability) {
    String problem = CudaLibraries.nvrtcProblem();
    assumeTrue(problem == null, () -> "NVRTC cannot be loaded here: " + problem);
    CudaSources sources = CudaSources.load();
    byte[] cubin = Nvrtc.compile(sources.text(), capability);
    assertArrayEquals(new byte[] {0x7F, 'E', 'L', 'F'}, Arrays.copyOf(cubin, 4));
    String symbols = new String(cubin, StandardCharsets.ISO_8859_1);
    for (String kernel : sources.kernels().keySet()) {
      assertTrue(
          symbols.contains(kernel + '\0'), kernel + " is in the sm_" + capability + " CUBIN");
    }
  }
}
