package org.dbrxspark.runtime.engine;

import java.util.Locale;
import org.dbrxspark.runtime.backend.DeviceMemory;
import org.dbrxspark.runtime.backend.KvDType;

/**
 * The part of a {@link MemoryPlan} that lives on a GPU (the weights in their stored type, the KV
 * cache and one step's activations, with an allowance for workspaces) against the device's free
 * memory as its driver reports it: a model that does not fit is refused before any weight is
 * uploaded, with these numbers. A pure function of the numbers, so that the arithmetic is tested
 * without a device.
 *
 * @param device the device's name, such as {@code cuda:0}
 * @param plan the whole plan; its weights (uploaded in their stored type), KV cache and activations
 *     are what the device holds
 * @param memory the device's free and total memory now
 */
public record DevicePlan(String device, MemoryPlan plan, DeviceMemory memory) {

  /**
   * Device memory besides the plan's tensors: the NVRTC-compiled modules, the driver's context and
   * the allocator's rounding. An allowance, not yet measured on a GPU.
   */
  public static final long WORKSPACE_BYTES = 256L << 20;

  /** What the device must hold: the tensors and {@link #WORKSPACE_BYTES}. */
  public long neededBytes() {
    return plan.weightBytes() + plan.kvCacheBytes() + plan.activationBytes() + WORKSPACE_BYTES;
  }

  public boolean fits() {
    return neededBytes() <= memory.freeBytes();
  }

  /**
   * Why the model does not fit on the device, naming the numbers and the options that shrink it;
   * null when it fits.
   */
  public String problem() {
    if (fits()) {
      return null;
    }
    String remedy;
    if (neededBytes() - plan.kvCacheBytes() > memory.freeBytes()) {
      remedy =
          "the weights alone do not fit: quantize them (bin/dbrx quantize --type q8_0 halves BF16)"
              + " or use a GPU with more free memory";
    } else {
      remedy =
          "lower --max-sequences, --max-seq-len or --kv-cache-tokens (spark.dbrx.maxSequences,"
              + " maxSeqLen, kvCacheTokens)"
              + (plan.kvDtype() == KvDType.F32 ? ", or store the KV cache as --kv-dtype f16" : "");
    }
    return String.format(
        Locale.ROOT,
        "%s: the model needs %.2f GiB of device memory (weights %.2f + KV cache %.2f as %s +"
            + " activations %.2f + workspaces %.2f) but %.2f GiB of its %.2f GiB are free; %s",
        device,
        gib(neededBytes()),
        gib(plan.weightBytes()),
        gib(plan.kvCacheBytes()),
        plan.kvDtype().label(),
        gib(plan.activationBytes()),
        gib(WORKSPACE_BYTES),
        gib(memory.freeBytes()),
        gib(memory.totalBytes()),
        remedy);
  }

  private static double gib(long bytes) {
    return bytes / (double) (1L << 30);
  }
}
