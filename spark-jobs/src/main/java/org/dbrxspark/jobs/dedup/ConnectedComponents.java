package org.dbrxspark.jobs.dedup;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.sum;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Connected components of an undirected graph, computed with DataFrame operations only (no
 * collect to the driver): the alternating large-star / small-star algorithm of Kiveris et al.,
 * "Connected Components in MapReduce and Beyond" (SoCC 2014), which converges in O(log^2 n)
 * rounds. Each round's edges are checkpointed locally so the plan stays small. The label of a
 * component is its smallest node id, so the result does not depend on partitioning.
 */
public final class ConnectedComponents {
    private static final int MAX_ROUNDS = 100;

    private ConnectedComponents() {
    }

    /**
     * @param edges columns {@code src}, {@code dst} (strings); self-loops and repeats are allowed
     * @return {@code (id, component)} for every node that appears in an edge
     */
    public static Dataset<Row> of(Dataset<Row> edges) {
        Dataset<Row> e = normalise(edges.select(col("src").as("u"), col("dst").as("v"))).localCheckpoint();
        for (int round = 0; round < MAX_ROUNDS; round++) {
            if (isStarForest(e)) {
                Dataset<Row> roots = e.select(col("u").as("id"), col("u").as("component")).distinct();
                return e.select(col("v").as("id"), col("u").as("component")).union(roots);
            }
            e = smallStar(largeStar(e)).localCheckpoint();
        }
        throw new IllegalStateException("connected components did not converge in " + MAX_ROUNDS + " rounds");
    }

    /** Orients every edge from the smaller to the larger id and drops self-loops and repeats. */
    private static Dataset<Row> normalise(Dataset<Row> e) {
        return e.select(least(col("u"), col("v")).as("u"), greatest(col("u"), col("v")).as("v"))
            .where(col("u").notEqual(col("v"))).distinct();
    }

    /** Large-star: every node links its larger neighbours to the smallest node of its neighbourhood. */
    private static Dataset<Row> largeStar(Dataset<Row> e) {
        Dataset<Row> both = e.select(col("u").as("a"), col("v").as("b"))
            .union(e.select(col("v").as("a"), col("u").as("b")));
        Dataset<Row> smallest = both.groupBy("a").agg(min("b").as("m"))
            .select(col("a"), least(col("a"), col("m")).as("m"));
        return normalise(both.join(smallest, "a").where(col("b").gt(col("a")))
            .select(col("b").as("u"), col("m").as("v")));
    }

    /** Small-star: every node links itself and its smaller neighbours to the smallest of them. */
    private static Dataset<Row> smallStar(Dataset<Row> e) {
        Dataset<Row> smallest = e.groupBy("v").agg(min("u").as("m"));
        Dataset<Row> neighbours = e.join(smallest, "v").select(col("u"), col("m").as("v"));
        Dataset<Row> self = smallest.select(col("v").as("u"), col("m").as("v"));
        return normalise(neighbours.union(self));
    }

    /** Converged when every component is a star around its smallest node: no node is both a
     *  centre and a leaf, and no leaf has two centres (one query). */
    private static boolean isStarForest(Dataset<Row> e) {
        Dataset<Row> roles = e.select(col("u").as("n"), lit(1).as("centre"), lit(0).as("leaf"))
            .union(e.select(col("v").as("n"), lit(0).as("centre"), lit(1).as("leaf")));
        return roles.groupBy("n").agg(max("centre").as("centre"), sum("leaf").as("leaves"))
            .where(col("leaves").gt(1).or(col("centre").equalTo(1).and(col("leaves").gt(0))))
            .isEmpty();
    }
}
