package org.dbrxspark.udfs.device;

import java.io.Serializable;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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
   * GPUs uses the first: one model instance serves one device. The first task to use each device
   * on this executor logs its mapping.
   */
  public static DeviceSelection forCurrentTask() {
    TaskContext task = TaskContext.get();
    if (task == null) {
      return CPU;
    }
    scala.Option<ResourceInformation> assigned = task.resources().get(GPU);
    ResourceInformation gpus = assigned.isDefined() ? assigned.get() : null;
    DeviceSelection device =
        gpus == null || gpus.addresses().length == 0 ? CPU : gpu(gpus.addresses()[0]);
    if (LOGGED.add(device.key())) {
      SparkEnv env = SparkEnv.get();
      LOG.info("executor {}: task {} (stage {}, partition {}) -> {}{}",
          env == null ? "?" : env.executorId(), task.taskAttemptId(), task.stageId(),
          task.partitionId(), device.key(),
          gpus != null && gpus.addresses().length > 1
              ? " (first of assigned GPUs " + String.join(",", gpus.addresses()) + ")" : "");
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
