package org.dbrxspark.udfs.device;

/**
 * A task's GPU cannot be used and its {@link DevicePolicy} has no CPU fallback; the message names
 * the device, the cause and what to install or set.
 */
public final class DeviceUnavailableException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public DeviceUnavailableException(String message) {
    super(message);
  }
}
