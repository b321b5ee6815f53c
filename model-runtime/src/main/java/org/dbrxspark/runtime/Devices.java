package org.dbrxspark.runtime;

import java.util.Optional;
import java.util.ServiceLoader;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.BackendProvider;
import org.dbrxspark.runtime.kernels.CpuBackend;

/**
 * The devices the runtime computes on, and their backends: {@code cpu}, or {@code KIND:N} (device
 * number N of a kind, {@code cuda:0}) served by a {@link BackendProvider} on the class path.
 */
public final class Devices {
  private Devices() {}

  /** The CPU, the default device. */
  public static final String CPU = "cpu";

  private static final Pattern NUMBERED = Pattern.compile("([a-z]+)(?::(\\d{1,4}))?");

  /**
   * The backend for {@code device}, refused by name when the device cannot be used here rather than
   * run silently on another.
   *
   * @param threads CPU threads for the kernels
   */
  public static Backend backend(String device, int threads) {
    String problem = problem(device);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    if (CPU.equals(device)) {
      return new CpuBackend(threads);
    }
    Matcher m = matcher(device);
    return provider(m.group(1)).orElseThrow().open(ordinal(m), threads);
  }

  /** Why {@code device} cannot be used on this host, or null if it can. */
  public static String problem(String device) {
    if (CPU.equals(device)) {
      return null;
    }
    Matcher m = matcher(device);
    if (m == null) {
      return "device '" + device + "': not a device name; use cpu or KIND:N, such as cuda:0";
    }
    Optional<BackendProvider> provider = provider(m.group(1));
    if (provider.isEmpty()) {
      return "device '"
          + device
          + "': no backend for '"
          + m.group(1)
          + "' is on the class path (the CUDA backend is the runtime-cuda module); use cpu";
    }
    String problem = provider.get().problem(ordinal(m));
    return problem == null ? null : "device '" + device + "': " + problem;
  }

  /** The provider of device kind {@code kind} on the class path, if any. */
  public static Optional<BackendProvider> provider(String kind) {
    for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
      if (p.kind().equals(kind)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  private static Matcher matcher(String device) {
    Matcher m = NUMBERED.matcher(device == null ? "" : device);
    return m.matches() && !CPU.equals(m.group(1)) ? m : null;
  }

  private static int ordinal(Matcher m) {
    return m.group(2) == null ? 0 : Integer.parseInt(m.group(2));
  }
}
