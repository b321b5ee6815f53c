package org.dbrxspark.jobs.io;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.input_file_block_start;
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.monotonically_increasing_id;
import static org.apache.spark.sql.functions.struct;

import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.function.Supplier;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.SharedSpark;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A measurement, not a test (it asserts nothing and runs only when asked, see BENCHMARKS.md): what
 * numbering JSONL lines costs against the plain scan with the input position it replaced, and
 * against a whole JSONL document read, in alternating rounds on a generated corpus of {@code
 * -Djsonl.probe.mb} MB.
 */
@EnabledIfSystemProperty(named = "jsonl.probe.mb", matches = "[0-9]+")
class NumberingCostProbe {
  @Test
  void numberingAgainstThePlainScan(@TempDir Path dir) throws IOException {
    SparkSession spark = SharedSpark.get();
    String f = corpus(dir, Long.getLong("jsonl.probe.mb") * 1_000_000);
    for (int round = 0; round < 3; round++) {
      time(
          "plain scan + position",
          () ->
              spark
                  .read()
                  .text(f)
                  .select(
                      col("value"),
                      struct(
                          input_file_name(),
                          input_file_block_start(),
                          monotonically_increasing_id())));
      time(
          "numbered lines",
          () ->
              NumberedLines.read(
                  spark, InputFiles.of(f, spark.sparkContext().hadoopConfiguration())));
      time(
          "readWithErrors (whole JSONL document read)",
          () ->
              DocumentReader.readWithErrors(spark, ReaderOptions.of(f, InputFormat.JSONL)).rows());
    }
  }

  /** Documents of 50 to 700 words from a small vocabulary, seeded. */
  private static String corpus(Path dir, long bytes) throws IOException {
    String[] words = "the river runs past the mill under old bridge and on to sea".split(" ");
    Random random = new Random(1);
    Path f = dir.resolve("corpus.jsonl");
    try (BufferedWriter out = Files.newBufferedWriter(f)) {
      long written = 0;
      for (int n = 0; written < bytes; n++) {
        StringBuilder line = new StringBuilder("{\"id\": \"d" + n + "\", \"text\": \"");
        for (int w = 50 + random.nextInt(650); w > 0; w--) {
          line.append(words[random.nextInt(words.length)]).append(' ');
        }
        line.append("\"}\n");
        out.write(line.toString());
        written += line.length();
      }
    }
    return f.toString();
  }

  private static void time(String what, Supplier<Dataset<Row>> rows) {
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long cpu = os.getProcessCpuTime();
    long start = System.nanoTime();
    rows.get().write().format("noop").mode("overwrite").save();
    System.out.printf(
        "PROBE %-45s wall %.2f s, cpu %.2f s%n",
        what, (System.nanoTime() - start) / 1e9, (os.getProcessCpuTime() - cpu) / 1e9);
  }
}
