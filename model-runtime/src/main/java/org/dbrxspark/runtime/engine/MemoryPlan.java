package org.dbrxspark.runtime.engine;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.Arrays;
import java.util.Locale;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.model.KvBlockPool;

/**
 * The memory a runtime needs at most: its weights, a full KV cache, one step's activations and the
 * JVM around them, against this host's physical memory, and the KV cache against the JVM's limit on
 * direct (off-heap) buffers. Computable from a config alone, before any weights load; its total is
 * what the process's resident set reaches once the KV cache is full (see BENCHMARKS.md).
 *
 * @param weightBytes the checkpoint's tensor bytes (memory-mapped)
 * @param kvCacheBytes the KV block pool at its capacity (off-heap)
 * @param activationBytes the forward steps at the token budget, with their logits (heap), for each
 *     caller that steps at once. The young generation holds them as they are made; the buffers that
 *     outlive a young collection are promoted to the old generation, which keeps them until a full
 *     collection, so they are counted besides the young generation.
 * @param jvmBytes the JVM besides the model: {@link #JVM_BASELINE_BYTES} and the heap's young
 *     generation, all of it resident once the allocator has cycled through it
 * @param hostBytes physical memory of this host (or of its container)
 * @param directLimitBytes the most direct-buffer memory this JVM may allocate
 * @param kvDtype how the KV cache stores keys and values
 */
public record MemoryPlan(
    long weightBytes,
    long kvCacheBytes,
    long activationBytes,
    long jvmBytes,
    long hostBytes,
    long directLimitBytes,
    KvDType kvDtype) {

  /**
   * The JVM's resident memory besides its heap's young generation, the model and its buffers: its
   * code, class metadata, collector tables and libraries, and the tokenizer's tables. Measured with
   * bin/dbrx on JDK 17 and the bench checkpoint as BF16 safetensors and Q8_0, Q4_0 and Q4_K_M GGUF
   * (BENCHMARKS.md): 2 to 195 MB over fourteen runs, as the collections happen to fall.
   */
  public static final long JVM_BASELINE_BYTES = 96L << 20;

  /**
   * The plan for a model of {@code config} whose weights take {@code weightBytes}, served with
   * {@code options}.
   */
  public static MemoryPlan of(DbrxConfig config, EngineOptions options, long weightBytes) {
    return of(config, options, weightBytes, 1);
  }

  /**
   * The plan when {@code concurrentSteps} callers (an executor's tasks) share the runtime: one set
   * of weights and one KV cache, but each caller's forward steps have activations of their own.
   */
  public static MemoryPlan of(
      DbrxConfig config, EngineOptions options, long weightBytes, int concurrentSteps) {
    if (concurrentSteps < 1) {
      throw new IllegalArgumentException("concurrent steps must be >= 1, got " + concurrentSteps);
    }
    long kvCache = KvBlockPool.bytesFor(config, options.kvDtype(), options.kvCacheTokens(config));
    long activations = concurrentSteps * activationBytes(config, options);
    return new MemoryPlan(
        weightBytes,
        kvCache,
        activations,
        JVM_BASELINE_BYTES + youngGenerationBytes(),
        physicalMemoryBytes(),
        directMemoryLimitBytes(),
        options.kvDtype());
  }

  /**
   * Weight bytes of a checkpoint of {@code config} with every tensor in its {@code torch_dtype} (2
   * bytes a parameter for DBRX's bfloat16): the plan's weights when only the config is at hand.
   */
  public static long checkpointBytes(DbrxConfig config) {
    DType dtype =
        Arrays.stream(DType.values())
            .filter(t -> t.torchName().equals(config.torchDtype()))
            .findFirst()
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "torch_dtype '" + config.torchDtype() + "' is not a checkpoint dtype"));
    return config.parameterCount() * dtype.byteSize();
  }

  /**
   * One step's residual, norm, attention output and projection rows, QKV, the gate/up/down rows of
   * an expert that every token of the step may be routed to, and the logits of every sequence.
   */
  public static long activationBytes(DbrxConfig c, EngineOptions o) {
    long activations =
        (long) o.maxBatchTokens()
            * (5L * c.dModel() + c.qkvWidth() + 2L * c.ffnHiddenSize() + c.moeNumExperts());
    long logits = (long) Math.min(o.maxSequences(), o.maxBatchTokens()) * c.vocabSize();
    return (activations + logits) * Float.BYTES;
  }

  /**
   * The young generation's size (eden and survivor spaces) in this JVM: {@code -Xmn} where it is
   * set (bin/dbrx sets 256 MiB), else the collector's bound on it; 0 where the collector gives none
   * (G1 without {@code -Xmn}).
   */
  public static long youngGenerationBytes() {
    VMOption set =
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
            .getVMOption("MaxNewSize");
    if (set.getOrigin() != VMOption.Origin.DEFAULT
        && set.getOrigin() != VMOption.Origin.ERGONOMIC) {
      return Long.parseLong(set.getValue());
    }
    long bytes = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      String name = pool.getName();
      if (pool.getType() == MemoryType.HEAP
          && (name.contains("Eden") || name.contains("Survivor"))) {
        long max = pool.getUsage().getMax();
        if (max < 0) {
          return 0;
        }
        bytes += max;
      }
    }
    return bytes;
  }

  /** Total physical memory as the JVM sees it (a container's limit inside one). */
  public static long physicalMemoryBytes() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getTotalMemorySize();
  }

  /** -XX:MaxDirectMemorySize, whose default (0) means the maximum heap size. */
  public static long directMemoryLimitBytes() {
    HotSpotDiagnosticMXBean hotspot =
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    long set = Long.parseLong(hotspot.getVMOption("MaxDirectMemorySize").getValue());
    return set > 0 ? set : Runtime.getRuntime().maxMemory();
  }

  public long totalBytes() {
    return weightBytes + kvCacheBytes + activationBytes + jvmBytes;
  }

  public boolean fits() {
    return totalBytes() <= hostBytes && kvCacheBytes <= directLimitBytes;
  }

  /**
   * Why the plan does not fit this host, naming the numbers and the options that shrink it; null
   * when it fits.
   */
  public String problem() {
    if (fits()) {
      return null;
    }
    if (totalBytes() <= hostBytes) {
      return String.format(
          Locale.ROOT,
          "the KV cache needs %.2f GiB of direct memory but this JVM may allocate %.2f GiB;"
              + " raise -XX:MaxDirectMemorySize (bin/dbrx: in DBRX_JAVA_OPTS), or lower --max-sequences, --max-seq-len or"
              + " --kv-cache-tokens",
          gib(kvCacheBytes),
          gib(directLimitBytes));
    }
    String remedy =
        weightBytes + activationBytes + jvmBytes > hostBytes
            ? "the weights alone do not fit: use a host with more memory"
            : "lower --max-sequences, --max-seq-len or --kv-cache-tokens"
                + (kvDtype == KvDType.F32
                    ? ", or store the KV cache as --kv-dtype f16 (half the bytes)"
                    : "");
    return String.format(
        Locale.ROOT,
        "the memory plan needs %.2f GiB (weights %.2f + KV cache %.2f as %s + activations %.2f"
            + " + JVM %.2f) but this host has %.2f GiB of physical memory; %s",
        gib(totalBytes()),
        gib(weightBytes),
        gib(kvCacheBytes),
        kvDtype.label(),
        gib(activationBytes),
        gib(jvmBytes),
        gib(hostBytes),
        remedy);
  }

  private static double gib(long bytes) {
    return bytes / (double) (1L << 30);
  }
}
