package org.dbrxspark.udfs.device;

import java.io.Serializable;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Where a model computes, as {@code spark.dbrx.device} and {@code spark.dbrx.device.fallback} (or
 * the transformers' {@code device} and {@code deviceFallback}, the jobs' {@code --device} and
 * {@code --device-fallback}) say:
 *
 * <ul>
 *   <li>{@code cpu} (the default, until the CUDA backend has passed {@code scripts/device-check} on
 *       a GPU): the CPU, whatever the task was assigned;
 *   <li>{@code auto}: the task's Spark-assigned GPU if it has one, else the CPU;
 *   <li>{@code cuda}: the task's assigned GPU, and an error for a task without one;
 *   <li>{@code cuda:N}: GPU N for every task, for hosts where Spark assigns no GPUs (local mode).
 * </ul>
 *
 * A GPU that cannot be used (no CUDA backend on the class path, no driver, no device) is an error
 * naming what to install, unless the fallback is {@code cpu}: then the model computes on the CPU.
 *
 * @param device {@code auto}, {@code cpu}, {@code cuda} or {@code cuda:N}
 * @param fallbackToCpu whether a GPU that cannot be used falls back to the CPU
 */
public record DevicePolicy(String device, boolean fallbackToCpu) implements Serializable {
  public static final String AUTO = "auto";
  public static final String CPU = "cpu";
  public static final String CUDA = "cuda";

  // Before DEFAULT, whose construction checks its name against it.
  private static final Pattern NAME = Pattern.compile("auto|cpu|cuda(:\\d{1,4})?");

  /**
   * {@code cpu}, no fallback: the CUDA backend has not yet passed {@code scripts/device-check} on a
   * GPU, so a GPU is used only when asked for ({@code auto}, {@code cuda}).
   */
  public static final DevicePolicy DEFAULT = new DevicePolicy(CPU, false);

  /** The values of the device setting, for help texts and validators. */
  public static final String CHOICES = "auto, cpu, cuda or cuda:N";

  public DevicePolicy {
    if (!isDevice(device)) {
      throw new IllegalArgumentException("device '" + device + "' is not " + CHOICES);
    }
  }

  /** Whether {@code value} is one of {@link #CHOICES}. */
  public static boolean isDevice(String value) {
    return value != null && NAME.matcher(value).matches();
  }

  /**
   * The policy of a device setting and a fallback setting ({@code cpu}, or {@code none} / empty /
   * null for none), each refused by name when it is not one of its values.
   */
  public static DevicePolicy parse(String device, String fallback) {
    String f = fallback == null ? "" : fallback.trim().toLowerCase(Locale.ROOT);
    if (!f.isEmpty() && !f.equals("none") && !f.equals(CPU)) {
      throw new IllegalArgumentException("device fallback '" + fallback + "' is not cpu or none");
    }
    return new DevicePolicy(
        device == null ? CPU : device.trim().toLowerCase(Locale.ROOT), f.equals(CPU));
  }

  /** {@code none} or {@code cpu}: the fallback as its setting spells it. */
  public String fallbackName() {
    return fallbackToCpu ? CPU : "none";
  }

  /**
   * The device the executor's registry keys a model by: the CPU under {@code cpu} (so that tasks on
   * different GPUs share one CPU instance), else the task's assignment.
   */
  public DeviceSelection keyFor(DeviceSelection assigned) {
    return device.equals(CPU) ? DeviceSelection.cpu() : assigned;
  }

  /**
   * The runtime device ({@code cpu} or {@code cuda:N}) a task assigned {@code assigned} computes
   * on.
   *
   * @param problems why a runtime device cannot be used here, null if it can ({@code
   *     Devices::problem})
   * @param fallingBack told why, when the fallback takes the model to the CPU
   * @throws DeviceUnavailableException when the GPU cannot be used and there is no fallback
   */
  public String runtimeDevice(
      DeviceSelection assigned, Function<String, String> problems, Consumer<String> fallingBack) {
    if (device.equals(CPU) || (device.equals(AUTO) && !assigned.isGpu())) {
      return CPU;
    }
    String gpu;
    String problem;
    if (device.startsWith(CUDA + ":")) {
      gpu = device;
      problem = problems.apply(gpu);
    } else if (!assigned.isGpu()) {
      gpu = null;
      problem =
          "spark.dbrx.device=cuda but this task has no GPU assigned: request one per task"
              + " (spark.task.resource.gpu.amount, docs/cluster.md), or name a device as cuda:N";
    } else if (!assigned.address().matches("\\d{1,4}")) {
      gpu = null;
      problem =
          "the task's GPU address '"
              + assigned.address()
              + "' is not a CUDA device number: the GPU discovery script must report ordinals"
              + " (0, 1, ...), as Spark's getGpusResources.sh does";
    } else {
      gpu = CUDA + ":" + assigned.address();
      problem = problems.apply(gpu);
    }
    if (problem == null) {
      return gpu;
    }
    String why =
        (assigned.isGpu() ? "the task's GPU " + assigned.key() : "device " + device)
            + " cannot be used: "
            + problem;
    if (fallbackToCpu) {
      fallingBack.accept(why);
      return CPU;
    }
    throw new DeviceUnavailableException(
        why
            + ". The CUDA backend needs the runtime-cuda jar and its org.bytedeco cuda jars"
            + " (javacpp, cuda, cuda linux-x86_64) on the executors' class path, and an NVIDIA"
            + " driver for CUDA 13 (R580 or newer) on the host: install those (docs/cluster.md,"
            + " \"GPUs\"), or set spark.dbrx.device.fallback=cpu to compute on the CPU instead,"
            + " or spark.dbrx.device=cpu");
  }

  @Override
  public String toString() {
    return device + (fallbackToCpu ? " (fallback cpu)" : "");
  }
}
