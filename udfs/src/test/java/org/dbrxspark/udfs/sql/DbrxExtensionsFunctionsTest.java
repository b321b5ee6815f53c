package org.dbrxspark.udfs.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.dbrxspark.udfs.TestSpark;
import org.dbrxspark.udfs.ml.DbrxGenerator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The functions through {@code spark.sql.extensions}, as PySpark gets them: options from settings.
 */
class DbrxExtensionsFunctionsTest {
  private static SparkSession spark;
  private static Path checkpoint;

  @BeforeAll
  static void setUp() {
    checkpoint = TestSpark.tinyCheckpoint();
    TestSpark
        .stop(); // extensions apply to a new session only; the next TestSpark.session() restarts
    spark =
        SparkSession.builder()
            .master("local[2]")
            .appName("udfs-extensions-test")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.extensions", DbrxExtensions.class.getName())
            .config(DbrxFunctions.MODEL, checkpoint.toString())
            .config(DbrxFunctions.THREADS, "2")
            .config(DbrxFunctions.SEED, "3")
            .config(DbrxFunctions.DEFAULT_PARAMS, "{\"max_new_tokens\": 4}")
            .getOrCreate();
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  @Test
  void functionsByNameArePlannedBatched() {
    spark
        .range(6)
        .selectExpr("CAST(id AS INT) AS id", "concat('Prompt ', id) AS prompt")
        .createOrReplaceTempView("p");
    Dataset<Row> df =
        spark.sql(
            "SELECT id, dbrx_generate(prompt) AS g, dbrx_count_tokens(prompt) AS n FROM p"
                + " WHERE dbrx_score(prompt).token_count > 0 ORDER BY id");
    assertTrue(
        df.queryExecution().optimizedPlan().toString().contains("BatchEvalDbrx"),
        () -> df.queryExecution().toString());
    List<Row> rows = df.collectAsList();
    DbrxGenerator generator =
        new DbrxGenerator()
            .setModelLocation(checkpoint.toString())
            .setThreads(2)
            .setSeed(3)
            .setMaxNewTokens(4)
            .setOutputCol("g");
    List<Row> expected = generator.transform(spark.table("p")).orderBy("id").collectAsList();
    assertEquals(6, rows.size());
    for (int i = 0; i < rows.size(); i++) {
      assertEquals(expected.get(i).getStruct(2), rows.get(i).getStruct(1));
      assertEquals(DbrxTokenizer.shared().countTokens("Prompt " + i), rows.get(i).getInt(2));
    }
    AnalysisException e =
        assertThrows(AnalysisException.class, () -> spark.sql("SELECT dbrx_embed('a', 'b')"));
    assertTrue(e.getMessage().contains("WRONG_NUM_ARGS"), e.getMessage());
  }
}
