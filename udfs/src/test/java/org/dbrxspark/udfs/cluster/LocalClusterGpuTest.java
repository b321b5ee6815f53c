package org.dbrxspark.udfs.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.Serializable;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkEnv;
import org.apache.spark.SparkException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.resource.ResourceProfileBuilder;
import org.apache.spark.resource.TaskResourceRequests;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.udfs.TestSpark;
import org.dbrxspark.udfs.device.DevicePolicy;
import org.dbrxspark.udfs.device.DeviceSelection;
import org.dbrxspark.udfs.ml.DbrxGenerator;
import org.dbrxspark.udfs.registry.LoadedModel;
import org.dbrxspark.udfs.registry.ModelRegistry;
import org.dbrxspark.udfs.registry.ModelSpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Per-executor model loading and GPU pinning on a real multi-process cluster: {@code
 * local-cluster[2,2,1024]} (two workers, each with two cores and two fake GPUs from a discovery
 * script), started once for the class. One GPU per task is the application's default; two and half
 * a GPU per task run in the same application as task resource profiles, so that the three cases
 * cost one cluster start. Needs SPARK_HOME and SPARK_SCALA_VERSION (set by the module's surefire
 * configuration); SPARK_HOME/jars is filled here with links to the test classpath's jars.
 *
 * <p>Spark assigns a task's GPU addresses on the driver, first fit over the sorted addresses. With
 * {@value #WAVE} tasks on the cluster's four idle slots, each executor runs two at once, so with
 * one GPU per task they get "0" and "1", and with half a GPU both get "0".
 */
class LocalClusterGpuTest {
  private static final int PARTITIONS = 8;

  /** As many tasks as the cluster has slots: two executors with two cores each. */
  private static final int WAVE = 4;

  /** Per runtime identity, in each executor: tasks holding a lease on it at once. */
  private static final Map<Integer, CountDownLatch> SHARERS = new ConcurrentHashMap<>();

  private static SparkSession spark;
  private static Path checkpoint;
  private static ModelSpec spec;

  @BeforeAll
  static void startCluster() throws IOException, InterruptedException {
    TestSpark.stop();
    checkpoint = TestSpark.tinyCheckpoint();
    // The tasks' GPUs are fake, which the CUDA backend cannot use: they fall back to the CPU.
    spec =
        new ModelSpec(checkpoint.toString(), 1, 256, 4)
            .withDevice(DevicePolicy.parse(DevicePolicy.AUTO, DevicePolicy.CPU));
    Path target = Path.of("target").toAbsolutePath();
    List<String> folders = linkJarsIntoSparkHome(Path.of(System.getenv("SPARK_HOME")));
    Path script = target.resolve("fake-gpus.sh");
    Files.writeString(script, "#!/bin/sh\necho '{\"name\":\"gpu\",\"addresses\":[\"0\",\"1\"]}'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    spark =
        SparkSession.builder()
            .master("local-cluster[2,2,1024]")
            .appName("udfs-local-cluster")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.executor.extraClassPath", String.join(File.pathSeparator, folders))
            .config("spark.executor.extraJavaOptions", "--add-modules=jdk.incubator.vector")
            .config("spark.worker.resource.gpu.amount", "2")
            .config("spark.worker.resource.gpu.discoveryScript", script.toString())
            .config("spark.executor.resource.gpu.amount", "2")
            .config("spark.executor.resource.gpu.discoveryScript", script.toString())
            .config("spark.task.resource.gpu.amount", "1")
            .getOrCreate();
    // Both executors must be up before a job, or its tasks crowd onto the first one.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (spark.sparkContext().getExecutorMemoryStatus().size() < 3) {
      assertTrue(System.nanoTime() < deadline, "two executors registered within 120 s");
      Thread.sleep(200);
    }
  }

  @AfterAll
  static void stopCluster() {
    if (spark != null) {
      spark.stop();
    }
  }

  /**
   * Links every jar of the test classpath into {@code sparkHome/jars}, as a Spark distribution has
   * them; returns the classpath's folders (module classes), which executors get through
   * spark.executor.extraClassPath.
   */
  private static List<String> linkJarsIntoSparkHome(Path sparkHome) throws IOException {
    Path jars = Files.createDirectories(sparkHome.resolve("jars"));
    String classpath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> folders = new ArrayList<>();
    int i = 0;
    for (String entry : classpath.split(File.pathSeparator)) {
      Path path = Path.of(entry).toAbsolutePath();
      if (Files.isDirectory(path)) {
        folders.add(path.toString());
      } else if (entry.endsWith(".jar")) {
        Path link = jars.resolve(String.format("%03d-%s", i++, path.getFileName()));
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, path);
      }
    }
    return folders;
  }

  @Test
  void eachExecutorLoadsOncePerGpuAndTasksSeeTheirAddresses() throws IOException {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      rows.add(RowFactory.create((long) i, "prompt number " + i));
    }
    Dataset<Row> prompts =
        spark
            .createDataFrame(
                rows,
                new StructType().add("id", DataTypes.LongType).add("prompt", DataTypes.StringType))
            .repartition(PARTITIONS);
    DbrxGenerator generator =
        new DbrxGenerator()
            .setModelLocation(spec.location())
            .setThreads(spec.threads())
            .setMaxBatchTokens(spec.maxBatchTokens())
            .setMaxSequences(spec.maxSequences())
            .setDeviceFallback(DevicePolicy.CPU)
            .setMaxNewTokens(3);

    // Job 1: generation on the executors, compared with the runtime in this JVM.
    List<Row> generated = generator.transform(prompts).collectAsList();
    assertEquals(16, generated.size());
    try (DbrxRuntime direct = DbrxRuntime.load(checkpoint, 1, EngineOptions.defaults())) {
      for (Row row : generated) {
        Row result = row.getStruct(2);
        assertNull(result.getAs("error"));
        int[] ids = direct.tokenizer().encode(row.getString(1));
        SamplingParams params = SamplingParams.builder().maxNewTokens(3).build();
        assertEquals(
            direct.engine().generate(List.of(new GenerationRequest(ids, params))).get(0).text(),
            result.getAs("text"));
      }
    }
    long loads = generator.lastMetrics().modelLoads();
    assertTrue(
        loads >= 1 && loads <= 4,
        "one load per executor and GPU that ran a task, 2 x 2 at most: " + loads);

    // Job 2, same application: the executors' cached models serve the report's leases.
    Map<String, Set<String>> devicesByExecutor = new TreeMap<>();
    for (Report r : reports(null, false)) {
      assertEquals(1, r.addresses().length, "one GPU address per task: " + r);
      assertEquals(
          "gpu:" + r.addresses()[0], r.device(), "the task is pinned to its address: " + r);
      assertEquals("cpu", r.computeDevice(), "a fake GPU: the fallback's CPU: " + r);
      devicesByExecutor.computeIfAbsent(r.executor(), e -> new TreeSet<>()).add(r.device());
    }
    assertEquals(2, devicesByExecutor.size(), "two executor JVMs: " + devicesByExecutor);
    for (Set<String> devices : devicesByExecutor.values()) {
      assertEquals(
          Set.of("gpu:0", "gpu:1"),
          devices,
          "each executor uses both its GPUs: " + devicesByExecutor);
    }
  }

  @Test
  void aGpuWithoutCudaFailsTheTaskNamingWhatToInstallUnlessItFallsBack() {
    // auto with no fallback: the task's fake GPU cannot be used.
    ModelSpec auto = spec.withDevice(new DevicePolicy(DevicePolicy.AUTO, false));
    ModelSpec cpu = spec.withDevice(DevicePolicy.parse(DevicePolicy.CPU, null));
    SparkException e =
        assertThrows(
            SparkException.class,
            () ->
                JavaSparkContext.fromSparkContext(spark.sparkContext())
                    .parallelize(List.of(0), 1)
                    .map(
                        i -> {
                          try (LoadedModel lease =
                              ModelRegistry.acquire(auto, DeviceSelection.forCurrentTask())) {
                            return lease.computeDevice();
                          }
                        })
                    .collect());
    assertTrue(
        e.getMessage().contains("the task's GPU gpu:0 cannot be used: device 'cuda:0': "),
        e.getMessage());
    assertTrue(e.getMessage().contains("spark.dbrx.device.fallback=cpu"), e.getMessage());
    // spark.dbrx.device=cpu: the GPU assignment is ignored, one CPU model per executor.
    List<String> devices =
        JavaSparkContext.fromSparkContext(spark.sparkContext())
            .parallelize(List.of(0, 1, 2, 3), WAVE)
            .map(
                i -> {
                  try (LoadedModel lease =
                      ModelRegistry.acquire(cpu, DeviceSelection.forCurrentTask())) {
                    return lease.device().key() + " " + lease.computeDevice();
                  }
                })
            .collect();
    assertEquals(List.of("cpu cpu", "cpu cpu", "cpu cpu", "cpu cpu"), devices);
  }

  @Test
  void aTaskGivenTwoGpusUsesTheFirst() {
    ResourceProfile twoGpus =
        new ResourceProfileBuilder()
            .require(new TaskResourceRequests().cpus(1).resource(DeviceSelection.GPU, 2))
            .build();
    List<Report> reports = reports(twoGpus, false);
    for (Report r : reports) {
      assertEquals(List.of("0", "1"), List.of(r.addresses()), "both GPUs assigned: " + r);
      assertEquals("gpu:0", r.device(), "the first one used: " + r);
    }
    assertEquals(
        2, reports.stream().map(Report::executor).distinct().count(), "both executors: " + reports);
  }

  @Test
  void tasksOnHalfAGpuShareOneModel() {
    ResourceProfile halfGpu =
        new ResourceProfileBuilder()
            .require(new TaskResourceRequests().cpus(1).resource(DeviceSelection.GPU, 0.5))
            .build();
    Map<String, List<Report>> byExecutor = new TreeMap<>();
    for (Report r : reports(halfGpu, true)) {
      byExecutor.computeIfAbsent(r.executor(), e -> new ArrayList<>()).add(r);
    }
    assertEquals(2, byExecutor.size(), "both executors: " + byExecutor);
    for (List<Report> sharing : byExecutor.values()) {
      assertEquals(2, sharing.size(), "two tasks at once: " + sharing);
      Report first = sharing.get(0);
      Report second = sharing.get(1);
      assertEquals(List.of("0"), List.of(first.addresses()), "first fit on GPU 0: " + first);
      assertEquals(List.of("0"), List.of(second.addresses()), "first fit on GPU 0: " + second);
      assertEquals(
          first.runtime(), second.runtime(), "one model instance for both tasks: " + sharing);
      assertTrue(
          first.leasedTogether() && second.leasedTogether(), "both held it at once: " + sharing);
    }
  }

  /**
   * What a task saw: its executor (id and JVM), the GPU addresses Spark assigned it, its device,
   * the executor's load count for that device, the identity of the leased runtime, and whether
   * another task held a lease on that runtime at the same time.
   */
  private record Report(
      String executor,
      String[] addresses,
      String device,
      String computeDevice,
      int loads,
      int runtime,
      boolean leasedTogether)
      implements Serializable {
    @Override
    public String toString() {
      return executor
          + " "
          + String.join(",", addresses)
          + " -> "
          + device
          + " on "
          + computeDevice
          + " (loads "
          + loads
          + ", runtime "
          + runtime
          + (leasedTogether ? ", shared" : "")
          + ")";
    }
  }

  /**
   * Runs {@value #WAVE} tasks (under {@code profile} when given), each leasing the model for its
   * device; with {@code awaitSharer} a task keeps its lease until a second task holds one on the
   * same runtime, or 60 s pass. Checks that every executor loaded each device's model once.
   */
  private static List<Report> reports(ResourceProfile profile, boolean awaitSharer) {
    ModelSpec model = spec;
    JavaRDD<Report> rdd =
        JavaSparkContext.fromSparkContext(spark.sparkContext())
            .parallelize(List.of(0, 1, 2, 3), WAVE)
            .mapPartitions(
                input -> {
                  DeviceSelection device = DeviceSelection.forCurrentTask();
                  try (LoadedModel lease = ModelRegistry.acquire(model, device)) {
                    int runtime = System.identityHashCode(lease.runtime());
                    boolean together = false;
                    if (awaitSharer) {
                      CountDownLatch sharers =
                          SHARERS.computeIfAbsent(runtime, r -> new CountDownLatch(2));
                      sharers.countDown();
                      together = sharers.await(60, TimeUnit.SECONDS);
                    }
                    return List.of(
                            new Report(
                                SparkEnv.get().executorId()
                                    + "/"
                                    + ManagementFactory.getRuntimeMXBean().getName(),
                                TaskContext.get()
                                    .resources()
                                    .get(DeviceSelection.GPU)
                                    .get()
                                    .addresses(),
                                device.key(),
                                lease.computeDevice(),
                                ModelRegistry.loadCount(model, device),
                                runtime,
                                together))
                        .iterator();
                  }
                });
    List<Report> reports = (profile == null ? rdd : rdd.withResources(profile)).collect();
    assertEquals(WAVE, reports.size());
    for (Report r : reports) {
      assertEquals(1, r.loads(), "one load per executor and device: " + r);
    }
    return reports;
  }
}
