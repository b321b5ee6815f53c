package org.dbrxspark.benchmarks.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.size;

import org.apache.spark.ml.feature.HashingTF;
import org.apache.spark.ml.feature.MinHashLSH;
import org.apache.spark.ml.feature.MinHashLSHModel;
import org.apache.spark.ml.feature.NGram;
import org.apache.spark.ml.feature.RegexTokenizer;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

/**
 * The baseline: near-duplicate pairs with Spark MLlib's {@code MinHashLSH}, set up as its
 * documentation suggests and as close to the dedup job as MLlib allows.
 *
 * <ul>
 *   <li>Same shingles: {@code RegexTokenizer} (lower case, split on runs of characters that are not
 *       letters or digits) then {@code NGram(5)}, joined by spaces: the dedup job's words and
 *       5-word shingles. Documents with fewer than 5 words have no shingle and are left out
 *       (MinHashLSH rejects empty vectors); the dedup job makes them one shingle.
 *   <li>Shingle sets as binary sparse vectors: {@code HashingTF} with 2^30 features (collisions
 *       between the few hundred shingles of two documents are negligible; {@code CountVectorizer}
 *       would need a vocabulary of every distinct shingle of the corpus in the driver).
 *   <li>Same number of hash functions: {@code numHashTables} = the job's {@code --num-perm}. MLlib
 *       ORs its tables, each of one hash function (OR-amplification only, no bands), so a pair
 *       becomes a candidate with probability 1 - (1 - J)^tables.
 *   <li>{@code approxSimilarityJoin} of the features with themselves at Jaccard distance {@code 1 -
 *       threshold} (MLlib keeps distance &lt; threshold, so J &gt; 0.8 where the job keeps J &gt;=
 *       0.8), one row per unordered pair, written to Parquet.
 * </ul>
 *
 * Only {@code (id, features)} enter the join, and the features are persisted once, as a careful
 * user would do. Broadcast joins are turned off for it: MLlib explodes each side into one row per
 * hash table, each row carrying the document's feature vector, and Spark otherwise broadcasts one
 * side; from about 20 MB of text that broadcast passes {@code spark.driver.maxResultSize} (1 GiB)
 * and the run fails in the driver. Without broadcasts the join sorts and spills to disk instead.
 * The job does more (exact duplicates, connected components, survivors, Delta tables); the baseline
 * stops at the pairs.
 */
final class MllibBaseline {
  private MllibBaseline() {}

  /**
   * Writes the near-duplicate pairs of the JSONL documents under {@code input} to {@code output};
   * returns their count.
   */
  static long run(
      SparkSession spark, String input, String output, int tables, double threshold, long seed) {
    spark.conf().set("spark.sql.autoBroadcastJoinThreshold", "-1");
    Dataset<Row> docs = spark.read().json(input).select("id", "text");
    Dataset<Row> words =
        new RegexTokenizer()
            .setInputCol("text")
            .setOutputCol("words")
            .setPattern("[^\\p{L}\\p{N}]+")
            .setGaps(true)
            .setToLowercase(true)
            .setMinTokenLength(1)
            .transform(docs);
    Dataset<Row> shingles =
        new NGram()
            .setN(CorpusGenerator.NGRAM)
            .setInputCol("words")
            .setOutputCol("shingles")
            .transform(words)
            .where(size(col("shingles")).gt(0));
    Dataset<Row> features =
        new HashingTF()
            .setInputCol("shingles")
            .setOutputCol("features")
            .setNumFeatures(1 << 30)
            .setBinary(true)
            .transform(shingles)
            .select("id", "features")
            .persist(StorageLevel.MEMORY_AND_DISK());
    try {
      MinHashLSHModel model =
          new MinHashLSH()
              .setNumHashTables(tables)
              .setSeed(seed)
              .setInputCol("features")
              .setOutputCol("hashes")
              .fit(features);
      model
          .approxSimilarityJoin(features, features, 1 - threshold, "distance")
          .where(col("datasetA.id").lt(col("datasetB.id")))
          .select(col("datasetA.id").as("id_a"), col("datasetB.id").as("id_b"), col("distance"))
          .write()
          .mode("overwrite")
          .parquet(output);
    } finally {
      features.unpersist();
    }
    return spark.read().parquet(output).count();
  }
}
