package org.dbrxspark.jobs;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.core.SparkSessions;

/**
 * The one SparkSession all test classes share: local[2,2] (two task slots, and a second attempt per
 * task, so that tests can fail a first attempt), few shuffle partitions, no UI.
 *
 * <p>Expressions are interpreted, not compiled: on these tests' few rows, Janino compiling each
 * query's generated code, and the JIT compiling its classes, took about a third of the suite's CPU.
 * Spark gives the same results either way. The notebooks, the cluster-jar test and the udfs module
 * run on Spark's defaults, so generated code still runs in the build.
 */
public final class SharedSpark {
  private static SparkSession spark;

  private SharedSpark() {}

  public static synchronized SparkSession get() {
    if (spark == null) {
      SparkConf conf =
          new SparkConf()
              .setMaster("local[2,2]")
              .setAppName("spark-jobs-tests")
              .set("spark.ui.enabled", "false")
              .set("spark.sql.shuffle.partitions", "4")
              .set("spark.default.parallelism", "4")
              .set("spark.databricks.delta.snapshotPartitions", "2")
              .set("spark.sql.sources.parallelPartitionDiscovery.threshold", "1000")
              .set("spark.driver.host", "127.0.0.1")
              .set("spark.sql.codegen.wholeStage", "false")
              .set("spark.sql.codegen.factoryMode", "NO_CODEGEN");
      spark = SparkSession.builder().config(SparkSessions.withDelta(conf)).getOrCreate();
    }
    return spark;
  }
}
