package org.dbrxspark.benchmarks.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.dedup.Deduplicator;
import org.dbrxspark.jobs.dedup.LshParams;
import org.dbrxspark.jobs.io.DeltaTables;

/**
 * Quality of a dedup run against the generator's ground truth, and of the MLlib baseline's pairs.
 *
 * <ul>
 *   <li><b>Recall</b>: of the planted pairs whose measured Jaccard reaches the threshold, the
 *       fraction that dedup put in the same cluster.
 *   <li><b>Precision</b>: every pair of documents in one output cluster (the survivor included) is
 *       a pair dedup declares duplicate; it is correct when its exact Jaccard, computed here from
 *       the two texts with {@link Shingles}, reaches the threshold, planted or not. Clusters are
 *       connected components, so two members can be further apart than any edge between them; the
 *       removal precision counts only each removed document against the survivor it names ({@code
 *       duplicate_of}).
 *   <li><b>Candidate rate</b> per Jaccard bucket of the planted pairs: the fraction whose LSH band
 *       keys (the job's own features, recomputed) share a bucket, against the theoretical 1 - (1 -
 *       s^r)^b averaged over the same pairs.
 * </ul>
 */
final class DedupQuality {
  private static final double[] EDGES = {
    0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1
  };

  private DedupQuality() {}

  /** A ground-truth pair. */
  record Truth(String a, String b, double jaccard) {}

  /** Planted pairs with Jaccard in [from, to) (or exactly 1 when from == to == 1). */
  record Bucket(
      double from, double to, long pairs, long candidates, double expectedRate, long sameCluster) {}

  /** Pairs a system declares duplicate and how many of them are correct. */
  record Pairs(long declared, long correct) {
    double precision() {
      return declared == 0 ? Double.NaN : (double) correct / declared;
    }
  }

  /**
   * @param truthAbove planted pairs at or above the threshold
   * @param recalled those in one dedup cluster
   * @param clusterPairs all same-cluster pairs
   * @param removals (removed document, its survivor) pairs
   * @param unplanted same-cluster pairs at or above the threshold that were not planted
   * @param mllib the baseline's pairs (null when it did not finish)
   * @param mllibRecalled planted pairs at or above the threshold among the baseline's pairs
   */
  record Report(
      double threshold,
      LshParams lsh,
      long truthPairs,
      long truthAbove,
      long recalled,
      Pairs clusterPairs,
      Pairs removals,
      long unplanted,
      int largestCluster,
      List<Bucket> buckets,
      Pairs mllib,
      long mllibRecalled) {
    double recall() {
      return truthAbove == 0 ? Double.NaN : (double) recalled / truthAbove;
    }

    double mllibRecall() {
      return truthAbove == 0 ? Double.NaN : (double) mllibRecalled / truthAbove;
    }
  }

  static List<Truth> readTruth(Path file) throws IOException {
    List<Truth> out = new ArrayList<>();
    List<String> lines = Files.readAllLines(file);
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split("\t");
      out.add(new Truth(f[0], f[1], Double.parseDouble(f[2])));
    }
    return out;
  }

  private static String key(String x, String y) {
    return x.compareTo(y) < 0 ? x + "\t" + y : y + "\t" + x;
  }

  /**
   * @param corpus the generated JSONL documents
   * @param duplicates the dedup run's duplicates table
   * @param mllibPairs the baseline's Parquet pairs, or null
   * @param dedup the deduplicator the run used (for its band keys)
   */
  static Report evaluate(
      SparkSession spark,
      String corpus,
      List<Truth> truth,
      String duplicates,
      String mllibPairs,
      Deduplicator dedup) {
    double t = dedup.threshold();
    Map<String, String> clusterOf = new HashMap<>();
    Map<String, List<String>> members = new TreeMap<>();
    Set<String> removals = new LinkedHashSet<>();
    for (Row r :
        DeltaTables.read(spark, duplicates)
            .select(Deduplicator.CLUSTER_ID, "id", Deduplicator.DUPLICATE_OF)
            .collectAsList()) {
      for (String id : List.of(r.getString(1), r.getString(2))) {
        if (clusterOf.putIfAbsent(id, r.getString(0)) == null) {
          members.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(id);
        }
      }
      removals.add(key(r.getString(1), r.getString(2)));
    }
    Set<String> clusterPairs = new LinkedHashSet<>();
    int largest = 0;
    for (List<String> m : members.values()) {
      largest = Math.max(largest, m.size());
      for (int i = 0; i < m.size(); i++) {
        for (int j = i + 1; j < m.size(); j++) {
          clusterPairs.add(key(m.get(i), m.get(j)));
        }
      }
    }
    List<String> mllib = new ArrayList<>();
    if (mllibPairs != null) {
      spark
          .read()
          .parquet(mllibPairs)
          .select("id_a", "id_b")
          .collectAsList()
          .forEach(r -> mllib.add(key(r.getString(0), r.getString(1))));
    }

    Dataset<Row> texts = spark.read().json(corpus).select("id", "text");
    Set<String> toMeasure = new LinkedHashSet<>(clusterPairs);
    toMeasure.addAll(mllib);
    Map<String, Double> exact = exactJaccard(spark, texts, toMeasure);
    Map<String, long[]> bands = bandKeys(spark, texts, truth, dedup);

    LshParams lsh = dedup.hasher().lsh();
    Set<String> planted = new LinkedHashSet<>();
    long above = 0;
    long recalled = 0;
    long mllibRecalled = 0;
    Set<String> mllibSet = new LinkedHashSet<>(mllib);
    long[] pairs = new long[EDGES.length];
    long[] candidates = new long[EDGES.length];
    long[] same = new long[EDGES.length];
    double[] expected = new double[EDGES.length];
    for (Truth p : truth) {
      String k = key(p.a(), p.b());
      planted.add(k);
      boolean together =
          clusterOf.containsKey(p.a()) && clusterOf.get(p.a()).equals(clusterOf.get(p.b()));
      if (p.jaccard() >= t) {
        above++;
        recalled += together ? 1 : 0;
        mllibRecalled += mllibSet.contains(k) ? 1 : 0;
      }
      int b = bucket(p.jaccard());
      pairs[b]++;
      candidates[b] += collide(bands.get(p.a()), bands.get(p.b())) ? 1 : 0;
      same[b] += together ? 1 : 0;
      expected[b] += lsh.collisionProbability(p.jaccard());
    }
    List<Bucket> buckets = new ArrayList<>();
    for (int b = 0; b < EDGES.length; b++) {
      if (pairs[b] > 0) {
        double from = EDGES[b];
        double to = b + 1 < EDGES.length ? EDGES[b + 1] : 1;
        buckets.add(new Bucket(from, to, pairs[b], candidates[b], expected[b] / pairs[b], same[b]));
      }
    }
    long unplanted =
        clusterPairs.stream().filter(k -> !planted.contains(k) && exact.get(k) >= t).count();
    return new Report(
        t,
        lsh,
        truth.size(),
        above,
        recalled,
        count(clusterPairs, exact, t),
        count(removals, exact, t),
        unplanted,
        largest,
        buckets,
        mllibPairs == null ? null : count(mllib, exact, t),
        mllibRecalled);
  }

  /**
   * The bucket index of a Jaccard value: [EDGES[b], EDGES[b + 1]), the last one holding exactly 1.
   */
  private static int bucket(double j) {
    for (int b = EDGES.length - 2; b >= 0; b--) {
      if (j >= EDGES[b] && j < EDGES[b + 1]) {
        return b;
      }
    }
    return EDGES.length - 1;
  }

  private static Pairs count(Iterable<String> keys, Map<String, Double> exact, double t) {
    long declared = 0;
    long correct = 0;
    for (String k : keys) {
      declared++;
      correct += exact.get(k) >= t ? 1 : 0;
    }
    return new Pairs(declared, correct);
  }

  private static boolean collide(long[] x, long[] y) {
    for (int i = 0; i < x.length && i < y.length; i++) {
      if (x[i] == y[i]) {
        return true;
      }
    }
    return false;
  }

  /** Exact shingle Jaccard of each pair ("a\tb"), from the texts. */
  private static Map<String, Double> exactJaccard(
      SparkSession spark, Dataset<Row> texts, Set<String> keys) {
    List<Row> rows = new ArrayList<>();
    keys.forEach(k -> rows.add(RowFactory.create((Object[]) k.split("\t"))));
    Dataset<Row> pairs =
        spark.createDataFrame(rows, new StructType().add("a", "string").add("b", "string"));
    var jaccard =
        udf(
            (UDF2<String, String, Double>) (x, y) -> Shingles.jaccard(x, y, CorpusGenerator.NGRAM),
            DataTypes.DoubleType);
    Map<String, Double> out = new HashMap<>();
    pairs
        .join(texts.select(col("id").as("a"), col("text").as("ta")), "a")
        .join(texts.select(col("id").as("b"), col("text").as("tb")), "b")
        .select(col("a"), col("b"), jaccard.apply(col("ta"), col("tb")))
        .collectAsList()
        .forEach(r -> out.put(key(r.getString(0), r.getString(1)), r.getDouble(2)));
    return out;
  }

  /** The job's LSH band keys of every document in a planted pair. */
  private static Map<String, long[]> bandKeys(
      SparkSession spark, Dataset<Row> texts, List<Truth> truth, Deduplicator dedup) {
    Set<String> ids = new LinkedHashSet<>();
    truth.forEach(
        p -> {
          ids.add(p.a());
          ids.add(p.b());
        });
    List<Row> rows = new ArrayList<>();
    ids.forEach(id -> rows.add(RowFactory.create(id)));
    Dataset<Row> wanted = spark.createDataFrame(rows, new StructType().add("id", "string"));
    Map<String, long[]> out = new HashMap<>();
    dedup
        .featurise(texts.join(wanted, "id"))
        .select("id", "bands")
        .collectAsList()
        .forEach(
            r -> {
              List<Long> keys = r.getList(1);
              out.put(r.getString(0), keys.stream().mapToLong(Long::longValue).toArray());
            });
    return out;
  }
}
