package org.dbrxspark.udfs.registry;

import java.util.concurrent.atomic.AtomicBoolean;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.udfs.device.DeviceSelection;

/**
 * A lease on a model of the executor's {@link ModelRegistry}. The model stays open while any lease
 * on it is open, even if it is unloaded meanwhile; close the lease when the task is done with it.
 */
public final class LoadedModel implements AutoCloseable {
  private final ModelRegistry.Slot slot;
  private final DbrxRuntime runtime;
  private final String computeDevice;
  private final long loadMillis;
  private final AtomicBoolean closed = new AtomicBoolean();

  LoadedModel(ModelRegistry.Slot slot, DbrxRuntime runtime, String computeDevice, long loadMillis) {
    this.slot = slot;
    this.runtime = runtime;
    this.computeDevice = computeDevice;
    this.loadMillis = loadMillis;
  }

  /** The loaded runtime: thread-safe, shared with the executor's other tasks. */
  public DbrxRuntime runtime() {
    return runtime;
  }

  /** The device the model is bound to: the registry's key, the task's GPU or the CPU. */
  public DeviceSelection device() {
    return slot.key.device();
  }

  /**
   * The runtime device the model computes on, {@code cpu} or {@code cuda:N}: the task's GPU, or the
   * CPU under {@code spark.dbrx.device=cpu} or its fallback.
   */
  public String computeDevice() {
    return computeDevice;
  }

  /** Milliseconds this acquisition spent loading the model; 0 when it was already loaded. */
  public long loadMillis() {
    return loadMillis;
  }

  /** Releases the lease; idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      slot.release();
    }
  }
}
