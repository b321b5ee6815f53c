package org.dbrxspark.udfs.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
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
import org.dbrxspark.udfs.TestSpark;
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
  void unloadWaitsForOpenLeasesAndTheNextAcquireLoadsAgain() {
    ModelSpec spec = new ModelSpec(checkpoint.toString(), 1, 64, 2);
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
}
