package org.dbrxspark.udfs.ml;

import java.util.Arrays;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.udfs.device.DevicePolicy;
import org.dbrxspark.udfs.registry.ModelRegistry;
import org.dbrxspark.udfs.registry.ModelSpec;

/**
 * A DBRX transformer that runs the model: adds where the checkpoint is and how it is loaded. The
 * model is loaded once per executor and device through the {@link ModelRegistry}.
 *
 * @param <T> the concrete transformer
 */
public abstract class DbrxModelTransformer<T extends DbrxModelTransformer<T>>
    extends DbrxTransformer<T> {
  private static final long serialVersionUID = 1L;

  private final Param<String> modelLocation;
  private final IntParam threads;
  private final IntParam maxBatchTokens;
  private final IntParam maxSequences;
  private final IntParam maxSeqLen;
  private final Param<String> kvDtype;
  private final LongParam kvCacheTokens;
  private final Param<String> device;
  private final Param<String> deviceFallback;

  protected DbrxModelTransformer(String uid, String defaultInputCol, String defaultOutputCol) {
    super(uid, defaultInputCol, defaultOutputCol);
    modelLocation =
        new Param<>(
            this,
            "modelLocation",
            "checkpoint folder or GGUF file: a local path, a Hadoop FileSystem URI or a name shipped with --files/--archives");
    threads =
        new IntParam(
            this,
            "threads",
            "CPU threads of the model's kernels; 0 for one per processor",
            ParamValidators.gtEq(0));
    maxBatchTokens =
        new IntParam(
            this, "maxBatchTokens", "tokens one engine step may process", ParamValidators.gtEq(1));
    maxSequences =
        new IntParam(
            this, "maxSequences", "sequences one task generates at once", ParamValidators.gtEq(1));
    maxSeqLen =
        new IntParam(
            this,
            "maxSeqLen",
            "positions one sequence fills, its prompt and every generated token but the last; 0 for the model's max_seq_len",
            ParamValidators.gtEq(0));
    String[] kvDtypes = Arrays.stream(KvDType.values()).map(KvDType::label).toArray(String[]::new);
    kvDtype =
        new Param<>(
            this,
            "kvDtype",
            "KV cache storage: " + String.join(", ", kvDtypes),
            ParamValidators.inArray(kvDtypes));
    kvCacheTokens =
        new LongParam(
            this,
            "kvCacheTokens",
            "positions the KV cache holds over all sequences; 0 for maxSequences x maxSeqLen",
            ParamValidators.gtEq(0));
    device =
        new Param<>(
            this,
            "device",
            "where the model computes: "
                + DevicePolicy.CHOICES
                + " (auto: the task's Spark-assigned GPU, else the CPU)",
            DevicePolicy::isDevice);
    deviceFallback =
        new Param<>(
            this,
            "deviceFallback",
            "cpu: a GPU that cannot be used falls back to the CPU; none: it fails the task",
            ParamValidators.inArray(new String[] {"none", DevicePolicy.CPU}));
    EngineOptions defaults = EngineOptions.defaults();
    setDefault(threads, 0);
    setDefault(maxBatchTokens, defaults.maxBatchTokens());
    setDefault(maxSequences, defaults.maxSequences());
    setDefault(maxSeqLen, defaults.maxSeqLen());
    setDefault(kvDtype, defaults.kvDtype().label());
    setDefault(kvCacheTokens, defaults.kvCacheTokens());
    setDefault(device, DevicePolicy.DEFAULT.device());
    setDefault(deviceFallback, DevicePolicy.DEFAULT.fallbackName());
  }

  public Param<String> modelLocation() {
    return modelLocation;
  }

  public String getModelLocation() {
    return $(modelLocation);
  }

  /** The checkpoint folder or GGUF file (required); see {@link ModelSpec#location()}. */
  public T setModelLocation(String value) {
    set(modelLocation, value);
    return self();
  }

  public IntParam threads() {
    return threads;
  }

  public int getThreads() {
    return (Integer) $(threads);
  }

  /** CPU threads of the model's kernels (default 0: one per available processor). */
  public T setThreads(int value) {
    set(threads, value);
    return self();
  }

  public IntParam maxBatchTokens() {
    return maxBatchTokens;
  }

  public int getMaxBatchTokens() {
    return (Integer) $(maxBatchTokens);
  }

  /** Tokens one engine step may process (the runtime's default, 2048). */
  public T setMaxBatchTokens(int value) {
    set(maxBatchTokens, value);
    return self();
  }

  public IntParam maxSequences() {
    return maxSequences;
  }

  public int getMaxSequences() {
    return (Integer) $(maxSequences);
  }

  /** Sequences one task generates at once (the runtime's default, 32). */
  public T setMaxSequences(int value) {
    set(maxSequences, value);
    return self();
  }

  public IntParam maxSeqLen() {
    return maxSeqLen;
  }

  public int getMaxSeqLen() {
    return (Integer) $(maxSeqLen);
  }

  /**
   * The positions one sequence fills, its prompt and every generated token but the last (default 0:
   * the model's max_seq_len). A longer prompt fails its row, and a generation stops at it; it
   * bounds the KV cache.
   */
  public T setMaxSeqLen(int value) {
    set(maxSeqLen, value);
    return self();
  }

  public Param<String> kvDtype() {
    return kvDtype;
  }

  public String getKvDtype() {
    return $(kvDtype);
  }

  /** How the KV cache stores keys and values: f32, f16 (the runtime's default) or bf16. */
  public T setKvDtype(String value) {
    set(kvDtype, value);
    return self();
  }

  public LongParam kvCacheTokens() {
    return kvCacheTokens;
  }

  public long getKvCacheTokens() {
    return (Long) $(kvCacheTokens);
  }

  /**
   * Positions the executor's KV cache holds at once over all sequences (default 0: maxSequences x
   * maxSeqLen, so no sequence waits for cache memory); at least maxSeqLen.
   */
  public T setKvCacheTokens(long value) {
    set(kvCacheTokens, value);
    return self();
  }

  public Param<String> device() {
    return device;
  }

  public String getDevice() {
    return $(device);
  }

  /** Where the model computes (see {@link DevicePolicy}): cpu (the default), auto, cuda, cuda:N. */
  public T setDevice(String value) {
    set(device, value);
    return self();
  }

  public Param<String> deviceFallback() {
    return deviceFallback;
  }

  public String getDeviceFallback() {
    return $(deviceFallback);
  }

  /** {@code cpu} to compute on the CPU when the task's GPU cannot be used; {@code none} to fail. */
  public T setDeviceFallback(String value) {
    set(deviceFallback, value);
    return self();
  }

  /**
   * The model this transformer loads, as the executor's registry keys it: a caller that leases
   * {@link org.dbrxspark.udfs.registry.ModelRegistry#acquire} with it shares the instance.
   */
  @Override
  public ModelSpec modelSpec() {
    if (!isDefined(modelLocation)) {
      throw new IllegalArgumentException(
          "modelLocation is not set: " + uid() + " needs a checkpoint folder");
    }
    return new ModelSpec(getModelLocation(), getThreads(), getMaxBatchTokens(), getMaxSequences())
        .withKvCache(getMaxSeqLen(), KvDType.parse(getKvDtype()), getKvCacheTokens())
        .withDevice(DevicePolicy.parse(getDevice(), getDeviceFallback()));
  }

  @Override
  public StructType transformSchema(StructType schema) {
    modelSpec();
    return super.transformSchema(schema);
  }
}
