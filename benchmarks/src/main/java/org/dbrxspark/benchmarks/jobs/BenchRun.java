package org.dbrxspark.benchmarks.jobs;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.core.SparkSessions;

/**
 * One measured run in a JVM of its own, started by {@link DataPrepBenchmark}, so that the peak
 * memory is this run's alone and a run past its time limit can be stopped:
 *
 * <ul>
 *   <li>{@code job JOB --option value ...}: a job through the {@link DbrxSparkJobs} entry point;
 *   <li>{@code mllib INPUT OUTPUT TABLES THRESHOLD SEED LIMIT_SECONDS MAX_SPILL_GIB}: the {@link
 *       MllibBaseline}, stopped after the time limit or once Spark's local files (its shuffle and
 *       spill, under {@code spark.local.dir}) pass the size limit (0: no limit).
 * </ul>
 *
 * The SparkSession (local[2], settings from {@code -Dspark.*}) is made before the clock starts.
 * Prints {@code MEMORY {...}} every 2 s and one {@code RESULT {...}} line at the end, with the wall
 * time and the process's CPU time since the clock started.
 */
final class BenchRun {
  /**
   * The process's CPU time when the clock started (all threads, Spark's and Lingua's pools too).
   */
  private static long cpuAtStart;

  private BenchRun() {}

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  public static void main(String[] args) throws Exception {
    SparkSession spark = SparkSessions.create("bench " + args[0], "local[2]", 0);
    PeakMemory memory = new PeakMemory();
    Periodic.start("memory-report", 2000, () -> System.out.println("MEMORY " + memory.json()));
    long started = System.nanoTime();
    cpuAtStart = processCpuNanos();
    ObjectNode result = JsonNodeFactory.instance.objectNode();
    int code;
    try {
      if (args[0].equals("mllib")) {
        String localDir =
            spark
                .sparkContext()
                .getConf()
                .get("spark.local.dir", System.getProperty("java.io.tmpdir"));
        stopAt(
            Double.parseDouble(args[6]),
            Double.parseDouble(args[7]),
            Path.of(localDir),
            started,
            memory);
        result.put(
            "pairs",
            MllibBaseline.run(
                spark,
                args[1],
                args[2],
                Integer.parseInt(args[3]),
                Double.parseDouble(args[4]),
                Long.parseLong(args[5])));
        code = 0;
      } else {
        code =
            new DbrxSparkJobs()
                .run(Arrays.copyOfRange(args, 1, args.length), System.out, System.err, o -> spark);
      }
    } catch (Throwable t) {
      // A failed run (e.g. an OutOfMemoryError that shut the SparkContext down) is reported, not
      // hidden.
      t.printStackTrace();
      Throwable root = t;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      String error = t + " / " + root;
      result.put("error", error.length() > 300 ? error.substring(0, 300) : error);
      code = 1;
    }
    System.out.println(result(result, started, memory, code, false));
    System.out.flush();
    Runtime.getRuntime().halt(code);
  }

  /** The {@code RESULT} line: {@code details} with the run's time, exit code and peak memory. */
  private static String result(
      ObjectNode details, long started, PeakMemory memory, int code, boolean stopped) {
    details.put("seconds", Math.round((System.nanoTime() - started) / 1e7) / 100.0);
    details.put("cpu_seconds", Math.round((processCpuNanos() - cpuAtStart) / 1e7) / 100.0);
    details.put("exit_code", code);
    details.put("stopped", stopped);
    details.set("memory", memory.json());
    return "RESULT " + details;
  }

  /**
   * Ends the process, reporting a stopped run, once it has run {@code seconds} or once the files
   * under {@code localDir} pass {@code spillGib} (each limit ignored when 0): a baseline that
   * spills tens of GB must not fill the disk the benchmark and the machine share.
   */
  private static void stopAt(
      double seconds, double spillGib, Path localDir, long started, PeakMemory memory) {
    if (seconds <= 0 && spillGib <= 0) {
      return;
    }
    Periodic.start(
        "run-limits",
        1000,
        () -> {
          String reason = null;
          if (seconds > 0 && (System.nanoTime() - started) / 1e9 >= seconds) {
            reason = "time limit";
          } else if (spillGib > 0) {
            double gib = bytesUnder(localDir) / (double) (1L << 30);
            if (gib >= spillGib) {
              reason = String.format(Locale.ROOT, "disk limit: %.1f GiB of Spark local files", gib);
            }
          }
          if (reason != null) {
            ObjectNode details = JsonNodeFactory.instance.objectNode().put("stop_reason", reason);
            System.out.println(result(details, started, memory, 0, true));
            System.out.flush();
            Runtime.getRuntime().halt(0);
          }
        });
  }

  private static long bytesUnder(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .mapToLong(
              f -> {
                try {
                  return Files.isRegularFile(f) ? Files.size(f) : 0;
                } catch (IOException e) {
                  return 0; // deleted while walking
                }
              })
          .sum();
    } catch (IOException | UncheckedIOException e) {
      return 0; // a folder deleted while walking: counted at the next look
    }
  }
}
