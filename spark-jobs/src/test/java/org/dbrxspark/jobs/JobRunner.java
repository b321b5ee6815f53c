package org.dbrxspark.jobs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs a job through the real entry point on the shared test session, capturing what it prints.
 * Every run of a job that finishes writes its {@code --stats-output} (to a temporary file unless
 * the test names one), and the JSON is checked against the printed summary: each job test is also a
 * test of the job's stats.
 */
public final class JobRunner {
  /** Exit code and printed output of one run. */
  public record Result(int code, String out, String err) {}

  private JobRunner() {}

  public static Result run(String... args) {
    DbrxSparkJobs entry = new DbrxSparkJobs();
    List<String> argv = new ArrayList<>(Arrays.asList(args));
    Path stats = null;
    if (!argv.isEmpty()
        && entry.jobs().containsKey(argv.get(0))
        && !argv.contains("--help")
        && argv.stream().noneMatch(a -> a.startsWith("--stats-output"))) {
      stats = tempFile();
      argv.addAll(1, List.of("--stats-output", stats.toString()));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      int code =
          entry.run(
              argv.toArray(String[]::new),
              new PrintStream(out, true, StandardCharsets.UTF_8),
              new PrintStream(err, true, StandardCharsets.UTF_8),
              o -> SharedSpark.get());
      Result result =
          new Result(
              code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
      if (stats != null && code != 2) {
        StatsJson.assertMatchesPrinted(
            StatsJson.parse(Files.readString(stats)), result.out() + result.err());
      }
      return result;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      if (stats != null) {
        stats.toFile().delete();
      }
    }
  }

  private static Path tempFile() {
    try {
      Path file = Files.createTempFile("stats", ".json");
      Files.delete(file);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
