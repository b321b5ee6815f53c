package org.dbrxspark.udfs.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.dbrxspark.runtime.checkpoint.GgufQuantizer;
import org.dbrxspark.runtime.checkpoint.GgufQuantizer.FileType;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.MemoryPlan;
import org.dbrxspark.udfs.TestSpark;
import org.dbrxspark.udfs.device.DevicePolicy;
import org.dbrxspark.udfs.device.DeviceSelection;
import org.dbrxspark.udfs.ml.DbrxEmbedder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ModelRegistryTest {
  private static SparkSession spark;
  private static Path checkpoint;
  private static Dataset<Row> texts;

  @BeforeAll
  static void setUp() {
    spark = TestSpark.session();
    checkpoint = TestSpark.tinyCheckpoint();
    texts =
        spark.createDataFrame(
            List.of(RowFactory.create("one text"), RowFactory.create("another")),
            new StructType().add("text", DataTypes.StringType));
  }

  private static List<Row> embed(String location) {
    return new DbrxEmbedder()
        .setModelLocation(location)
        .setThreads(1)
        .transform(texts)
        .collectAsList();
  }

  @Test
  void remoteAndShippedLocationsGiveTheSameModel() {
    List<Row> local = embed(checkpoint.toString());

    String remote = TestRemoteFileSystem.uriOf(checkpoint);
    assertEquals(local, embed(remote));
    Path cacheRoot = ModelRegistry.cacheRoot();
    assertTrue(cacheRoot.startsWith(Path.of(spark.conf().get(ModelRegistry.CACHE_DIR_CONF))));
    assertTrue(
        Files.isRegularFile(
            cacheRoot
                .resolve(CheckpointCache.cacheName(java.net.URI.create(remote)))
                .resolve("config.json")));

    spark.sparkContext().addFile(checkpoint.toString(), true); // as --files would ship it
    assertEquals(local, embed(checkpoint.getFileName().toString()));
  }

  @Test
  void aSplitGgufLoadsFromItsFirstPartLocalRemoteOrShipped() throws Exception {
    Path dir = Files.createDirectories(checkpoint.resolveSibling("split-gguf"));
    GgufQuantizer.Summary whole;
    GgufQuantizer.Summary split;
    try (Checkpoint source = Checkpoint.open(checkpoint)) {
      whole = GgufQuantizer.write(source, FileType.Q8_0, dir.resolve("whole.gguf"), 1);
      split =
          GgufQuantizer.write(
              source, FileType.Q8_0, dir.resolve("tiny.gguf"), 1, whole.bytes() / 3);
    }
    assertTrue(split.files().size() >= 3, split.files().toString());
    List<Row> fromWhole = embed(whole.file().toString());
    assertEquals(fromWhole, embed(split.file().toString()));
    assertEquals(fromWhole, embed(TestRemoteFileSystem.uriOf(split.file())));
    for (Path part : split.files()) {
      spark.sparkContext().addFile(part.toString()); // as --files would ship each part
    }
    assertEquals(fromWhole, embed(split.file().getFileName().toString()));
  }

  @Test
  void unloadWaitsForOpenLeasesAndTheNextAcquireLoadsAgain() {
    // A model keyed to a GPU this host does not have: it falls back to the CPU.
    ModelSpec spec =
        new ModelSpec(checkpoint.toString(), 1, 64, 2)
            .withDevice(DevicePolicy.parse(DevicePolicy.AUTO, DevicePolicy.CPU));
    DeviceSelection gpu = DeviceSelection.gpu("7");
    int loadsBefore = ModelRegistry.loadCount(spec, gpu);
    LoadedModel lease = ModelRegistry.acquire(spec, gpu);
    assertEquals(loadsBefore + 1, ModelRegistry.loadCount(spec, gpu));
    try (LoadedModel again = ModelRegistry.acquire(spec, gpu)) {
      assertSame(lease.runtime(), again.runtime());
      assertEquals(
          loadsBefore + 1,
          ModelRegistry.loadCount(spec, gpu),
          "the second lease shares the first load");
    }
    DbrxRuntime first = lease.runtime();
    assertTrue(ModelRegistry.unload(spec, gpu));
    // Still open for the lease holder.
    assertEquals(
        64,
        first
            .embedder()
            .embed(List.of(new int[] {1, 2, 3}), org.dbrxspark.runtime.engine.Pooling.MEAN)
            .get(0)
            .vector()
            .length);
    lease.close();
    try (LoadedModel reloaded = ModelRegistry.acquire(spec, gpu)) {
      assertNotSame(first, reloaded.runtime());
      assertEquals(loadsBefore + 2, ModelRegistry.loadCount(spec, gpu));
      assertEquals(gpu, reloaded.device());
    }
    assertEquals(2, ModelRegistry.loadCount(spec, gpu));
    assertEquals(0, ModelRegistry.loadCount(spec, DeviceSelection.cpu()), "keyed by device");
    ModelRegistry.unload(spec, gpu);
  }

  @Test
  void specsDifferingOnlyInTheirKvCacheDoNotShareAModel() {
    ModelSpec f16 = new ModelSpec(checkpoint.toString(), 1, 64, 2);
    ModelSpec f32 = f16.withKvCache(0, KvDType.F32, 0);
    ModelSpec shortContext = f16.withKvCache(128, KvDType.F16, 0);
    DeviceSelection cpu = DeviceSelection.cpu();
    try (LoadedModel a = ModelRegistry.acquire(f16, cpu);
        LoadedModel b = ModelRegistry.acquire(f32, cpu);
        LoadedModel c = ModelRegistry.acquire(shortContext, cpu);
        LoadedModel again = ModelRegistry.acquire(f16.withKvCache(0, KvDType.F16, 0), cpu)) {
      assertSame(a.runtime(), again.runtime(), "the same options share the model");
      assertNotSame(a.runtime(), b.runtime());
      assertNotSame(a.runtime(), c.runtime());
      assertEquals(KvDType.F16, a.runtime().kvPool().dtype());
      assertEquals(KvDType.F32, b.runtime().kvPool().dtype());
      // 2 sequences of the model's 1024 positions against 2 of 128, in blocks of 16.
      assertEquals(2 * 1024 / 16, a.runtime().kvPool().capacity());
      assertEquals(2 * 128 / 16, c.runtime().kvPool().capacity());
    } finally {
      for (ModelSpec spec : List.of(f16, f32, shortContext)) {
        ModelRegistry.unload(spec, cpu);
      }
    }
  }

  @Test
  void aContextOverTheModelsIsRefusedAtLoadNamingTheOption() {
    ModelSpec tooLong =
        new ModelSpec(checkpoint.toString(), 1, 64, 2).withKvCache(4096, KvDType.F16, 0);
    ModelLoadException e =
        assertThrows(
            ModelLoadException.class, () -> ModelRegistry.acquire(tooLong, DeviceSelection.cpu()));
    assertTrue(e.getMessage().contains(checkpoint.toString()), e.getMessage());
    assertTrue(
        e.getMessage().contains("max_seq_len 4096 is over the model's max_seq_len 1024"),
        e.getMessage());
    IllegalArgumentException early =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new ModelSpec(checkpoint.toString(), 1, 64, 2).withKvCache(512, KvDType.F16, 256));
    assertEquals(
        "kv_cache_tokens 256 cannot hold one sequence of max_seq_len 512; raise it or lower"
            + " max_seq_len",
        early.getMessage());
  }

  @Test
  void theExecutorChecksTheRuntimesPlanWithEachTasksActivations() throws Exception {
    DbrxConfig config = DbrxConfig.read(checkpoint.resolve("config.json"));
    try (Checkpoint opened = Checkpoint.open(checkpoint)) {
      long weights = opened.totalBytes();
      EngineOptions fits = new ModelSpec(checkpoint.toString(), 1, 64, 2).engineOptions();
      assertNull(MemoryBudget.problem(opened, fits, 4));
      // A KV cache over this host: the runtime's own refusal, with the tasks named.
      EngineOptions huge = new EngineOptions(64, 2, 0, KvDType.F32, 1L << 40);
      assertEquals(
          "not enough memory for the configured budget of 4 task(s): "
              + MemoryPlan.of(config, huge, weights, 4).problem(),
          MemoryBudget.problem(opened, huge, 4));
      // Activations are per task: a budget one task's heap holds but not 10,000 tasks'.
      EngineOptions wide = new EngineOptions(2048, 32, 0, KvDType.F16, 0);
      assertNull(MemoryBudget.problem(opened, wide, 1));
      String many = MemoryBudget.problem(opened, wide, 10_000);
      assertTrue(many.startsWith("not enough memory for the configured budget: 10000"), many);
      assertTrue(many.contains("lower maxBatchTokens or maxSequences"), many);
    }
  }
}
