package org.dbrxspark.jobs.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.SharedSpark;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeltaTablesTest {
    private static final String METRICS = "spark.databricks.delta.history.metricsEnabled";
    private final SparkSession spark = SharedSpark.get();

    @Test
    void lastCommitRowsCountsTheLatestOverwriteWithOrWithoutCommitMetrics(@TempDir Path dir) {
        String table = dir.resolve("t").toString();
        DeltaTables.overwrite(spark.range(7).toDF(), table);
        assertEquals(7, DeltaTables.lastCommitRows(spark, table));
        // A second commit replaces the first: its own rows, not the table's history.
        DeltaTables.overwrite(spark.range(3).toDF(), table);
        assertEquals(3, DeltaTables.lastCommitRows(spark, table));

        // Without commit metrics the table itself is counted.
        spark.conf().set(METRICS, "false");
        try {
            DeltaTables.overwrite(spark.range(5).toDF(), table);
            assertEquals(5, DeltaTables.lastCommitRows(spark, table));
        } finally {
            spark.conf().unset(METRICS);
        }
    }

    @Test
    void rollbackRestoresTheVersionBeforeOrRemovesATableThatWasNotThere(@TempDir Path dir) {
        String table = dir.resolve("t").toString();
        assertEquals(-1, DeltaTables.version(spark, table));
        DeltaTables.overwrite(spark.range(7).toDF(), table);
        long before = DeltaTables.version(spark, table);
        DeltaTables.overwrite(spark.range(3).toDF(), table);
        DeltaTables.rollback(spark, table, before);
        assertEquals(7, DeltaTables.read(spark, table).count());

        String fresh = dir.resolve("fresh").toString();
        DeltaTables.overwrite(spark.range(2).toDF(), fresh);
        DeltaTables.rollback(spark, fresh, -1);
        assertFalse(Files.exists(Path.of(fresh)));
    }
}
