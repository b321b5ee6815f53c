package org.dbrxspark.jobs;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.function.Executable;

/**
 * Fails a job part-way without a hook in its code: a plain file where it writes a Delta table makes
 * that write fail, after the writes before it have committed.
 */
public final class BlockedTable {
  private BlockedTable() {}

  /** Runs {@code run} with a file at {@code table}, checks that it fails, and removes the file. */
  public static void failsAt(Path table, Executable run) throws IOException {
    Files.createDirectories(table.getParent());
    Path file = Files.writeString(table, "not a table");
    try {
      assertThrows(Exception.class, run);
    } finally {
      Files.delete(file);
    }
  }
}
