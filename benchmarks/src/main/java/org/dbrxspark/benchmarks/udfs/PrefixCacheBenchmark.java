package org.dbrxspark.benchmarks.udfs;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.benchmarks.Median;
import org.dbrxspark.benchmarks.Usage;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.dbrxspark.udfs.ml.DbrxGenerator;

/**
 * DbrxGenerator over rows that share a long prompt prefix, with the prefix cache on and off in the
 * same run. Not a test: run with {@code bin/bench} (see BENCHMARKS.md).
 *
 * <p>Every round uses a prefix of its own, so each timed run starts with a cold cache; the on and
 * off runs of a round see the same rows, alternate their order from round to round, and must give
 * the same rows.
 *
 * <p>Arguments: checkpoint folder (written beforehand by {@code bin/dbrx init}), rows, prefix
 * tokens, suffix tokens, max_new_tokens, rounds.
 */
public final class PrefixCacheBenchmark {
  private static final long SEED = 1;
  private static final double TEMPERATURE = 0.8;
  private static final int TOP_K = 40;
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  /**
   * Words that are one token each after a space, so prompts have exact token counts; their ids are
   * all below 15,200, so a checkpoint with a 16,384-token vocabulary takes them.
   */
  private static final String[] WORDS = {
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "was", "on", "be",
    "at", "by", "this", "from", "or", "an", "are", "not", "but", "which", "all", "one", "has",
    "table", "data", "model", "row", "task", "time", "year", "city", "river", "market", "price",
    "order"
  };

  public static void main(String[] args) throws Exception {
    if (Usage.printedHelp(
        args,
        "usage: PrefixCacheBenchmark CHECKPOINT [ROWS [PREFIX_TOKENS [SUFFIX_TOKENS [NEW_TOKENS"
            + " [ROUNDS]]]]]\n"
            + "  defaults: 256 1000 50 32 2; write the checkpoint with bin/dbrx init")) {
      return;
    }
    Path checkpoint = Path.of(args[0]);
    int rows = args.length > 1 ? Integer.parseInt(args[1]) : 256;
    int prefixTokens = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
    int suffixTokens = args.length > 3 ? Integer.parseInt(args[3]) : 50;
    int maxNew = args.length > 4 ? Integer.parseInt(args[4]) : 32;
    int rounds = args.length > 5 ? Integer.parseInt(args[5]) : 2;
    int threads = Runtime.getRuntime().availableProcessors();
    if (!Files.exists(checkpoint.resolve("config.json"))) {
      throw new IllegalArgumentException(
          checkpoint + " has no checkpoint: write one with bin/dbrx init (see BENCHMARKS.md)");
    }
    SparkSession spark =
        SparkSession.builder()
            .master("local[" + threads + "]")
            .appName("prefix-cache-benchmark")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .getOrCreate();
    DbrxGenerator on = generator(checkpoint, threads, maxNew).setPrefixCaching(true);
    DbrxGenerator off = generator(checkpoint, threads, maxNew).setPrefixCaching(false);

    // Warm-up of both runtimes (load, JIT) on a prefix of its own.
    Dataset<Row> warmUp = prompts(spark, 4, prefixTokens, suffixTokens, -1);
    on.transform(warmUp).collectAsList();
    off.transform(warmUp).collectAsList();

    double[] onTimes = new double[rounds];
    double[] offTimes = new double[rounds];
    for (int round = 0; round < rounds; round++) {
      Dataset<Row> input = prompts(spark, rows, prefixTokens, suffixTokens, round);
      List<Row> onRows = null;
      List<Row> offRows = null;
      for (boolean cached :
          round % 2 == 0 ? new boolean[] {true, false} : new boolean[] {false, true}) {
        DbrxGenerator generator = cached ? on : off;
        long t = System.nanoTime();
        long cpu = OS.getProcessCpuTime();
        List<Row> out = generator.transform(input).collectAsList();
        double seconds = (System.nanoTime() - t) / 1e9;
        double cpuSeconds = (OS.getProcessCpuTime() - cpu) / 1e9;
        DbrxMetrics m = generator.lastMetrics();
        if (m.errors() > 0) {
          throw new IllegalStateException(m.errors() + " rows failed: " + m);
        }
        // The machine is shared: the process's CPU time says how much of the wall time it computed.
        System.out.printf(
            Locale.ROOT,
            "round %d, prefix cache %s: %.2f s (%.1f CPU s), %.3f rows/s; %s%n",
            round,
            cached ? "on" : "off",
            seconds,
            cpuSeconds,
            rows / seconds,
            m);
        if (cached) {
          onTimes[round] = seconds;
          onRows = out;
        } else {
          offTimes[round] = seconds;
          offRows = out;
        }
      }
      if (!onRows.equals(offRows)) {
        throw new IllegalStateException(
            "round " + round + ": rows differ between prefix cache on and off");
      }
    }
    double onMedian = Median.of(onTimes);
    double offMedian = Median.of(offTimes);
    System.out.printf(
        Locale.ROOT,
        "%nruns (s): on %s, off %s%n",
        Arrays.toString(onTimes),
        Arrays.toString(offTimes));
    System.out.printf(
        Locale.ROOT,
        "checkpoint %s, %d threads, %d rows: %d-token shared prefix + %d-token suffix, %d new "
            + "tokens; median of %d rounds; outputs identical on and off%n",
        checkpoint,
        threads,
        rows,
        prefixTokens,
        suffixTokens,
        maxNew,
        rounds);
    System.out.println("| prefix cache | seconds | rows/s |");
    System.out.println("|---|---|---|");
    System.out.printf(Locale.ROOT, "| on | %.2f | %.3f |%n", onMedian, rows / onMedian);
    System.out.printf(Locale.ROOT, "| off | %.2f | %.3f |%n", offMedian, rows / offMedian);
    System.out.printf(Locale.ROOT, "speed-up: %.2fx rows/s%n", offMedian / onMedian);
    spark.stop();
  }

  private static DbrxGenerator generator(Path checkpoint, int threads, int maxNew) {
    return new DbrxGenerator()
        .setModelLocation(checkpoint.toAbsolutePath().toString())
        .setThreads(threads)
        .setIdCol("id")
        .setSeed(SEED)
        .setTemperature(TEMPERATURE)
        .setTopK(TOP_K)
        .setMaxNewTokens(maxNew);
  }

  /**
   * {@code rows} prompts in one partition: the same {@code prefixTokens}-token prefix (one per
   * {@code salt}), then {@code suffixTokens} tokens of the row's own.
   */
  private static Dataset<Row> prompts(
      SparkSession spark, int rows, int prefixTokens, int suffixTokens, int salt) {
    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    String prefix = words(new Random(salt), prefixTokens);
    int[] prefixIds = tokenizer.encode(prefix);
    List<Row> data = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      String prompt = prefix + words(new Random(1000L * salt + i), suffixTokens);
      int[] ids = tokenizer.encode(prompt);
      if (prefixIds.length != prefixTokens
          || ids.length != prefixTokens + suffixTokens
          || !Arrays.equals(prefixIds, Arrays.copyOf(ids, prefixTokens))) {
        throw new IllegalStateException(
            "prompt " + i + " is not " + prefixTokens + " + " + suffixTokens + " tokens");
      }
      data.add(RowFactory.create((long) i, prompt));
    }
    return spark
        .createDataFrame(
            data,
            new StructType().add("id", DataTypes.LongType).add("prompt", DataTypes.StringType))
        .coalesce(1);
  }

  private static String words(Random random, int count) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < count; i++) {
      out.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
    }
    return out.toString();
  }
}
