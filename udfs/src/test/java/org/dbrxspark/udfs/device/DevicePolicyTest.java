package org.dbrxspark.udfs.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.dbrxspark.runtime.Devices;
import org.junit.jupiter.api.Test;

/**
 * The device a task computes on under each setting, with the runtime's own {@link Devices#problem}
 * (the CUDA backend is on this module's class path, and says why a host without a GPU cannot use
 * one) and with a stand-in that reports a device usable.
 */
class DevicePolicyTest {
  private static final DevicePolicy AUTO = new DevicePolicy(DevicePolicy.AUTO, false);

  private static final DeviceSelection GPU_1 = DeviceSelection.gpu("1");
  private static final Function<String, String> USABLE = device -> null;

  private final List<String> fallbacks = new ArrayList<>();

  private String resolve(
      DevicePolicy policy, DeviceSelection assigned, Function<String, String> p) {
    return policy.runtimeDevice(assigned, p, fallbacks::add);
  }

  @Test
  void settingsAreParsedAndBadOnesNamed() {
    assertEquals(DevicePolicy.DEFAULT, DevicePolicy.parse(null, null));
    // The CPU until the CUDA backend has passed scripts/device-check on a GPU.
    assertEquals(new DevicePolicy("cpu", false), DevicePolicy.DEFAULT);
    assertEquals(new DevicePolicy("cuda:2", true), DevicePolicy.parse(" CUDA:2 ", "CPU"));
    assertEquals(new DevicePolicy("cpu", false), DevicePolicy.parse("cpu", "none"));
    assertEquals(
        "device 'gpu' is not auto, cpu, cuda or cuda:N",
        assertThrows(IllegalArgumentException.class, () -> DevicePolicy.parse("gpu", null))
            .getMessage());
    assertEquals(
        "device fallback 'host' is not cpu or none",
        assertThrows(IllegalArgumentException.class, () -> DevicePolicy.parse("auto", "host"))
            .getMessage());
  }

  @Test
  void autoIsTheAssignedGpuElseTheCpu() {
    assertEquals("cpu", resolve(AUTO, DeviceSelection.cpu(), Devices::problem));
    assertEquals("cuda:1", resolve(AUTO, GPU_1, USABLE));
    assertEquals("cuda:3", resolve(new DevicePolicy("cuda:3", false), GPU_1, USABLE));
    assertEquals(List.of(), fallbacks);
  }

  @Test
  void cpuIgnoresTheAssignmentAndKeysTheCpu() {
    DevicePolicy cpu = new DevicePolicy("cpu", false);
    assertEquals("cpu", resolve(cpu, GPU_1, USABLE));
    assertEquals(DeviceSelection.cpu(), cpu.keyFor(GPU_1));
    assertEquals(GPU_1, AUTO.keyFor(GPU_1));
  }

  @Test
  void anAssignedGpuWithoutCudaFailsNamingWhatToInstall() {
    String problem = Devices.problem("cuda:1");
    assumeTrue(problem != null, "this host can use cuda:1");
    DeviceUnavailableException e =
        assertThrows(
            DeviceUnavailableException.class, () -> resolve(AUTO, GPU_1, Devices::problem));
    assertTrue(
        e.getMessage().startsWith("the task's GPU gpu:1 cannot be used: " + problem + ". "),
        e.getMessage());
    for (String named :
        new String[] {
          "runtime-cuda jar",
          "org.bytedeco cuda jars",
          "NVIDIA driver for CUDA 13 (R580 or newer)",
          "spark.dbrx.device.fallback=cpu",
          "spark.dbrx.device=cpu"
        }) {
      assertTrue(e.getMessage().contains(named), named + " in: " + e.getMessage());
    }
  }

  @Test
  void theCpuFallbackTakesTheModelToTheCpuAndSaysWhy() {
    DevicePolicy fallback = DevicePolicy.parse("auto", "cpu");
    Map<String, String> problems = Map.of("cuda:1", "CUDA driver 535 is older than 580");
    assertEquals("cpu", resolve(fallback, GPU_1, problems::get));
    assertEquals(
        List.of("the task's GPU gpu:1 cannot be used: CUDA driver 535 is older than 580"),
        fallbacks);
  }

  @Test
  void cudaNeedsAnAssignedGpuAndAnOrdinalAddress() {
    DevicePolicy cuda = new DevicePolicy("cuda", false);
    assertTrue(
        assertThrows(
                DeviceUnavailableException.class,
                () -> resolve(cuda, DeviceSelection.cpu(), USABLE))
            .getMessage()
            .startsWith(
                "device cuda cannot be used: spark.dbrx.device=cuda but this task has no GPU"
                    + " assigned"));
    assertTrue(
        assertThrows(
                DeviceUnavailableException.class,
                () -> resolve(cuda, DeviceSelection.gpu("GPU-5f3a"), USABLE))
            .getMessage()
            .contains("the task's GPU address 'GPU-5f3a' is not a CUDA device number"));
    assertEquals("cuda:1", resolve(cuda, GPU_1, USABLE));
  }
}
