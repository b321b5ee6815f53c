package org.dbrxspark.udfs.sql;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.udfs.FirstAttemptFailures;
import org.dbrxspark.udfs.TestSpark;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.dbrxspark.udfs.ml.DbrxEmbedder;
import org.dbrxspark.udfs.ml.DbrxGenerator;
import org.dbrxspark.udfs.ml.DbrxScorer;
import org.dbrxspark.udfs.registry.ModelSpec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractPartialFunction;

/** The model-backed SQL functions as planned batches, against the transformers on the same rows. */
class DbrxBatchedFunctionsTest {
  private static final long SEED = 11;
  private static final int ROWS = 8;
  private static SparkSession spark;
  private static Path checkpoint;
  private static DbrxMetrics metrics;

  /** Eight prompts in two partitions; not a local relation, so the query runs in tasks. */
  private static Dataset<Row> prompts;

  @BeforeAll
  static void setUp() {
    spark = TestSpark.session();
    checkpoint = TestSpark.tinyCheckpoint();
    metrics =
        DbrxFunctions.register(
            spark,
            DbrxFunctions.Options.of(checkpoint.toString())
                .withModel(new ModelSpec(checkpoint.toString(), 2, 2048, 32))
                .withSeed(SEED)
                .withDefaultParams("{\"max_new_tokens\": 5, \"temperature\": 0.9}"));
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < ROWS; i++) {
      rows.add(
          RowFactory.create(
              i, "Prompt number " + i + (i % 3 == 0 ? " with a longer tail of words" : "")));
    }
    StructType schema =
        new StructType().add("id", DataTypes.IntegerType).add("prompt", DataTypes.StringType);
    prompts = spark.createDataFrame(rows, schema).repartition(2, col("id"));
    prompts.createOrReplaceTempView("batched_prompts");
  }

  private static Map<Integer, Row> byId(List<Row> rows) {
    Map<Integer, Row> out = new HashMap<>();
    rows.forEach(r -> out.put(r.getInt(0), r.getStruct(1)));
    return out;
  }

  /**
   * BatchEvalDbrx nodes of the optimized plan (the physical one is wrapped by adaptive execution).
   */
  private static long batchNodes(Dataset<Row> df) {
    LogicalPlan plan = df.queryExecution().optimizedPlan();
    return CollectionConverters.asJava(
            plan.collect(
                new AbstractPartialFunction<LogicalPlan, Object>() {
                  @Override
                  public boolean isDefinedAt(LogicalPlan p) {
                    return p instanceof BatchEvalDbrx;
                  }

                  @Override
                  public Object apply(LogicalPlan p) {
                    return p;
                  }
                }))
        .size();
  }

  @Test
  void sameResultsAsTheTransformers() {
    Map<Integer, Row> sql =
        byId(spark.sql("SELECT id, dbrx_generate(prompt) FROM batched_prompts").collectAsList());
    DbrxGenerator generator =
        new DbrxGenerator()
            .setModelLocation(checkpoint.toString())
            .setThreads(2)
            .setSeed(SEED)
            .setTemperature(0.9)
            .setMaxNewTokens(5);
    Map<Integer, Row> ml =
        byId(generator.transform(prompts).select("id", "generation").collectAsList());
    assertEquals(ROWS, sql.size());
    for (int id = 0; id < ROWS; id++) {
      assertNull(sql.get(id).getAs("error"));
      assertEquals(ml.get(id), sql.get(id), "row " + id);
    }

    Map<Integer, Row> scores =
        byId(spark.sql("SELECT id, dbrx_score(prompt) FROM batched_prompts").collectAsList());
    DbrxScorer scorer =
        new DbrxScorer()
            .setModelLocation(checkpoint.toString())
            .setThreads(2)
            .setInputCol("prompt");
    Map<Integer, Row> scored =
        byId(scorer.transform(prompts).select("id", "score").collectAsList());
    Map<Integer, Row> embeds =
        byId(spark.sql("SELECT id, dbrx_embed(prompt) FROM batched_prompts").collectAsList());
    DbrxEmbedder embedder =
        new DbrxEmbedder()
            .setModelLocation(checkpoint.toString())
            .setThreads(2)
            .setInputCol("prompt");
    Map<Integer, Row> embedded =
        byId(embedder.transform(prompts).select("id", "embedding").collectAsList());
    for (int id = 0; id < ROWS; id++) {
      assertEquals(scored.get(id), scores.get(id), "score of row " + id);
      assertEquals(
          embedded.get(id).getList(0), embeds.get(id).getList(0), "embedding of row " + id);
    }
  }

  @Test
  void sameResultsWhateverThePartitioning() {
    String query = "SELECT id, dbrx_generate(prompt, '{\"max_new_tokens\": 3}') FROM ";
    Map<Integer, Row> two = byId(spark.sql(query + "batched_prompts").collectAsList());
    for (int partitions : new int[] {1, 3}) {
      prompts.repartition(partitions).createOrReplaceTempView("repartitioned");
      assertEquals(
          two,
          byId(spark.sql(query + "repartitioned").collectAsList()),
          partitions + " partitions");
    }
  }

  @Test
  void inExprNestedAndWhere() {
    List<Row> rows =
        prompts
            .where("id < 5 AND dbrx_score(prompt).token_count > 0")
            .select(
                col("id"),
                expr("upper(dbrx_generate(prompt).text)").as("upper"),
                expr("dbrx_generate(prompt).text").as("text"),
                expr("dbrx_score(dbrx_generate(prompt).text).token_count").as("nested"),
                expr("transform(array(prompt), p -> dbrx_generate(p).text)").as("in_lambda"))
            .orderBy("id")
            .collectAsList();
    assertEquals(5, rows.size());
    for (Row row : rows) {
      String text = row.getString(2);
      assertNotNull(text);
      assertEquals(text.toUpperCase(java.util.Locale.ROOT), row.getString(1));
      assertTrue(row.getInt(3) >= 0);
      assertEquals(
          List.of(text), row.getList(4)); // a call in a lambda runs row at a time, same output
    }
    long before = metrics.rows();
    List<Row> filtered =
        spark
            .sql(
                "SELECT id FROM batched_prompts"
                    + " WHERE dbrx_generate(prompt, '{\"max_new_tokens\": 2}').completion_tokens <= 2 AND id % 2 = 0")
            .collectAsList();
    assertEquals(ROWS / 2, filtered.size());
    assertEquals(ROWS / 2, metrics.rows() - before, "the condition without a call filters first");
  }

  @Test
  void rowsGoThroughTheEngineTogetherOncePerRow() {
    for (String query :
        List.of(
            "SELECT g.text, g.finish_reason FROM (SELECT dbrx_generate(prompt) AS g FROM batched_prompts)",
            "SELECT dbrx_generate(prompt).text, dbrx_generate(prompt).finish_reason FROM batched_prompts")) {
      Dataset<Row> df = spark.sql(query);
      assertEquals(
          1, batchNodes(df), () -> "one batched node: " + df.queryExecution().optimizedPlan());
      long rows = metrics.rows();
      long batches = metrics.batches();
      assertEquals(ROWS, df.collectAsList().size());
      assertEquals(ROWS, metrics.rows() - rows, "each row evaluated once: " + query);
      long calls = metrics.batches() - batches;
      assertTrue(calls >= 1 && calls <= 2, "one runtime call per partition, got " + calls);
    }
  }

  @Test
  void retriedTasksGiveTheCleanRunsResults() {
    for (String call :
        List.of("dbrx_generate(prompt)", "dbrx_score(prompt)", "dbrx_embed(prompt)")) {
      Dataset<Row> results = spark.sql("SELECT id, " + call + " AS r FROM batched_prompts");
      Map<Integer, Row> clean = byId(results.collectAsList());
      int before = FirstAttemptFailures.injected();
      Map<Integer, Row> retried =
          byId(results.where(FirstAttemptFailures.passEveryRow(col("r"))).collectAsList());
      assertEquals(
          2,
          FirstAttemptFailures.injected() - before,
          call + ": the first attempt of each partition failed");
      assertEquals(clean, retried, call);
    }
  }

  @Test
  void failedRowsDoNotFailTheirNeighbours() {
    List<Row> rows =
        spark
            .sql(
                "SELECT id, dbrx_generate(CASE WHEN id = 1 THEN NULL ELSE prompt END,"
                    + " CASE WHEN id = 2 THEN '{\"bogus\": 1}' END) FROM batched_prompts ORDER BY id")
            .collectAsList();
    for (Row row : rows) {
      Row g = row.getStruct(1);
      switch (row.getInt(0)) {
        case 1 -> assertTrue(g.<String>getAs("error").contains("null"));
        case 2 ->
            assertTrue(g.<String>getAs("error").contains("unknown sampling parameter 'bogus'"));
        default -> assertNull(g.getAs("error"), () -> "row " + row);
      }
    }
  }
}
