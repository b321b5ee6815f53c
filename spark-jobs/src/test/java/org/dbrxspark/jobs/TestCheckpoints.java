package org.dbrxspark.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.dbrxspark.runtime.checkpoint.CheckpointWriter;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.Presets;

/**
 * The test JVM's tiny random DBRX checkpoint (runtime preset {@code tiny}), written once under
 * target/.
 */
public final class TestCheckpoints {
  private static Path tiny;

  private TestCheckpoints() {}

  public static synchronized String tiny() {
    if (tiny == null) {
      try {
        Path dir = Files.createDirectories(Path.of("target", "test-checkpoints")).toAbsolutePath();
        tiny = Files.createTempDirectory(dir, "run").resolve("tiny");
        CheckpointWriter.writeRandom(tiny, Presets.named("tiny"), 7, DType.BF16, 1);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return tiny.toString();
  }
}
