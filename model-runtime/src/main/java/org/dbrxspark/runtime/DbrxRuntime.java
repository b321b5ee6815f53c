package org.dbrxspark.runtime;

import java.io.IOException;
import java.nio.file.Path;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.engine.DevicePlan;
import org.dbrxspark.runtime.engine.Embedder;
import org.dbrxspark.runtime.engine.Engine;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.MemoryPlan;
import org.dbrxspark.runtime.engine.Scorer;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.KvBlockPool;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/**
 * A loaded DBRX checkpoint with its tokenizer and the engines built on it: the entry point for
 * callers (CLI, Spark UDFs, services). Thread-safe; close it to release the mapped weights.
 */
public final class DbrxRuntime implements AutoCloseable {
  private final DbrxModel model;
  private final Backend backend;
  private final DbrxTokenizer tokenizer;
  private final KvBlockPool kvPool;
  private final Engine engine;
  private final Scorer scorer;
  private final Embedder embedder;

  /** Refuses, closing {@code model}, options whose memory plan does not fit this host. */
  private DbrxRuntime(DbrxModel model, Backend backend, EngineOptions options) {
    try {
      String problem = MemoryPlan.of(model.config(), options, model.weightBytes()).problem();
      if (problem != null) {
        throw new IllegalArgumentException(problem);
      }
    } catch (IllegalArgumentException e) {
      model.close();
      throw e;
    }
    this.model = model;
    this.backend = backend;
    this.tokenizer = DbrxTokenizer.shared();
    this.kvPool = options.newKvPool(model);
    this.engine = new Engine(model, tokenizer, options, kvPool);
    this.scorer = new Scorer(model, options, kvPool);
    this.embedder = new Embedder(model, options, kvPool);
  }

  /**
   * Loads the checkpoint at {@code path}, validating it first: a folder (config.json + safetensors)
   * or a GGUF file, on the CPU.
   *
   * @param threads CPU threads for the matrix kernels
   */
  public static DbrxRuntime load(Path path, int threads, EngineOptions options) throws IOException {
    return load(path, Devices.CPU, threads, options);
  }

  /**
   * Loads the checkpoint at {@code path} onto {@code device} ({@link Devices#backend}). On a device
   * other than the CPU, a model whose weights, KV cache and activations do not fit the device's
   * free memory is refused before any weight is uploaded ({@link DevicePlan}).
   *
   * @param threads CPU threads for the kernels
   */
  public static DbrxRuntime load(Path path, String device, int threads, EngineOptions options)
      throws IOException {
    return load(Checkpoint.open(path), device, threads, options);
  }

  /**
   * Loads {@code checkpoint}, opened and validated by the caller, as {@link #load(Path, String,
   * int, EngineOptions)} loads a path: the header parsed when it was opened (a GGUF file's
   * metadata, vocabulary and tensor infos) sizes the device plan and builds the model, and is not
   * read again. The runtime owns the checkpoint: it closes it, also when it refuses it.
   */
  public static DbrxRuntime load(
      Checkpoint checkpoint, String device, int threads, EngineOptions options) {
    Backend backend = null;
    try {
      String resolved = Devices.resolve(device);
      if (!Devices.CPU.equals(resolved)) {
        DevicePlan plan = devicePlan(checkpoint, resolved, options);
        if (!plan.fits()) {
          throw new IllegalArgumentException(
              "cannot load " + checkpoint.location() + ": " + plan.problem());
        }
      }
      backend = Devices.backend(resolved, threads);
      return new DbrxRuntime(DbrxModel.load(checkpoint, backend), backend, options);
    } catch (RuntimeException e) {
      checkpoint.closeAfter(e);
      if (backend != null) {
        backend.close();
      }
      throw e;
    }
  }

  /** The part of the memory plan for {@code checkpoint} that lives on {@code device}, a GPU. */
  private static DevicePlan devicePlan(
      Checkpoint checkpoint, String device, EngineOptions options) {
    MemoryPlan plan = MemoryPlan.of(checkpoint.config(), options, checkpoint.totalBytes());
    return new DevicePlan(device, plan, Devices.memory(device));
  }

  public DbrxConfig config() {
    return model.config();
  }

  public DbrxModel model() {
    return model;
  }

  public DbrxTokenizer tokenizer() {
    return tokenizer;
  }

  /** The KV cache memory that the engine, scorer and embedder share. */
  public KvBlockPool kvPool() {
    return kvPool;
  }

  /** Generation with continuous batching. */
  public Engine engine() {
    return engine;
  }

  public Scorer scorer() {
    return scorer;
  }

  public Embedder embedder() {
    return embedder;
  }

  @Override
  public void close() {
    model.close();
    backend.close();
  }
}
