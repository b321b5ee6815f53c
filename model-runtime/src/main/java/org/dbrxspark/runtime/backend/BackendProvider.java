package org.dbrxspark.runtime.backend;

/**
 * A kind of device other than the CPU, found on the class path through {@link
 * java.util.ServiceLoader} ({@code
 * META-INF/services/org.dbrxspark.runtime.backend.BackendProvider}), so that the runtime carries no
 * GPU library unless a provider's module is on the class path. {@code Devices} asks the provider
 * whose {@link #kind} matches a device name such as {@code cuda:0}.
 */
public interface BackendProvider {

  /** The device kind this provider serves: the part of a device name before the colon. */
  String kind();

  /**
   * Why device number {@code ordinal} cannot be used on this host (its library, its driver or the
   * device itself missing), naming what to install or change; null if it can be used.
   */
  String problem(int ordinal);

  /** The device's memory as its driver reports it now; call only when {@link #problem} is null. */
  DeviceMemory memory(int ordinal);

  /**
   * Opens a backend on device number {@code ordinal}; call only when {@link #problem} is null.
   *
   * @param threads host threads the backend may use for work it keeps on the CPU
   */
  Backend open(int ordinal, int threads);
}
