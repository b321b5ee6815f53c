package org.dbrxspark.udfs.device;

import java.io.Serializable;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The device a model instance runs on: the CPU, or one GPU address that Spark assigned to the task
 * ({@code spark.task.resource.gpu.amount}). It is part of the model registry's key, so tasks pinned
 * to different GPUs of one executor get separate model instances.
 *
 * <p>Immutable and serializable.
 */
public final class DeviceSelection implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(DeviceSelection.class);

  /** Spark's resource name for GPUs. */
  public static final String GPU = "gpu";

  private static final DeviceSelection CPU = new DeviceSelection(null);

  /** Devices this executor has already logged a task mapping for. */
  private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();

  /** The GPU address, or null for the CPU. */
  private final String gpuAddress;

  private DeviceSelection(String gpuAddress) {
    this.gpuAddress = gpuAddress;
  }

  /** The CPU. */
  public static DeviceSelection cpu() {
    return CPU;
  }

  /** The GPU with this Spark resource address (usually its CUDA ordinal, "0", "1", ...). */
  public static DeviceSelection gpu(String address) {
    if (address == null || address.isBlank()) {
      throw new IllegalArgumentException("a GPU address must not be empty");
    }
    return new DeviceSelection(address);
  }

  /**
   * The device of the running task: the first GPU address Spark assigned to it, or the CPU when the
   * task has no GPU resource (or runs outside a task, e.g. on the driver). A task given several
   * GPUs uses the first: one model instance serves one device, and the others stay idle. The first
   * task with each assignment on this executor logs its mapping.
   */
  public static DeviceSelection forCurrentTask() {
    TaskContext task = TaskContext.get();
    if (task == null) {
      return CPU;
    }
    scala.Option<ResourceInformation> assigned = task.resources().get(GPU);
    return select(
        assigned.isDefined() ? assigned.get().addresses() : new String[0],
        () -> {
          SparkEnv env = SparkEnv.get();
          return "executor "
              + (env == null ? "?" : env.executorId())
              + ": task "
              + task.taskAttemptId()
              + " (stage "
              + task.stageId()
              + ", partition "
              + task.partitionId()
              + ")";
        });
  }

  /**
   * The device for a task's assigned GPU addresses, logging the mapping once per assignment; {@code
   * task} names the task for that line (built only then, as row-at-a-time callers select per row).
   */
  static DeviceSelection select(String[] addresses, Supplier<String> task) {
    DeviceSelection device = addresses.length == 0 ? CPU : gpu(addresses[0]);
    // Keyed by the whole assignment, so that a task given "0,1" logs even after one given "0"
    // alone.
    String mapping =
        addresses.length > 1
            ? device.key()
                + " (first of assigned GPUs "
                + String.join(",", addresses)
                + "; the others stay idle)"
            : device.key();
    if (LOGGED.add(mapping)) {
      LOG.info("{} -> {}", task.get(), mapping);
    }
    return device;
  }

  public boolean isGpu() {
    return gpuAddress != null;
  }

  /** The GPU address; throws for the CPU. */
  public String address() {
    if (gpuAddress == null) {
      throw new IllegalStateException("the CPU has no GPU address");
    }
    return gpuAddress;
  }

  /** {@code cpu} or {@code gpu:<address>}: the form used in registry keys and logs. */
  public String key() {
    return gpuAddress == null ? "cpu" : GPU + ":" + gpuAddress;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DeviceSelection other && key().equals(other.key());
  }

  @Override
  public int hashCode() {
    return key().hashCode();
  }

  @Override
  public String toString() {
    return key();
  }
}
