package org.dbrxspark.benchmarks.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.sum;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.benchmarks.Median;
import org.dbrxspark.benchmarks.Usage;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.core.Partitions;
import org.dbrxspark.jobs.core.SparkSessions;
import org.dbrxspark.jobs.io.DocumentReader;
import org.dbrxspark.jobs.io.InputFormat;
import org.dbrxspark.jobs.io.ReaderOptions;
import org.dbrxspark.jobs.tokenize.TokenizeJob;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/**
 * Tokens per second of the tokenize job (unpacked and packed) on the sample corpus, against the raw
 * tokenizer over the same texts in the same JVM, on one thread and on as many threads as Spark has
 * cores (the same cores, with work stealing). A third line times the tokenizing stage alone (read,
 * tokenize, sum the counts: no Delta, no summary), and again over documents already cached in
 * memory, which tells the tokenizer's share of a job from the fixed costs. Each of these two is
 * also divided by a raw run on the same cores just before it, and the median of those paired ratios
 * is reported: a shared host's speed drifts more between runs than within a pair. Not a test: run
 * with {@code bin/bench} (see BENCHMARKS.md).
 *
 * <p>Arguments: the corpus (default data/sample-corpus/corpus.jsonl.gz), how many copies of it the
 * job reads (each copy's ids get a suffix, default 4), the sequence length for the packed run
 * (default 2048) and the repetitions (default 3; medians are reported).
 */
public final class TokenizeBenchmark {
  public static void main(String[] args) throws Exception {
    if (Usage.printedHelp(
        args,
        "usage: TokenizeBenchmark [CORPUS [COPIES [SEQ_LEN [REPETITIONS]]]]\n"
            + "  defaults: data/sample-corpus/corpus.jsonl.gz 4 2048 3")) {
      return;
    }
    Path corpus = Path.of(args.length > 0 ? args[0] : "data/sample-corpus/corpus.jsonl.gz");
    int copies = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    int seqLen = args.length > 2 ? Integer.parseInt(args[2]) : 2048;
    int reps = args.length > 3 ? Integer.parseInt(args[3]) : 3;
    Path work = Files.createTempDirectory("tokenize-bench");
    Path input = work.resolve("corpus.jsonl");
    List<String> texts = writeCopies(corpus, copies, input);

    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    long tokens = 0;
    for (String t : texts) {
      tokens += tokenizer.encode(t).length; // also warms the tokenizer up
    }
    SparkSession spark = SparkSessions.create("tokenize-bench", "local[*]", 0);
    int cores = spark.sparkContext().defaultParallelism();
    double[] raw = new double[reps];
    double[] rawParallel = new double[reps];
    double[] stage = new double[reps];
    double[] cachedStage = new double[reps];
    // Each Spark run against a raw run just before it: the host's speed drifts between runs.
    double[] stageRatio = new double[reps];
    double[] cachedRatio = new double[reps];
    double[] unpacked = new double[reps];
    double[] packed = new double[reps];
    for (int r = 0; r < reps; r++) {
      long t0 = System.nanoTime();
      long check = 0;
      for (String t : texts) {
        check += tokenizer.encode(t).length;
      }
      raw[r] = check / seconds(t0);
      t0 = System.nanoTime();
      rawParallel[r] = encodeOnThreads(tokenizer, texts, cores) / seconds(t0);
      Dataset<Row> docs =
          Partitions.spread(
              DocumentReader.read(spark, ReaderOptions.of(input.toString(), InputFormat.JSONL))
                  .rows());
      t0 = System.nanoTime();
      long counted =
          TokenizeJob.annotate(docs, 42, 0.01)
              .agg(sum(size(col(TokenizeJob.INPUT_IDS))))
              .first()
              .getLong(0);
      stage[r] = counted / seconds(t0);
      stageRatio[r] = stage[r] / rawParallel[r];
      // The same with the documents already in memory: the tokenizer's own cost in Spark, without
      // the single-threaded JSON parse and the shuffle that spreads one input file over the cores.
      Dataset<Row> cached = docs.persist();
      cached.count();
      t0 = System.nanoTime();
      double rawBefore = encodeOnThreads(tokenizer, texts, cores) / seconds(t0);
      t0 = System.nanoTime();
      counted =
          TokenizeJob.annotate(cached, 42, 0.01)
              .agg(sum(size(col(TokenizeJob.INPUT_IDS))))
              .first()
              .getLong(0);
      cachedStage[r] = counted / seconds(t0);
      cachedRatio[r] = cachedStage[r] / rawBefore;
      cached.unpersist(true);
      unpacked[r] = tokens / runJob(spark, input, work.resolve("unpacked"), "0");
      packed[r] = tokens / runJob(spark, input, work.resolve("packed"), Integer.toString(seqLen));
    }
    double base = Median.of(raw);
    System.out.printf(
        Locale.ROOT,
        "%d documents, %,d tokens (%d copies of %s), local[%d], %d repetitions%n",
        texts.size(),
        tokens,
        copies,
        corpus,
        cores,
        reps);
    System.out.printf(Locale.ROOT, "raw tokenizer, 1 thread:     %,12.0f tokens/s  1.00x%n", base);
    double sameCores = Median.of(rawParallel);
    System.out.printf(
        Locale.ROOT,
        "raw tokenizer, %d threads:    %,12.0f tokens/s  %.2fx  (1.00x on the same cores)%n",
        cores,
        sameCores,
        sameCores / base);
    System.out.printf(
        Locale.ROOT,
        "tokenizing stage only:       %,12.0f tokens/s  %.2fx  (%.2fx on the same cores, paired %s)%n",
        Median.of(stage),
        Median.of(stage) / base,
        Median.of(stageRatio),
        ratios(stageRatio));
    System.out.printf(
        Locale.ROOT,
        "tokenizing stage, cached:    %,12.0f tokens/s  %.2fx  (%.2fx on the same cores, paired %s)%n",
        Median.of(cachedStage),
        Median.of(cachedStage) / base,
        Median.of(cachedRatio),
        ratios(cachedRatio));
    System.out.printf(
        Locale.ROOT,
        "tokenize job, unpacked:      %,12.0f tokens/s  %.2fx%n",
        Median.of(unpacked),
        Median.of(unpacked) / base);
    System.out.printf(
        Locale.ROOT,
        "tokenize job, --pack %-6d  %,12.0f tokens/s  %.2fx%n",
        seqLen,
        Median.of(packed),
        Median.of(packed) / base);
    spark.stop();
    try (Stream<Path> files = Files.walk(work)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /**
   * Encodes the texts on {@code threads} threads with work stealing, so no thread idles while
   * another still has long documents: the best the raw tokenizer does on these cores.
   */
  private static long encodeOnThreads(DbrxTokenizer tokenizer, List<String> texts, int threads)
      throws Exception {
    ForkJoinPool pool = new ForkJoinPool(threads);
    try {
      return pool.submit(
              () -> texts.parallelStream().mapToLong(t -> tokenizer.encode(t).length).sum())
          .get();
    } finally {
      pool.shutdown();
    }
  }

  /**
   * Writes {@code copies} copies of the corpus as JSONL, ids suffixed per copy; returns the texts.
   */
  private static List<String> writeCopies(Path corpus, int copies, Path out) throws Exception {
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> docs = new ArrayList<>();
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(corpus)), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        docs.add(json.readTree(line));
      }
    }
    List<String> texts = new ArrayList<>();
    try (BufferedWriter w = Files.newBufferedWriter(out)) {
      for (int c = 0; c < copies; c++) {
        for (JsonNode d : docs) {
          ObjectNode copy = ((ObjectNode) d).deepCopy();
          copy.put("id", d.get("id").asText() + "#" + c);
          w.write(json.writeValueAsString(copy));
          w.newLine();
          texts.add(d.get("text").asText());
        }
      }
    }
    return texts;
  }

  /** Runs the job through the entry point and returns its wall time in seconds. */
  private static double runJob(SparkSession spark, Path input, Path output, String pack) {
    String[] args = {
      "tokenize",
      "--input",
      input.toString(),
      "--output",
      output.toString(),
      "--pack",
      pack,
      "--validation-fraction",
      "0.01"
    };
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    long t0 = System.nanoTime();
    int code = new DbrxSparkJobs().run(args, quiet, System.err, o -> spark);
    double s = seconds(t0);
    if (code != 0) {
      throw new IllegalStateException("tokenize failed with exit code " + code);
    }
    return s;
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  private static String ratios(double[] values) {
    StringBuilder out = new StringBuilder();
    for (double v : values) {
      out.append(out.length() == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.2f", v));
    }
    return out.toString();
  }
}
