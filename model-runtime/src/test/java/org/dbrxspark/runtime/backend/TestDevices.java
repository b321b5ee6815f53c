package org.dbrxspark.runtime.backend;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.dbrxspark.runtime.Devices;

/**
 * The devices the backend suites (the conformance suite, the golden logits) run on: every device
 * named here, skipped where this host cannot open it. {@code -Ddbrx.test.devices=cuda:0} keeps only
 * the devices it lists, as runtime-cuda's run of these suites does.
 */
public final class TestDevices {
  private TestDevices() {}

  /** One line per device. */
  private static final List<String> ALL = List.of(Devices.CPU, "cuda:0");

  /** The devices under test. */
  public static Stream<String> devices() {
    String only = System.getProperty("dbrx.test.devices");
    return only == null
        ? ALL.stream()
        : ALL.stream().filter(Arrays.asList(only.split(","))::contains);
  }

  /** Opens {@code device}, or skips the test, saying why this host cannot use it. */
  public static Backend open(String device, int threads) {
    String problem = Devices.problem(device);
    assumeTrue(problem == null, () -> "skipped: " + problem);
    return Devices.backend(device, threads);
  }
}
