package org.dbrxspark.jobs.dedup;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.sum;

import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Connected components of an undirected graph, computed with DataFrame operations only (no collect
 * to the driver): the alternating large-star / small-star algorithm of Kiveris et al., "Connected
 * Components in MapReduce and Beyond" (SoCC 2014), which converges in O(log^2 n) rounds. Each
 * round's edges are checkpointed locally so the plan stays small. A graph of at most {@code
 * localMaxEdges} edges is instead solved in one task with union-find: one shuffle, where each round
 * of the distributed algorithm costs several Spark stages, most of a small graph's time. The label
 * of a component is its smallest node id either way, so the result does not depend on partitioning
 * or on the path taken.
 */
public final class ConnectedComponents {
  private static final int MAX_ROUNDS = 100;

  private ConnectedComponents() {}

  /**
   * @param edges columns {@code src}, {@code dst} (strings); self-loops and repeats are allowed
   * @param localMaxEdges the most distinct edges solved in one task; 0: always distributed
   * @return {@code (id, component)} for every node that appears in an edge
   */
  public static Dataset<Row> of(Dataset<Row> edges, long localMaxEdges) {
    Dataset<Row> e =
        normalise(edges.select(col("src").as("u"), col("dst").as("v"))).localCheckpoint();
    if (localMaxEdges > 0 && e.count() <= localMaxEdges) {
      return inOneTask(e);
    }
    for (int round = 0; round < MAX_ROUNDS; round++) {
      if (isStarForest(e)) {
        Dataset<Row> roots = e.select(col("u").as("id"), col("u").as("component")).distinct();
        return e.select(col("v").as("id"), col("u").as("component")).union(roots);
      }
      e = smallStar(largeStar(e)).localCheckpoint();
    }
    throw new IllegalStateException(
        "connected components did not converge in " + MAX_ROUNDS + " rounds");
  }

  private static Dataset<Row> inOneTask(Dataset<Row> e) {
    StructType schema =
        DataTypes.createStructType(
            List.of(
                DataTypes.createStructField("id", DataTypes.StringType, false),
                DataTypes.createStructField("component", DataTypes.StringType, false)));
    return e.repartition(1)
        .mapPartitions(
            (MapPartitionsFunction<Row, Row>)
                rows -> {
                  UnionFind sets = new UnionFind();
                  rows.forEachRemaining(r -> sets.union(r.getString(0), r.getString(1)));
                  return sets.labels();
                },
            Encoders.row(schema));
  }

  /** Disjoint sets of node ids whose root is always the set's smallest id. */
  private static final class UnionFind {
    private final Map<String, String> parent = new HashMap<>();

    void union(String a, String b) {
      String ra = find(a);
      String rb = find(b);
      if (ra.compareTo(rb) < 0) {
        parent.put(rb, ra);
      } else if (rb.compareTo(ra) < 0) {
        parent.put(ra, rb);
      }
    }

    /** The root of {@code x}'s set, halving the path on the way (amortised near-constant time). */
    String find(String x) {
      String node = x;
      String up = parent.putIfAbsent(node, node);
      while (up != null && !up.equals(node)) {
        String grand = parent.get(up);
        parent.put(node, grand);
        node = grand;
        up = parent.get(node);
      }
      return node;
    }

    /**
     * {@code (id, component)} for every node, made as they are read (find only re-points existing
     * keys).
     */
    Iterator<Row> labels() {
      Iterator<String> nodes = parent.keySet().iterator();
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return nodes.hasNext();
        }

        @Override
        public Row next() {
          String node = nodes.next();
          return RowFactory.create(node, find(node));
        }
      };
    }
  }

  /** Orients every edge from the smaller to the larger id and drops self-loops and repeats. */
  private static Dataset<Row> normalise(Dataset<Row> e) {
    return e.select(least(col("u"), col("v")).as("u"), greatest(col("u"), col("v")).as("v"))
        .where(col("u").notEqual(col("v")))
        .distinct();
  }

  /**
   * Large-star: every node links its larger neighbours to the smallest node of its neighbourhood.
   */
  private static Dataset<Row> largeStar(Dataset<Row> e) {
    Dataset<Row> both =
        e.select(col("u").as("a"), col("v").as("b"))
            .union(e.select(col("v").as("a"), col("u").as("b")));
    Dataset<Row> smallest =
        both.groupBy("a").agg(min("b").as("m")).select(col("a"), least(col("a"), col("m")).as("m"));
    return normalise(
        both.join(smallest, "a")
            .where(col("b").gt(col("a")))
            .select(col("b").as("u"), col("m").as("v")));
  }

  /** Small-star: every node links itself and its smaller neighbours to the smallest of them. */
  private static Dataset<Row> smallStar(Dataset<Row> e) {
    Dataset<Row> smallest = e.groupBy("v").agg(min("u").as("m"));
    Dataset<Row> neighbours = e.join(smallest, "v").select(col("u"), col("m").as("v"));
    Dataset<Row> self = smallest.select(col("v").as("u"), col("m").as("v"));
    return normalise(neighbours.union(self));
  }

  /**
   * Converged when every component is a star around its smallest node: no node is both a centre and
   * a leaf, and no leaf has two centres (one query).
   */
  private static boolean isStarForest(Dataset<Row> e) {
    Dataset<Row> roles =
        e.select(col("u").as("n"), lit(1).as("centre"), lit(0).as("leaf"))
            .union(e.select(col("v").as("n"), lit(0).as("centre"), lit(1).as("leaf")));
    return roles
        .groupBy("n")
        .agg(max("centre").as("centre"), sum("leaf").as("leaves"))
        .where(col("leaves").gt(1).or(col("centre").equalTo(1).and(col("leaves").gt(0))))
        .isEmpty();
  }
}
