package org.dbrxspark.udfs.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
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
 * script), started once for the class. Needs SPARK_HOME and SPARK_SCALA_VERSION (set by the
 * module's surefire configuration); SPARK_HOME/jars is filled here with links to the test
 * classpath's jars.
 */
class LocalClusterGpuTest {
  private static final int PARTITIONS = 8;
  private static SparkSession spark;
  private static Path checkpoint;
  private static ModelSpec spec;

  @BeforeAll
  static void startCluster() throws IOException {
    TestSpark.stop();
    checkpoint = TestSpark.tinyCheckpoint();
    spec = new ModelSpec(checkpoint.toString(), 1, 256, 4);
    Path target = Path.of("target").toAbsolutePath();
    List<String> folders = linkJarsIntoSparkHome(Path.of(System.getenv("SPARK_HOME")));
    Path script = target.resolve("fake-gpus.sh");
    Files.writeString(script, "#!/bin/sh\necho '{\"name\":\"gpu\",\"addresses\":[\"0\",\"1\"]}'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    spark = SparkSession.builder()
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
  }

  @AfterAll
  static void stopCluster() {
    if (spark != null) {
      spark.stop();
    }
  }

  /**
   * Links every jar of the test classpath into {@code sparkHome/jars}, as a Spark distribution
   * has them; returns the classpath's folders (module classes), which executors get through
   * spark.executor.extraClassPath.
   */
  private static List<String> linkJarsIntoSparkHome(Path sparkHome) throws IOException {
    Path jars = Files.createDirectories(sparkHome.resolve("jars"));
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
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
    Dataset<Row> prompts = spark.createDataFrame(rows,
        new StructType().add("id", DataTypes.LongType).add("prompt", DataTypes.StringType)).repartition(PARTITIONS);
    DbrxGenerator generator = new DbrxGenerator().setModelLocation(spec.location()).setThreads(spec.threads())
        .setMaxBatchTokens(spec.maxBatchTokens()).setMaxSequences(spec.maxSequences()).setMaxNewTokens(3);

    // Job 1: generation on the executors, compared with the runtime in this JVM.
    List<Row> generated = generator.transform(prompts).collectAsList();
    assertEquals(16, generated.size());
    try (DbrxRuntime direct = DbrxRuntime.load(checkpoint, 1, EngineOptions.defaults())) {
      for (Row row : generated) {
        Row result = row.getStruct(2);
        assertNull(result.getAs("error"));
        int[] ids = direct.tokenizer().encode(row.getString(1));
        SamplingParams params = SamplingParams.builder().maxNewTokens(3).build();
        assertEquals(direct.engine().generate(List.of(new GenerationRequest(ids, params))).get(0).text(),
            result.getAs("text"));
      }
    }
    long loads = generator.lastMetrics().modelLoads();
    assertTrue(loads >= 1 && loads <= 4, "one load per executor and GPU that ran a task, 2 x 2 at most: " + loads);

    // Job 2, same application: each task leases the model for its device and reports.
    ModelSpec model = spec;
    MapPartitionsFunction<Row, String> report = input -> {
      TaskContext task = TaskContext.get();
      DeviceSelection device = DeviceSelection.forCurrentTask();
      try (LoadedModel lease = ModelRegistry.acquire(model, device)) {
        String[] gpus = task.resources().get("gpu").get().addresses();
        return List.of(String.join("|", SparkEnv.get().executorId(), ManagementFactory.getRuntimeMXBean().getName(),
            String.join(",", gpus), device.key(), Integer.toString(ModelRegistry.loadCount(model, device)))).iterator();
      }
    };
    List<String> reports = spark.range(0, PARTITIONS, 1, PARTITIONS).toDF().mapPartitions(report, Encoders.STRING())
        .collectAsList();

    assertEquals(PARTITIONS, reports.size());
    Map<String, Set<String>> devicesByExecutor = new HashMap<>();
    for (String line : reports) {
      String[] f = line.split("\\|");
      assertTrue(f[2].equals("0") || f[2].equals("1"), "one GPU address per task: " + line);
      assertEquals("gpu:" + f[2], f[3], "the task is pinned to its address: " + line);
      assertEquals("1", f[4], "one load per executor and device: " + line);
      devicesByExecutor.computeIfAbsent(f[0] + "/" + f[1], e -> new TreeSet<>()).add(f[3]);
    }
    assertEquals(2, devicesByExecutor.size(), "two executor JVMs: " + reports);
  }
}
