package org.dbrxspark.udfs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.runtime.checkpoint.CheckpointWriter;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.Presets;

/** The test JVM's one local SparkSession and its shared tiny checkpoint. */
public final class TestSpark {
  private TestSpark() {}

  private static SparkSession spark;
  private static Path checkpoint;

  /**
   * {@code local[2,4]}: two task slots, and up to four attempts per task so that tests can inject a
   * failure into a first attempt.
   */
  public static synchronized SparkSession session() {
    if (spark == null || spark.sparkContext().isStopped()) {
      spark =
          SparkSession.builder()
              .master("local[2,4]")
              .appName("udfs-tests")
              .config("spark.ui.enabled", "false")
              .config("spark.sql.shuffle.partitions", "2")
              .config("spark.driver.host", "127.0.0.1")
              // A "remote" file system for checkpoint-cache tests, and a cache folder under
              // target/.
              .config(
                  "spark.hadoop.fs.testremote.impl",
                  "org.dbrxspark.udfs.registry.TestRemoteFileSystem")
              .config("spark.hadoop.fs.testremote.impl.disable.cache", "true")
              .config(
                  "spark.dbrx.cacheDir",
                  Path.of("target", "test-cache", Long.toString(System.nanoTime()))
                      .toAbsolutePath()
                      .toString())
              .getOrCreate();
    }
    return spark;
  }

  /**
   * Stops the shared session (a JVM has one SparkContext); the next {@link #session()} restarts it.
   */
  public static synchronized void stop() {
    SparkSession active =
        spark != null ? spark : SparkSession.getActiveSession().getOrElse(() -> null);
    if (active != null) {
      active.stop();
    }
    spark = null;
  }

  /**
   * A tiny random checkpoint (d_model 64, 2 layers, ~27 MB), written once per test JVM under
   * target/.
   */
  public static synchronized Path tinyCheckpoint() {
    if (checkpoint == null) {
      try {
        // Under target/ so that no test run leaves files outside the build folder.
        Path dir = Files.createDirectories(Path.of("target", "test-checkpoints")).toAbsolutePath();
        checkpoint = Files.createTempDirectory(dir, "run").resolve("tiny");
        CheckpointWriter.writeRandom(checkpoint, Presets.named("tiny"), 7, DType.BF16, 1);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return checkpoint;
  }
}
