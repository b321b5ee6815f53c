package org.dbrxspark.jobs.core;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** Partitioning helpers shared by the jobs. */
public final class Partitions {
  private Partitions() {}

  /**
   * Spreads rows over at least the cluster's default parallelism. A single gzip file arrives as one
   * partition, which would run a CPU-heavy stage on one core; results do not depend on how rows are
   * spread, only the speed does.
   */
  public static Dataset<Row> spread(Dataset<Row> rows) {
    int parallelism = rows.sparkSession().sparkContext().defaultParallelism();
    return rows.rdd().getNumPartitions() < parallelism ? rows.repartition(parallelism) : rows;
  }
}
