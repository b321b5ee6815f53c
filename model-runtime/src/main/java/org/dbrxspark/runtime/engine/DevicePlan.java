package org.dbrxspark.runtime.engine;

import java.util.Locale;
import org.dbrxspark.runtime.backend.DeviceMemory;
import org.dbrxspark.runtime.backend.KvDType;

/**
 * The part of a {@link MemoryPlan} that lives on a GPU (the weights in their stored type, the KV
 * cache and one step's activations, with an allowance for the libraries' workspaces) against the
 * device's free memory as its driver reports it: a model that does not fit is refused before any
 * weight is uploaded, with these numbers. A pure function of the numbers, so that the arithmetic is
 * tested without a device.
 *
 * @param device the device's name, such as {@code cuda:0}
 * @param weightBytes the weights as stored (uploaded in that type)
 * @param kvCacheBytes the KV block pool at its capacity
 * @param activationBytes one step's activations and logits at the token budget
 * @param freeBytes the device's free memory now
 * @param totalBytes the device's memory
 * @param kvDtype how the KV cache stores keys and values
 */
public record DevicePlan(
    String device,
    long weightBytes,
    long kvCacheBytes,
    long activationBytes,
    long freeBytes,
    long totalBytes,
    KvDType kvDtype) {

  /**
   * Device memory besides the plan's tensors: cuBLAS/cuBLASLt workspaces, the NVRTC-compiled
   * modules and the allocator's rounding. An allowance, not yet measured on a GPU.
   */
  public static final long WORKSPACE_BYTES = 256L << 20;

  /** The device part of {@code plan} against {@code memory}. */
  public static DevicePlan of(String device, MemoryPlan plan, DeviceMemory memory) {
    return new DevicePlan(
        device,
        plan.weightBytes(),
        plan.kvCacheBytes(),
        plan.activationBytes(),
        memory.freeBytes(),
        memory.totalBytes(),
        plan.kvDtype());
  }

  /** What the device must hold: the tensors and {@link #WORKSPACE_BYTES}. */
  public long neededBytes() {
    return weightBytes + kvCacheBytes + activationBytes + WORKSPACE_BYTES;
  }

  public boolean fits() {
    return neededBytes() <= freeBytes;
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
    if (neededBytes() - kvCacheBytes > freeBytes) {
      remedy =
          "the weights alone do not fit: quantize them (bin/dbrx quantize --type q8_0 halves BF16)"
              + " or use a GPU with more free memory";
    } else {
      remedy =
          "lower --max-sequences, --max-seq-len or --kv-cache-tokens (spark.dbrx.maxSequences,"
              + " maxSeqLen, kvCacheTokens)"
              + (kvDtype == KvDType.F32 ? ", or store the KV cache as --kv-dtype f16" : "");
    }
    return String.format(
        Locale.ROOT,
        "%s: the model needs %.2f GiB of device memory (weights %.2f + KV cache %.2f as %s +"
            + " activations %.2f + workspaces %.2f) but %.2f GiB of its %.2f GiB are free; %s",
        device,
        gib(neededBytes()),
        gib(weightBytes),
        gib(kvCacheBytes),
        kvDtype.label(),
        gib(activationBytes),
        gib(WORKSPACE_BYTES),
        gib(freeBytes),
        gib(totalBytes),
        remedy);
  }

  private static double gib(long bytes) {
    return bytes / (double) (1L << 30);
  }
}
