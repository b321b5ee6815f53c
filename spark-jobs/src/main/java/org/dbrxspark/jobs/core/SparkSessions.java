package org.dbrxspark.jobs.core;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/** Builds the SparkSession every job runs in: Delta enabled, local by default. */
public final class SparkSessions {
  private SparkSessions() {}

  /**
   * Returns a session for {@code app}. {@code master} wins when given; otherwise a master set by
   * spark-submit is kept, and a plain {@code java} launch falls back to {@code local[*]}. {@code
   * shufflePartitions} 0 keeps Spark's setting, except on a local master where it becomes twice the
   * cores.
   */
  public static SparkSession create(String app, String master, int shufflePartitions) {
    SparkConf conf = new SparkConf();
    if (master != null && !master.isBlank()) {
      conf.setMaster(master);
    } else if (!conf.contains("spark.master")) {
      conf.setMaster("local[*]");
    }
    conf.setAppName("dbrx-spark " + app);
    if (shufflePartitions > 0) {
      conf.set("spark.sql.shuffle.partitions", Integer.toString(shufflePartitions));
    } else if (conf.get("spark.master").startsWith("local")
        && !conf.contains("spark.sql.shuffle.partitions")) {
      // Spark's 200 suits clusters; on one machine they are mostly empty tasks.
      int cores = Runtime.getRuntime().availableProcessors();
      conf.set("spark.sql.shuffle.partitions", Integer.toString(Math.max(4, 2 * cores)));
      // Likewise Delta's 50 partitions for rebuilding a table's state, which jobs that commit
      // often (generate) do after every commit.
      if (!conf.contains("spark.databricks.delta.snapshotPartitions")) {
        conf.set("spark.databricks.delta.snapshotPartitions", Integer.toString(Math.max(2, cores)));
      }
    }
    withDelta(conf);
    return SparkSession.builder().config(conf).getOrCreate();
  }

  /** Adds the Delta Lake SQL extension and catalog to {@code conf}. */
  public static SparkConf withDelta(SparkConf conf) {
    return conf.set("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .set("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog");
  }
}
