package org.dbrxspark.benchmarks.jobs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.benchmarks.Usage;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.core.SparkSessions;
import org.dbrxspark.jobs.rag.Chunker;
import org.dbrxspark.jobs.rag.Hit;
import org.dbrxspark.jobs.rag.IndexManifest;
import org.dbrxspark.jobs.rag.RagIndex;
import org.dbrxspark.jobs.rag.VectorIndexWriter;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.checkpoint.CheckpointWriter;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.Presets;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.Pooling;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/**
 * RAG benchmarks; not a test (run with {@code bin/bench}, see BENCHMARKS.md).
 *
 * <p>{@code ann N DIM M BEAM QUERIES CANDIDATES,...}: builds one HNSW shard of N synthetic
 * clustered unit vectors with the index's own writer, opens it through {@link RagIndex} and
 * measures recall@10 against exact brute-force kNN over the same vectors, and query latency
 * p50/p99, for each number of candidates; the brute-force scan's latency is the baseline.
 *
 * <p>{@code index CORPUS WORKDIR}: runs rag-index on the corpus with the tiny checkpoint and
 * reports chunks/s and index size, against chunking alone and the runtime's embedder called
 * directly on the same chunks (no Spark) in the same run.
 */
public final class RagBenchmark {
  private static final int K = 10;

  private static final String USAGE =
      "usage: RagBenchmark ann N DIM M BEAM QUERIES CANDIDATES,... [clustered|uniform]\n"
          + "       RagBenchmark index CORPUS WORKDIR";

  public static void main(String[] args) throws Exception {
    if (Usage.printedHelp(args, USAGE)) {
      return;
    }
    if (args.length > 0 && args[0].equals("ann")) {
      ann(
          Integer.parseInt(args[1]),
          Integer.parseInt(args[2]),
          Integer.parseInt(args[3]),
          Integer.parseInt(args[4]),
          Integer.parseInt(args[5]),
          Arrays.stream(args[6].split(",")).mapToInt(Integer::parseInt).toArray(),
          args.length > 7 && args[7].equals("uniform"));
    } else if (args.length > 0 && args[0].equals("index")) {
      index(Path.of(args[1]), Path.of(args[2]));
    } else {
      System.err.println(USAGE);
      System.exit(2);
    }
  }

  /**
   * Vectors from a mixture of N/100 Gaussian clusters around random unit centroids, normalised;
   * intra-cluster cosine about 0.7. Real sentence embeddings are clustered and anisotropic; uniform
   * random vectors in 256 dimensions have no neighbourhood structure at all (every distance
   * concentrates near the same value), which makes them a worst case, not a model.
   */
  static float[][] clustered(int n, int dim, int clusters, Random random, float[][] centroids) {
    float sigma = (float) Math.sqrt(0.92 / dim);
    float[][] out = new float[n][];
    for (int i = 0; i < n; i++) {
      float[] c = centroids[random.nextInt(clusters)];
      float[] v = new float[dim];
      for (int d = 0; d < dim; d++) {
        v[d] = c[d] + sigma * (float) random.nextGaussian();
      }
      out[i] = RagIndex.normalised(v);
    }
    return out;
  }

  private static void ann(
      int n, int dim, int m, int beam, int queries, int[] candidates, boolean uniform)
      throws Exception {
    Random random = new Random(42);
    // Uniform random unit vectors are the mixture's limit with one point per cluster.
    int clusters = uniform ? n + queries : Math.max(1, n / 100);
    float[][] centroids = new float[clusters][];
    for (int c = 0; c < clusters; c++) {
      float[] g = new float[dim];
      for (int d = 0; d < dim; d++) {
        g[d] = (float) random.nextGaussian();
      }
      centroids[c] = RagIndex.normalised(g);
    }
    float[][] vectors =
        uniform ? Arrays.copyOf(centroids, n) : clustered(n, dim, clusters, random, centroids);
    float[][] probes =
        uniform
            ? Arrays.copyOfRange(centroids, n, n + queries)
            : clustered(queries, dim, clusters, random, centroids);
    Path work = Files.createTempDirectory("rag-ann");
    IndexManifest.Hnsw hnsw = new IndexManifest.Hnsw(m, beam);
    String indexRoot = work.resolve("index").toString();
    VectorIndexWriter.Written written = VectorIndexWriter.write(indexRoot, vectors, hnsw);
    double buildSeconds = written.buildNanos() / 1e9;
    long bytes = written.bytes();
    System.out.printf(
        Locale.ROOT,
        "ann: %,d %s vectors, dim %d, HNSW M %d beam %d: built in %.1f s (%.0f "
            + "vectors/s), %.1f MiB%n",
        n,
        uniform ? "uniform random" : "clustered (" + clusters + " clusters)",
        dim,
        m,
        beam,
        buildSeconds,
        n / buildSeconds,
        bytes / 1048576.0);

    // Exact top 10 by brute force: the ground truth and the latency baseline.
    int[][] truth = new int[queries][];
    long[] bruteNanos = new long[queries];
    for (int q = 0; q < queries; q++) {
      long s = System.nanoTime();
      truth[q] = bruteForce(vectors, probes[q]);
      bruteNanos[q] = System.nanoTime() - s;
    }
    System.out.printf(
        Locale.ROOT,
        "brute force: p50 %.2f ms, p99 %.2f ms per query%n",
        percentile(bruteNanos, 50),
        percentile(bruteNanos, 99));
    try (RagIndex index = RagIndex.open(indexRoot, new Configuration(), work.resolve("cache"))) {
      for (int c : candidates) {
        for (int q = 0; q < Math.min(200, queries); q++) { // warm-up
          index.vector(probes[q], K, c, Map.of());
        }
        long[] nanos = new long[queries];
        double recall = 0;
        for (int q = 0; q < queries; q++) {
          long s = System.nanoTime();
          List<Hit> hits = index.vector(probes[q], K, c, Map.of());
          nanos[q] = System.nanoTime() - s;
          recall += overlap(hits, truth[q]) / (double) K;
        }
        double p50 = percentile(nanos, 50);
        System.out.printf(
            Locale.ROOT,
            "candidates %4d: recall@10 %.4f, p50 %.3f ms, p99 %.3f ms "
                + "(%.0fx faster than brute force at p50)%n",
            c,
            recall / queries,
            p50,
            percentile(nanos, 99),
            percentile(bruteNanos, 50) / p50);
      }
    }
    deleteRecursively(work);
  }

  private static void deleteRecursively(Path folder) throws IOException {
    try (Stream<Path> files = Files.walk(folder)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static int[] bruteForce(float[][] vectors, float[] query) {
    int[] best = new int[K];
    float[] scores = new float[K];
    Arrays.fill(scores, Float.NEGATIVE_INFINITY);
    for (int i = 0; i < vectors.length; i++) {
      float[] v = vectors[i];
      float dot = 0;
      for (int d = 0; d < v.length; d++) {
        dot += v[d] * query[d];
      }
      if (dot > scores[K - 1]) {
        int j = K - 1;
        while (j > 0 && scores[j - 1] < dot) {
          scores[j] = scores[j - 1];
          best[j] = best[j - 1];
          j--;
        }
        scores[j] = dot;
        best[j] = i;
      }
    }
    return best;
  }

  private static int overlap(List<Hit> hits, int[] truth) {
    int found = 0;
    for (Hit h : hits) {
      int id = Integer.parseInt(h.chunk().sourceId().substring(1));
      for (int t : truth) {
        found += t == id ? 1 : 0;
      }
    }
    return found;
  }

  private static double percentile(long[] nanos, int p) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)]
        / 1e6;
  }

  private static void index(Path corpus, Path work) throws Exception {
    Path checkpoint = work.resolve("tiny");
    if (!Files.exists(checkpoint)) {
      CheckpointWriter.writeRandom(checkpoint, Presets.named("tiny"), 7, DType.BF16, 1);
    }
    int cores = Runtime.getRuntime().availableProcessors();
    SparkSession spark =
        SparkSession.builder()
            .config(
                SparkSessions.withDelta(
                    new SparkConf()
                        .setMaster("local[" + cores + "]")
                        .setAppName("rag-benchmark")
                        .set("spark.ui.enabled", "false")
                        .set("spark.driver.host", "127.0.0.1")
                        .set("spark.sql.shuffle.partitions", Integer.toString(2 * cores))))
            .getOrCreate();
    String index = work.resolve("index").toString();
    String[] args = {
      "rag-index",
      "--input",
      corpus.toString(),
      "--index",
      index,
      "--model",
      checkpoint.toString(),
      "--chunk-size",
      "256",
      "--chunk-overlap",
      "32",
      "--shards",
      Integer.toString(cores)
    };
    // Warm-up on the first 20 documents: class loading, JIT, model load.
    Path sample = work.resolve("warm-up.jsonl");
    spark
        .read()
        .json(corpus.toString())
        .limit(20)
        .coalesce(1)
        .write()
        .mode("overwrite")
        .json(sample.toString());
    String[] warmUp = args.clone();
    warmUp[2] = sample.toString();
    warmUp[4] = work.resolve("warm-up-index").toString();
    run(spark, warmUp);
    long t0 = System.nanoTime();
    String summary = run(spark, args);
    double jobSeconds = (System.nanoTime() - t0) / 1e9;
    IndexManifest manifest;
    try (RagIndex built = RagIndex.open(index, new Configuration(), work.resolve("cache"))) {
      manifest = built.manifest();
    }
    long indexBytes = manifest.shards().stream().mapToLong(IndexManifest.Shard::bytes).sum();
    System.out.println(summary);
    System.out.printf(
        Locale.ROOT,
        "rag-index: %,d chunks in %.1f s = %.1f chunks/s; index %.2f MiB (%.0f bytes per "
            + "chunk)%n",
        manifest.chunks(),
        jobSeconds,
        manifest.chunks() / jobSeconds,
        indexBytes / 1048576.0,
        indexBytes / (double) manifest.chunks());

    // Baselines on the same chunks: the chunker alone, then the embedder called directly.
    List<String> texts =
        spark
            .read()
            .format("delta")
            .load(manifest.chunksTable())
            .select("text")
            .as(org.apache.spark.sql.Encoders.STRING())
            .collectAsList();
    List<String> documents =
        spark
            .read()
            .json(corpus.toString())
            .select("text")
            .as(org.apache.spark.sql.Encoders.STRING())
            .collectAsList();
    Chunker chunker = new Chunker(256, 32);
    long c0 = System.nanoTime();
    long chunked = documents.stream().mapToLong(d -> chunker.split(d).size()).sum();
    double chunkSeconds = (System.nanoTime() - c0) / 1e9;
    System.out.printf(
        Locale.ROOT,
        "chunker alone: %,d chunks in %.2f s = %.0f chunks/s (one thread)%n",
        chunked,
        chunkSeconds,
        chunked / chunkSeconds);
    try (DbrxRuntime runtime = DbrxRuntime.load(checkpoint, cores, EngineOptions.defaults())) {
      List<int[]> tokens = new ArrayList<>();
      texts.forEach(t -> tokens.add(DbrxTokenizer.shared().encode(t)));
      runtime
          .embedder()
          .embed(tokens.subList(0, Math.min(64, tokens.size())), Pooling.MEAN); // warm-up
      long e0 = System.nanoTime();
      for (int i = 0; i < tokens.size(); i += 128) {
        runtime.embedder().embed(tokens.subList(i, Math.min(tokens.size(), i + 128)), Pooling.MEAN);
      }
      double embedSeconds = (System.nanoTime() - e0) / 1e9;
      System.out.printf(
          Locale.ROOT,
          "embedder alone (runtime, %d threads, batches of 128): %,d chunks in %.1f s ="
              + " %.1f chunks/s; rag-index runs at %.2fx of it%n",
          cores,
          tokens.size(),
          embedSeconds,
          tokens.size() / embedSeconds,
          (manifest.chunks() / jobSeconds) / (tokens.size() / embedSeconds));
    }
    spark.stop();
  }

  private static String run(SparkSession spark, String[] args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code =
        new DbrxSparkJobs()
            .run(args, new PrintStream(out, true, StandardCharsets.UTF_8), System.err, o -> spark);
    if (code != 0) {
      throw new IllegalStateException("rag-index failed with exit code " + code + "\n" + out);
    }
    return out.toString(StandardCharsets.UTF_8);
  }
}
