package org.dbrxspark.udfs.registry;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.SparkFiles;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.Devices;
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.dbrxspark.udfs.device.DevicePolicy;
import org.dbrxspark.udfs.device.DeviceSelection;
import org.dbrxspark.udfs.device.DeviceUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The models of this JVM (an executor, or the driver in local mode): one loaded {@link DbrxRuntime}
 * per (model location, device, load options), loaded lazily by the first task that asks for it,
 * shared by the executor's concurrent tasks and by every job of the application, and closed by
 * {@link #unload}, {@link #unloadAll} or at JVM shutdown.
 *
 * <p>Loading one key holds only that key's lock: tasks for another model or device are not held up.
 * A failed load is not remembered, so a later task (or a retry) tries again.
 */
public final class ModelRegistry {
  private static final Logger LOG = LoggerFactory.getLogger(ModelRegistry.class);

  /** Spark setting naming the host-local folder remote checkpoints are cached in. */
  public static final String CACHE_DIR_CONF = "spark.dbrx.cacheDir";

  private static final Map<Key, Slot> SLOTS = new ConcurrentHashMap<>();
  private static final Map<Key, AtomicInteger> LOADS = new ConcurrentHashMap<>();

  /** Whether this JVM has logged a GPU's fallback to the CPU (once: every task would repeat it). */
  private static final AtomicBoolean GPU_FALLBACK_LOGGED = new AtomicBoolean();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(ModelRegistry::unloadAll, "dbrx-model-registry-shutdown"));
  }

  private ModelRegistry() {}

  /**
   * The registry key: the spec (location as given, threads resolved, every engine and KV cache
   * option) and the device, so that models loaded with different options are never shared.
   */
  record Key(ModelSpec spec, DeviceSelection device) {
    static Key of(ModelSpec spec, DeviceSelection device) {
      return new Key(spec.withResolvedThreads(), spec.device().keyFor(device));
    }

    @Override
    public String toString() {
      return spec.location()
          + " on "
          + device.key()
          + " (threads "
          + spec.threads()
          + ", max_batch_tokens "
          + spec.maxBatchTokens()
          + ", max_sequences "
          + spec.maxSequences()
          + ", max_seq_len "
          + (spec.maxSeqLen() == 0 ? "model's" : spec.maxSeqLen())
          + ", kv_dtype "
          + spec.kvDtype().label()
          + (spec.kvCacheTokens() == 0 ? "" : ", kv_cache_tokens " + spec.kvCacheTokens())
          + ", prefix_caching "
          + spec.prefixCaching()
          + ", device "
          + spec.device()
          + ")";
    }
  }

  /**
   * Leases the model for {@code spec} on {@code device}, loading it first if this JVM has not.
   * Close the lease when done.
   *
   * @throws ModelLoadException naming the location and the cause when the model cannot be loaded
   */
  public static LoadedModel acquire(ModelSpec spec, DeviceSelection device) {
    Key key = Key.of(spec, device);
    while (true) {
      LoadedModel lease = SLOTS.computeIfAbsent(key, Slot::new).lease();
      if (lease != null) {
        return lease;
      }
      // The slot was unloaded between lookup and lease: it has left the map, so look again.
    }
  }

  /**
   * Unloads the model for {@code spec} on {@code device}; it closes once its open leases are
   * closed, and the next {@link #acquire} loads it afresh.
   *
   * @return whether this JVM had it
   */
  public static boolean unload(ModelSpec spec, DeviceSelection device) {
    Slot slot = SLOTS.remove(Key.of(spec, device));
    if (slot != null) {
      slot.retire();
    }
    return slot != null;
  }

  /** Unloads every model of this JVM; returns how many there were. */
  public static int unloadAll() {
    int count = 0;
    for (Key key : SLOTS.keySet()) {
      Slot slot = SLOTS.remove(key);
      if (slot != null) {
        slot.retire();
        count++;
      }
    }
    return count;
  }

  /**
   * How many times this JVM has loaded each model, keyed by a readable form of the registry key.
   * For diagnostics and tests: a count above 1 means the model was unloaded and loaded again.
   */
  public static Map<String, Integer> loadCounts() {
    Map<String, Integer> counts = new TreeMap<>();
    LOADS.forEach((key, n) -> counts.put(key.toString(), n.get()));
    return counts;
  }

  /** Loads of {@code spec} on {@code device} in this JVM. */
  public static int loadCount(ModelSpec spec, DeviceSelection device) {
    AtomicInteger n = LOADS.get(Key.of(spec, device));
    return n == null ? 0 : n.get();
  }

  /** One key's model and its open leases. */
  static final class Slot {
    final Key key;
    private DbrxRuntime runtime;
    private String computeDevice;
    private int leases;
    private boolean retired;

    Slot(Key key) {
      this.key = key;
    }

    synchronized LoadedModel lease() {
      if (retired) {
        return null;
      }
      long loadMillis = 0;
      if (runtime == null) {
        long start = System.nanoTime();
        computeDevice = computeDevice(key);
        runtime = load(key, computeDevice);
        loadMillis = Math.max(1, (System.nanoTime() - start) / 1_000_000);
        LOADS.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        LOG.info("loaded DBRX model {} in {} ms, computing on {}", key, loadMillis, computeDevice);
      }
      leases++;
      return new LoadedModel(this, runtime, computeDevice, loadMillis);
    }

    synchronized void release() {
      leases--;
      if (retired && leases == 0) {
        closeRuntime();
      }
    }

    synchronized void retire() {
      retired = true;
      if (leases == 0) {
        closeRuntime();
      }
    }

    private void closeRuntime() {
      if (runtime != null) {
        runtime.close();
        runtime = null;
        LOG.info("unloaded DBRX model {}", key);
      }
    }
  }

  /**
   * The runtime device ({@code cpu} or {@code cuda:N}) of {@code key}'s model under its device
   * policy, logging once per JVM when a GPU falls back to the CPU.
   *
   * @throws ModelLoadException naming the model when the GPU cannot be used and has no fallback
   */
  private static String computeDevice(Key key) {
    try {
      return key.spec()
          .device()
          .runtimeDevice(
              key.device(),
              Devices::problem,
              why -> {
                if (GPU_FALLBACK_LOGGED.compareAndSet(false, true)) {
                  LOG.warn(
                      "spark.dbrx.device.fallback=cpu: {}; models run on the CPU kernels with {}"
                          + " threads instead",
                      why,
                      key.spec().threads());
                }
              });
    } catch (DeviceUnavailableException e) {
      throw new ModelLoadException(describe(key, null) + ": " + e.getMessage(), e);
    }
  }

  private static DbrxRuntime load(Key key, String computeDevice) {
    Path dir = null;
    try {
      dir = resolve(key.spec().location());
      if (!Files.isRegularFile(dir) && !Files.isRegularFile(dir.resolve("config.json"))) {
        throw new NoSuchFileException(
            dir.resolve("config.json").toString(),
            null,
            "no config.json: neither a checkpoint folder nor a GGUF file");
      }
      // Opened once: the budget and the load read the header parsed here.
      Checkpoint checkpoint = Checkpoint.open(dir);
      try {
        String memory =
            MemoryBudget.problem(checkpoint, key.spec().engineOptions(), concurrentTasks());
        if (memory != null) {
          throw new ModelLoadException(describe(key, dir) + ": " + memory);
        }
      } catch (RuntimeException e) {
        checkpoint.closeAfter(e);
        throw e;
      }
      return DbrxRuntime.load(
          checkpoint, computeDevice, key.spec().threads(), key.spec().engineOptions());
    } catch (ModelLoadException e) {
      throw e;
    } catch (IOException | RuntimeException | OutOfMemoryError e) {
      String cause =
          e.getMessage() == null
              ? e.getClass().getName()
              : e.getClass().getSimpleName() + ": " + e.getMessage();
      throw new ModelLoadException(describe(key, dir) + ": " + cause, e);
    }
  }

  private static String describe(Key key, Path resolved) {
    String where =
        resolved == null || resolved.toString().equals(key.spec().location())
            ? ""
            : " (local copy " + resolved + ")";
    DevicePolicy policy = key.spec().device();
    return "cannot load the DBRX model at "
        + key.spec().location()
        + where
        + " for "
        + key.device().key()
        + (policy.equals(DevicePolicy.DEFAULT) ? "" : " (device " + policy + ")");
  }

  /**
   * The local folder or GGUF file for a location: a local path as is; a {@code file:} URI as its
   * path; another URI scheme through the host's checkpoint cache; a relative name that is not a
   * local folder through {@code SparkFiles}.
   */
  static Path resolve(String location) throws IOException {
    URI uri = asUri(location);
    if (uri == null) {
      Path local = Path.of(location);
      if (!Files.exists(local) && !local.isAbsolute() && SparkEnv.get() != null) {
        Path shipped = Path.of(SparkFiles.get(location));
        if (Files.exists(shipped)) {
          return shipped;
        }
      }
      return local;
    }
    if (uri.getScheme().equals("file")) {
      return Path.of(uri);
    }
    return new CheckpointCache(cacheRoot(), hadoopConf()).fetch(uri);
  }

  /** A URI with a scheme, or null for a plain path (including Windows drive letters). */
  private static URI asUri(String location) {
    if (!location.matches("^[A-Za-z][A-Za-z0-9+.-]+:.*")) {
      return null;
    }
    try {
      return new URI(location);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "model location " + location + " is not a valid URI: " + e.getMessage(), e);
    }
  }

  private static SparkConf sparkConf() {
    SparkEnv env = SparkEnv.get();
    return env != null ? env.conf() : new SparkConf();
  }

  /** {@value #CACHE_DIR_CONF}, else the first of Spark's local dirs, else java.io.tmpdir. */
  static Path cacheRoot() {
    SparkConf conf = sparkConf();
    if (conf.contains(CACHE_DIR_CONF)) {
      return Path.of(conf.get(CACHE_DIR_CONF));
    }
    String dirs = System.getenv("SPARK_LOCAL_DIRS");
    if (dirs == null || dirs.isBlank()) {
      dirs = conf.get("spark.local.dir", System.getProperty("java.io.tmpdir"));
    }
    return Path.of(dirs.split(",")[0].trim(), "dbrx-spark-checkpoints");
  }

  /** Hadoop settings as Spark gives them to its own file systems: every {@code spark.hadoop.*}. */
  private static Configuration hadoopConf() {
    Configuration hadoop = new Configuration();
    for (Tuple2<String, String> entry : sparkConf().getAllWithPrefix("spark.hadoop.")) {
      hadoop.set(entry._1(), entry._2());
    }
    return hadoop;
  }

  /** Tasks that may run at once in this JVM, each with its own KV caches. */
  private static int concurrentTasks() {
    SparkConf conf = sparkConf();
    int cores = conf.getInt("spark.executor.cores", Runtime.getRuntime().availableProcessors());
    return Math.max(1, cores / Math.max(1, conf.getInt("spark.task.cpus", 1)));
  }
}
