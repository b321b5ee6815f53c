package org.dbrxspark.runtime;

import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.kernels.CpuBackend;

/** The devices the runtime computes on, and their backends. */
public final class Devices {
  private Devices() {}

  /** The CPU, the default device. */
  public static final String CPU = "cpu";

  /**
   * The backend for {@code device}. This build has the CPU backend only; a CUDA device is refused
   * by name rather than run silently elsewhere.
   *
   * @param threads CPU threads for the kernels
   */
  public static Backend backend(String device, int threads) {
    String problem = problem(device);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    return new CpuBackend(threads);
  }

  /** Why {@code device} cannot be used, or null if it can. */
  public static String problem(String device) {
    return CPU.equals(device)
        ? null
        : "device '"
            + device
            + "': this build computes on the cpu only"
            + " (the CUDA backend is not built yet); use cpu";
  }
}
