package org.dbrxspark.jobs.dedup;

import static org.apache.spark.sql.functions.array_intersect;
import static org.apache.spark.sql.functions.array_sort;
import static org.apache.spark.sql.functions.array_union;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_list;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.posexplode;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import java.io.Serializable;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.text.Words;

/**
 * Exact and fuzzy deduplication of a document table, optionally against an index of documents kept
 * earlier. DataFrame in, DataFrames out; nothing is collected to the driver.
 *
 * <ol>
 *   <li>Features per document: exact hash of the normalised text, length, shingle set, LSH band
 *       keys.
 *   <li>Edges: documents with the same exact hash (star around the smallest id), and LSH candidate
 *       pairs from band collisions: all pairs in a bucket of at most {@code maxBucketPairs}
 *       members, a star around the smallest id in larger ones (linear, not quadratic, in the bucket
 *       size). Pairs of two index documents are skipped: they were resolved before.
 *   <li>Optional verification: a candidate pair is kept only when the exact Jaccard similarity of
 *       the shingle sets reaches the threshold.
 *   <li>Connected components over the edges; one survivor per component: an index document if there
 *       is one (they are never removed), else the longest text, ties by smallest id.
 * </ol>
 *
 * @param hasher shingling and MinHash parameters
 * @param threshold Jaccard similarity for verification
 * @param verify whether candidate pairs are verified
 * @param maxBucketPairs largest bucket whose members are all paired
 * @param componentsInOneTaskMaxEdges largest edge count whose connected components are found in one
 *     task (see {@link ConnectedComponents}); 0: always distributed
 */
public record Deduplicator(
    MinHasher hasher,
    double threshold,
    boolean verify,
    int maxBucketPairs,
    long componentsInOneTaskMaxEdges)
    implements Serializable {
  static final String TEXT_HASH = "text_hash";
  static final String LENGTH = "length";
  static final String SHINGLES = "shingles";
  static final String BANDS = "bands";
  static final String PARAMS = "lsh_params";
  static final String OLD = "_old";

  /** Columns added to the duplicates table. */
  public static final String CLUSTER_ID = "cluster_id";

  public static final String DUPLICATE_OF = "duplicate_of";
  public static final String SIMILARITY = "similarity";

  /**
   * What a run produced.
   *
   * @param removed {@code (id, cluster_id, duplicate_of, similarity)} of every removed document,
   *     already computed (checkpointed), so each output below reads it instead of redoing the work
   * @param candidatePairs the number of LSH candidate pairs
   */
  public record Result(
      Dataset<Row> kept,
      Dataset<Row> duplicates,
      Dataset<Row> newIndexRows,
      Dataset<Row> removed,
      long candidatePairs) {}

  /** Index schema: the signature material of kept documents. */
  static StructType featureType() {
    return DataTypes.createStructType(
        List.of(
            DataTypes.createStructField(TEXT_HASH, DataTypes.StringType, false),
            DataTypes.createStructField(LENGTH, DataTypes.IntegerType, false),
            DataTypes.createStructField(
                SHINGLES, DataTypes.createArrayType(DataTypes.LongType, false), false),
            DataTypes.createStructField(
                BANDS, DataTypes.createArrayType(DataTypes.LongType, false), false)));
  }

  Row features(String text) {
    String normalised = Words.normalise(text);
    long[] shingles = hasher.shingles(normalised);
    long[] bands = hasher.bandKeys(hasher.signature(shingles), shingles.length == 0);
    return RowFactory.create(
        MinHasher.exactHash(normalised),
        text == null ? 0 : text.length(),
        box(shingles),
        box(bands));
  }

  private static Long[] box(long[] values) {
    Long[] out = new Long[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = values[i];
    }
    return out;
  }

  /** (id, text_hash, length, shingles, bands, lsh_params) for every document. */
  public Dataset<Row> featurise(Dataset<Row> docs) {
    // Non-deterministic only to stop the optimiser from re-running the UDF per extracted field.
    UserDefinedFunction fn =
        udf((UDF1<String, Row>) this::features, featureType()).asNondeterministic();
    return docs.select(col(Columns.ID), fn.apply(col(Columns.TEXT)).as("f"))
        .select(
            col(Columns.ID),
            col("f." + TEXT_HASH).as(TEXT_HASH),
            col("f." + LENGTH).as(LENGTH),
            col("f." + SHINGLES).as(SHINGLES),
            col("f." + BANDS).as(BANDS),
            lit(hasher.describe()).as(PARAMS));
  }

  /**
   * Deduplicates {@code docs} (id, text, ...) given their features, against {@code index} (features
   * of documents kept earlier; may be null). Index rows whose id is in {@code docs} are ignored, so
   * re-running the same batch gives the same result.
   */
  public Result run(Dataset<Row> docs, Dataset<Row> features, Dataset<Row> index) {
    Dataset<Row> fresh = features.withColumn(OLD, lit(false));
    Dataset<Row> all = fresh;
    if (index != null) {
      Dataset<Row> old =
          index
              .join(features.select(Columns.ID), Columns.ID, "left_anti")
              .select(cols(features))
              .withColumn(OLD, lit(true));
      all = fresh.unionByName(old);
    }

    Dataset<Row> exactEdges =
        starEdges(all.select(col(TEXT_HASH).as("key"), col(Columns.ID), col(OLD)));
    Dataset<Row> buckets =
        all.select(
            col(Columns.ID), col(OLD), posexplode(col(BANDS)).as(new String[] {"band", "key"}));
    // Checkpointed so that counting them for the summary does not redo the banding.
    Dataset<Row> candidates = bucketPairs(buckets).localCheckpoint();
    Dataset<Row> pairs = withBothSides(candidates, all).where(not(col("a_old").and(col("b_old"))));
    Dataset<Row> fuzzyEdges =
        verify ? pairs.where(jaccard(col("a_sh"), col("b_sh")).geq(threshold)) : pairs;
    Dataset<Row> edges =
        exactEdges.unionByName(fuzzyEdges.select(col("a").as("src"), col("b").as("dst")));

    Dataset<Row> components = ConnectedComponents.of(edges, componentsInOneTaskMaxEdges);
    Dataset<Row> members =
        components.join(all.select(col(Columns.ID), col(OLD), col(LENGTH)), Columns.ID);
    Column rank =
        row_number()
            .over(
                Window.partitionBy("component")
                    .orderBy(col(OLD).desc(), col(LENGTH).desc(), col(Columns.ID)));
    Dataset<Row> survivors =
        members
            .withColumn("rank", rank)
            .where(col("rank").equalTo(1))
            .select(col("component"), col(Columns.ID).as(DUPLICATE_OF));
    Dataset<Row> removed =
        members
            .where(not(col(OLD)))
            .join(survivors, "component")
            .where(col(Columns.ID).notEqual(col(DUPLICATE_OF)))
            .select(col(Columns.ID), col("component").as(CLUSTER_ID), col(DUPLICATE_OF));
    Dataset<Row> scored =
        removed
            .join(all.select(col(Columns.ID), col(SHINGLES).as("d_sh")), Columns.ID)
            .join(
                all.select(col(Columns.ID).as(DUPLICATE_OF), col(SHINGLES).as("s_sh")),
                DUPLICATE_OF)
            .select(
                col(Columns.ID),
                col(CLUSTER_ID),
                col(DUPLICATE_OF),
                jaccard(col("d_sh"), col("s_sh")).as(SIMILARITY))
            .localCheckpoint();

    Dataset<Row> kept = docs.join(scored.select(Columns.ID), Columns.ID, "left_anti");
    Dataset<Row> duplicates = docs.join(scored, Columns.ID);
    Dataset<Row> newIndex = features.join(scored.select(Columns.ID), Columns.ID, "left_anti");
    return new Result(kept, duplicates, newIndex, scored, candidates.count());
  }

  private static Column[] cols(Dataset<Row> features) {
    String[] names = features.columns();
    Column[] out = new Column[names.length];
    for (int i = 0; i < names.length; i++) {
      out[i] = col(names[i]);
    }
    return out;
  }

  /**
   * Edges from the smallest id of each key group to its other members, for groups with a new
   * document.
   */
  private static Dataset<Row> starEdges(Dataset<Row> keyed) {
    Dataset<Row> groups =
        keyed
            .groupBy("key")
            .agg(
                array_sort(collect_list(col(Columns.ID))).as("ids"),
                max(not(col(OLD))).as("has_new"))
            .where(col("has_new").and(size(col("ids")).gt(1)));
    return groups.select(
        expr("element_at(ids, 1)").as("src"),
        expr("explode(slice(ids, 2, size(ids) - 1))").as("dst"));
  }

  /** Candidate pairs (a < b) from LSH buckets with at least one new document. */
  private Dataset<Row> bucketPairs(Dataset<Row> buckets) {
    Dataset<Row> groups =
        buckets
            .groupBy("band", "key")
            .agg(
                array_sort(collect_list(col(Columns.ID))).as("ids"),
                max(not(col(OLD))).as("has_new"))
            .where(col("has_new").and(size(col("ids")).gt(1)));
    String allPairs =
        "flatten(transform(sequence(1, size(ids) - 1), i -> transform(slice(ids, i + 1, "
            + "size(ids) - i), b -> named_struct('a', element_at(ids, i), 'b', b))))";
    String star =
        "transform(slice(ids, 2, size(ids) - 1), b -> named_struct('a', element_at(ids, 1), 'b', b))";
    return groups
        .select(
            expr("explode(CASE WHEN size(ids) <= "
                    + maxBucketPairs
                    + " THEN "
                    + allPairs
                    + " ELSE "
                    + star
                    + " END)")
                .as("p"))
        .select(col("p.a").as("a"), col("p.b").as("b"))
        .distinct();
  }

  /** Adds each side's shingles and index flag to the pairs. */
  private static Dataset<Row> withBothSides(Dataset<Row> pairs, Dataset<Row> all) {
    Dataset<Row> a =
        all.select(col(Columns.ID).as("a"), col(SHINGLES).as("a_sh"), col(OLD).as("a_old"));
    Dataset<Row> b =
        all.select(col(Columns.ID).as("b"), col(SHINGLES).as("b_sh"), col(OLD).as("b_old"));
    return pairs.join(a, "a").join(b, "b");
  }

  /** Exact Jaccard similarity of two distinct-valued arrays; 1 for two empty sets. */
  static Column jaccard(Column x, Column y) {
    Column union = size(array_union(x, y));
    return when(union.equalTo(0), lit(1.0))
        .otherwise(size(array_intersect(x, y)).cast("double").divide(union));
  }
}
