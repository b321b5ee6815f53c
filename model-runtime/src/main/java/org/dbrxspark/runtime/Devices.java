package org.dbrxspark.runtime;

import java.util.Optional;
import java.util.ServiceLoader;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.BackendProvider;
import org.dbrxspark.runtime.backend.DeviceMemory;
import org.dbrxspark.runtime.kernels.CpuBackend;

/**
 * The devices the runtime computes on, and their backends: {@code cpu}, or {@code KIND:N} (device
 * number N of a kind, {@code cuda:0}) served by a {@link BackendProvider} on the class path.
 */
public final class Devices {
  private Devices() {}

  /** The CPU. */
  public static final String CPU = "cpu";

  /** The first GPU where a backend on the class path can use it, else the CPU: {@link #resolve}. */
  public static final String AUTO = "auto";

  /** The device {@link #AUTO} tries before the CPU. */
  static final String FIRST_GPU = "cuda:0";

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

  /**
   * The device {@code requested} names: {@link #AUTO} resolved to {@code cuda:0} where its backend
   * reports it usable, else to the CPU; any other name as given.
   */
  public static String resolve(String requested) {
    if (!AUTO.equals(requested)) {
      return requested;
    }
    return problem(FIRST_GPU) == null ? FIRST_GPU : CPU;
  }

  /**
   * The free and total memory of {@code device}, a usable device other than the CPU, as its driver
   * reports them now.
   */
  public static DeviceMemory memory(String device) {
    String problem = problem(device);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    Matcher m = matcher(device);
    if (m == null) {
      throw new IllegalArgumentException("device '" + device + "': the CPU has no device memory");
    }
    return provider(m.group(1)).orElseThrow().memory(ordinal(m));
  }

  /** Why {@code device} cannot be used on this host, or null if it can. */
  public static String problem(String device) {
    if (CPU.equals(device)) {
      return null;
    }
    Matcher m = matcher(device);
    if (m == null) {
      return "device '"
          + device
          + "': not a device name; use auto, cpu or KIND[:N], such as cuda:0";
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

  /**
   * The provider of device kind {@code kind} on the class path, if any. Looked up on every call,
   * not cached: a lookup happens once per model load, and a cache would pin the class loader of the
   * first caller, where Spark executors add jars through the thread's context class loader.
   */
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
