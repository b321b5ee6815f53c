package org.dbrxspark.jobs.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --input-format auto}: the format of a file, a folder or a glob, told from the listing that
 * also finds the files to read.
 */
class InputFormatTest {
  @TempDir Path tmp;
  private final Configuration hadoop = new Configuration();

  private InputFormat detect(Path input) {
    return InputFormat.detect(InputFiles.of(input.toString(), hadoop));
  }

  private static Path touch(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    return Files.writeString(file, "x");
  }

  @Test
  void aFileIsToldByItsExtensionLessItsCompression() throws IOException {
    assertEquals(InputFormat.JSONL, detect(touch(tmp.resolve("a.jsonl.gz"))));
    assertEquals(InputFormat.CSV, detect(touch(tmp.resolve("b.csv"))));
    assertEquals(InputFormat.TEXT, detect(touch(tmp.resolve("c.md"))));
  }

  @Test
  void aFolderIsToldByItsFirstVisibleFileByPathAtAnyDepth() throws IOException {
    Path dir = tmp.resolve("in");
    touch(dir.resolve("_aside.csv"));
    touch(dir.resolve(".hidden/a.csv"));
    touch(dir.resolve("b/part-0.parquet"));
    touch(dir.resolve("c.jsonl"));
    assertEquals(InputFormat.PARQUET, detect(dir));
  }

  @Test
  void aGlobIsToldByItsFirstMatchByPath() throws IOException {
    touch(tmp.resolve("2025/x.csv"));
    touch(tmp.resolve("2024/y.jsonl"));
    assertEquals(InputFormat.JSONL, detect(tmp.resolve("202*")));
  }

  @Test
  void aFolderWithADeltaLogIsDelta() throws IOException {
    touch(tmp.resolve("t/_delta_log/00000000000000000000.json"));
    touch(tmp.resolve("t/part-0.parquet"));
    assertEquals(InputFormat.DELTA, detect(tmp.resolve("t")));
  }

  @Test
  void whatCannotBeToldIsRefusedNamingTheInput() throws IOException {
    Path nothing = tmp.resolve("none-*.jsonl");
    assertRefused(nothing, "--input matches nothing: " + nothing);
    Path hiddenOnly = tmp.resolve("empty");
    touch(hiddenOnly.resolve("_SUCCESS"));
    assertRefused(hiddenOnly, "--input folder has no data files: " + hiddenOnly);
    Path unknown = touch(tmp.resolve("data.bin"));
    assertRefused(unknown, "from 'data.bin': pass --input-format");
  }

  private void assertRefused(Path input, String message) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> detect(input));
    assertTrue(e.getMessage().contains(message), e.getMessage());
  }
}
