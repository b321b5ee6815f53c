package org.dbrxspark.udfs.sql;

import static org.apache.spark.sql.functions.call_function;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.GenerationResult;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.engine.ScoreRequest;
import org.dbrxspark.runtime.tokenizer.ChatMessage;
import org.dbrxspark.runtime.tokenizer.ChatTemplate;
import org.dbrxspark.udfs.TestSpark;
import org.dbrxspark.udfs.inference.Generation;
import org.dbrxspark.udfs.inference.Scoring;
import org.dbrxspark.udfs.inference.Seeds;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.dbrxspark.udfs.registry.ModelSpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DbrxFunctionsTest {
  private static final long SEED = 5;
  private static SparkSession spark;
  private static Path checkpoint;
  private static DbrxRuntime direct;
  private static DbrxMetrics metrics;

  @BeforeAll
  static void setUp() throws Exception {
    spark = TestSpark.session();
    checkpoint = TestSpark.tinyCheckpoint();
    direct = DbrxRuntime.load(checkpoint, 2, EngineOptions.defaults());
    EngineOptions engine = EngineOptions.defaults();
    metrics =
        DbrxFunctions.register(
            spark,
            DbrxFunctions.Options.of(checkpoint.toString())
                .withModel(
                    new ModelSpec(
                        checkpoint.toString(), 2, engine.maxBatchTokens(), engine.maxSequences()))
                .withSeed(SEED)
                .withDefaultParams("{\"max_new_tokens\": 4, \"temperature\": 0.8}"));
    StructType schema =
        new StructType().add("id", DataTypes.IntegerType).add("prompt", DataTypes.StringType);
    spark
        .createDataFrame(
            List.of(
                RowFactory.create(0, "Hello DBRX"),
                RowFactory.create(1, "Bonjour"),
                RowFactory.create(2, null)),
            schema)
        .createOrReplaceTempView("prompts");
  }

  @AfterAll
  static void tearDown() {
    direct.close();
  }

  private static GenerationResult directly(int[] prompt, SamplingParams params) {
    return direct.engine().generate(List.of(new GenerationRequest(prompt, params))).get(0);
  }

  private static void assertSame(GenerationResult expected, Row actual) {
    assertNull(actual.getAs("error"), () -> "unexpected error " + actual);
    assertEquals(expected.text(), actual.getAs("text"));
    assertEquals(expected.finishReason().label(), actual.getAs("finish_reason"));
    assertEquals(expected.completionTokens(), (int) actual.getAs("completion_tokens"));
  }

  @Test
  void generateWithDefaultsAndPerRowParams() {
    List<Row> rows =
        spark
            .sql(
                "SELECT prompt, dbrx_generate(prompt) AS g,"
                    + " dbrx_generate(prompt, '{\"max_new_tokens\": 2, \"seed\": 9, \"logprobs\": true}') AS g2,"
                    + " dbrx_generate(prompt, concat('{\"temprature\"', ': 1}')) AS typo,"
                    + " dbrx_generate(prompt, concat('not ', 'json')) AS bad FROM prompts ORDER BY id")
            .collectAsList();
    for (int i = 0; i < 2; i++) {
      Row row = rows.get(i);
      int[] ids = direct.tokenizer().encode(row.getString(0));
      assertSame(
          directly(
              ids,
              SamplingParams.builder()
                  .maxNewTokens(4)
                  .temperature(0.8)
                  .seed(Seeds.forRow(row.getString(0), SEED))
                  .build()),
          row.getStruct(1));
      GenerationResult two =
          directly(
              ids,
              SamplingParams.builder()
                  .maxNewTokens(2)
                  .temperature(0.8)
                  .seed(9)
                  .logprobs(true)
                  .build());
      assertSame(two, row.getStruct(2));
      assertEquals(2, row.getStruct(2).getList(4).size());
      assertTrue(
          row.getStruct(3)
              .<String>getAs("error")
              .contains("unknown sampling parameter 'temprature'"));
      assertTrue(row.getStruct(4).<String>getAs("error").contains("not valid JSON"));
    }
    assertTrue(rows.get(2).getStruct(1).<String>getAs("error").contains("null"));
    assertEquals("error", rows.get(2).getStruct(1).getAs("finish_reason"));
    assertTrue(metrics.rows() >= 12);
    assertTrue(metrics.errors() >= 5);
  }

  @Test
  void aBadLiteralParamsJsonFailsTheQueryOnceNamingTheFault() {
    String typo =
        assertThrows(
                IllegalArgumentException.class,
                () -> spark.sql("SELECT dbrx_generate(prompt, '{\"temprature\": 1}') FROM prompts"))
            .getMessage();
    assertTrue(typo.contains("unknown sampling parameter 'temprature'"), typo);
    String schema =
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    spark.sql(
                        "SELECT dbrx_chat("
                            + "array(named_struct('role', 'user', 'content', prompt)), '{\"response_format\": {\"type\": \"json_schema\","
                            + " \"json_schema\": {\"schema\": {\"type\": \"object\", \"properties\": {\"n\": {\"type\": \"integer\","
                            + " \"minimum\": 1}}}}}}') FROM prompts"))
            .getMessage();
    assertEquals("response_format schema at /properties/n: unsupported keyword 'minimum'", schema);
    String unknown =
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    spark.sql(
                        "SELECT dbrx_generate(prompt, '{\"response_format\": {\"type\": \"regex\", \"pattern\": \"a\"}}') FROM prompts"))
            .getMessage();
    assertTrue(unknown.contains("response_format: unknown key 'pattern'"), unknown);
  }

  @Test
  void aResponseFormatInParamsJsonConstrainsTheText() {
    String schema =
        "{\"type\": \"object\", \"required\": [\"answer\", \"confidence\"], \"properties\": {"
            + "\"answer\": {\"enum\": [\"yes\", \"no\"]}, \"confidence\": {\"type\": \"number\"},"
            + " \"why\": {\"type\": \"string\", \"maxLength\": 12}}}";
    String params =
        "{\"temperature\": 1.0, \"max_new_tokens\": 64, \"response_format\": {\"type\": \"json_schema\","
            + " \"json_schema\": {\"name\": \"verdict\", \"schema\": "
            + schema
            + "}}}";
    spark
        .createDataFrame(
            List.of(RowFactory.create(params)),
            new StructType().add("params", DataTypes.StringType))
        .createOrReplaceTempView("structured_params");
    List<Row> rows =
        spark
            .sql(
                "SELECT dbrx_generate(concat(prompt, ' ', s.seed), p.params) AS g,"
                    + " dbrx_generate(prompt, '{\"temperature\": 1.0, \"response_format\": {\"type\": \"choice\", \"choice\": [\"yes\", \"no\"]}}') AS c"
                    + " FROM prompts CROSS JOIN structured_params p CROSS JOIN (SELECT explode(sequence(1, 8)) AS seed) s"
                    + " WHERE prompt IS NOT NULL")
            .collectAsList();
    Schema validator =
        SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
            .getSchema(schema, InputFormat.JSON);
    assertEquals(16, rows.size());
    for (Row row : rows) {
      Row g = row.getStruct(0);
      assertNull(g.getAs("error"));
      if (!g.<Boolean>getAs("incomplete")) {
        assertEquals("stop", g.getAs("finish_reason"));
        assertTrue(
            validator.validate(g.<String>getAs("text"), InputFormat.JSON).isEmpty(),
            g.<String>getAs("text"));
      } else {
        assertEquals("length", g.getAs("finish_reason"));
      }
      assertTrue(
          List.of("yes", "no").contains(row.getStruct(1).<String>getAs("text")), row.toString());
      assertEquals(false, row.getStruct(1).getAs("incomplete"));
    }
  }

  @Test
  void chatScoreEmbedAndTokenFunctions() {
    Row row =
        spark
            .sql(
                "SELECT"
                    + " dbrx_chat(array(named_struct('role', 'user', 'content', 'Hi'))) AS chat,"
                    + " dbrx_chat_template(array(named_struct('role', 'user', 'content', 'Hi'))) AS rendered,"
                    + " dbrx_score('jumps over', 'The fox') AS s,"
                    + " dbrx_score('The fox jumps') AS s1,"
                    + " dbrx_embed('The fox') AS e,"
                    + " dbrx_tokenize('The fox') AS ids,"
                    + " dbrx_count_tokens('The fox') AS n,"
                    + " dbrx_tokenize(NULL) AS none")
            .first();
    List<ChatMessage> chat = List.of(ChatMessage.user("Hi"));
    String rowId = "user\u0000Hi";
    assertSame(
        directly(
            ChatTemplate.dbrx().encode(direct.tokenizer(), chat, true),
            SamplingParams.builder()
                .maxNewTokens(4)
                .temperature(0.8)
                .seed(Seeds.forRow(rowId, SEED))
                .build()),
        row.getStruct(0));
    assertEquals(ChatTemplate.dbrx().render(chat, true), row.getString(1));
    double expected =
        direct
            .scorer()
            .score(
                List.of(
                    new ScoreRequest(
                        direct.tokenizer().encode("The fox"),
                        direct.tokenizer().encode("jumps over"))))
            .get(0)
            .logprobSum();
    assertEquals(expected, row.getStruct(2).getDouble(0), 0);
    assertEquals(2, row.getStruct(3).getInt(1)); // 3 tokens, the first unconditioned
    float[] vector =
        direct
            .embedder()
            .embed(
                List.of(direct.tokenizer().encode("The fox")),
                org.dbrxspark.runtime.engine.Pooling.MEAN)
            .get(0)
            .vector();
    assertEquals(vector.length, row.getStruct(4).getList(0).size());
    assertEquals(vector[0], (float) row.getStruct(4).getList(0).get(0));
    assertEquals(List.of(791, 39935), row.getList(5));
    assertEquals(2, row.getInt(6));
    assertTrue(row.isNullAt(7));
  }

  @Test
  void callableFromTheDataFrameApi() {
    List<Row> rows =
        spark
            .table("prompts")
            .orderBy("id")
            .select(
                call_function("dbrx_generate", col("prompt"), lit("{\"max_new_tokens\": 1}"))
                    .as("g"),
                call_function("dbrx_count_tokens", col("prompt")).as("n"))
            .collectAsList();
    assertEquals(1, (int) rows.get(0).getStruct(0).getAs("completion_tokens"));
    assertEquals(direct.tokenizer().countTokens("Hello DBRX"), rows.get(0).getInt(1));
  }

  @Test
  void registerJavaFunctionReadsOptionsFromSettings() {
    spark.conf().set(DbrxFunctions.MODEL, checkpoint.toString());
    spark.conf().set(DbrxFunctions.THREADS, "2");
    spark.conf().set(DbrxFunctions.SEED, Long.toString(SEED));
    spark.conf().set(DbrxFunctions.DEFAULT_PARAMS, "{\"max_new_tokens\": 4, \"temperature\": 0.8}");
    try {
      // What PySpark's spark.udf.registerJavaFunction does.
      spark.udf().registerJava("py_generate", GenerateFunction.class.getName(), Generation.RESULT);
      List<Row> rows =
          spark
              .sql(
                  "SELECT py_generate(prompt, NULL) AS a, dbrx_generate(prompt) AS b FROM prompts"
                      + " WHERE id < 2 ORDER BY id")
              .collectAsList();
      for (Row row : rows) {
        assertNotNull(row.getStruct(0).getAs("text"));
        assertEquals(row.getStruct(1), row.getStruct(0));
      }
    } finally {
      unset(
          DbrxFunctions.MODEL,
          DbrxFunctions.THREADS,
          DbrxFunctions.SEED,
          DbrxFunctions.DEFAULT_PARAMS);
    }
  }

  @Test
  void kvCacheSettingsReachTheRuntimeAndBadOnesAreNamed() throws Exception {
    spark.conf().set(DbrxFunctions.MODEL, checkpoint.toString());
    spark.conf().set(DbrxFunctions.THREADS, "2");
    spark.conf().set(DbrxFunctions.KV_DTYPE, "f32");
    spark.conf().set(DbrxFunctions.MAX_SEQ_LEN, "8");
    try {
      spark.udf().registerJava("py_score", ScoreFunction.class.getName(), Scoring.RESULT);
      List<Row> rows =
          spark
              .sql(
                  "SELECT py_score('jumps over', 'The fox') AS s,"
                      + " py_score('one two three four five six seven eight nine', NULL) AS long")
              .collectAsList();
      try (DbrxRuntime f32 =
          DbrxRuntime.load(checkpoint, 2, new EngineOptions(2048, 32, 8, KvDType.F32, 0))) {
        ScoreRequest request =
            new ScoreRequest(
                f32.tokenizer().encode("The fox"), f32.tokenizer().encode("jumps over"));
        double expected = f32.scorer().score(List.of(request)).get(0).logprobSum();
        assertEquals(expected, rows.get(0).getStruct(0).getDouble(0), 0);
        assertTrue(
            expected != direct.scorer().score(List.of(request)).get(0).logprobSum(),
            "the default f16 cache rounds the score apart");
      }
      String error = rows.get(0).getStruct(1).getAs("error");
      assertTrue(error.contains("max_seq_len 8"), error);

      spark.conf().set(DbrxFunctions.KV_DTYPE, "f8");
      spark.udf().registerJava("py_score_f8", ScoreFunction.class.getName(), Scoring.RESULT);
      Exception bad =
          assertThrows(Exception.class, () -> spark.sql("SELECT py_score_f8('a', NULL)").first());
      assertTrue(
          bad.getMessage().contains(DbrxFunctions.KV_DTYPE + ": unknown KV cache dtype 'f8'"),
          bad.getMessage());
    } finally {
      unset(
          DbrxFunctions.MODEL,
          DbrxFunctions.THREADS,
          DbrxFunctions.KV_DTYPE,
          DbrxFunctions.MAX_SEQ_LEN);
    }
  }

  @Test
  void numericSettingsThatDoNotParseAreNamedWithTheirValue() {
    spark.conf().set(DbrxFunctions.MODEL, checkpoint.toString());
    try {
      String seed = refusal(DbrxFunctions.SEED, "abc");
      assertTrue(
          seed.contains(
              DbrxFunctions.SEED
                  + " must be a whole number from -9223372036854775808 to 9223372036854775807,"
                  + " got 'abc'"),
          seed);
      String threads = refusal(DbrxFunctions.THREADS, "3000000000");
      assertTrue(
          threads.contains(
              DbrxFunctions.THREADS
                  + " must be a whole number from -2147483648 to 2147483647, got '3000000000'"),
          threads);
    } finally {
      unset(DbrxFunctions.MODEL);
    }
  }

  /**
   * Why a query fails when {@code setting} is {@code value}, as a function registered the PySpark
   * way reads it.
   */
  private static String refusal(String setting, String value) {
    spark.conf().set(setting, value);
    try {
      String name = "py_generate_" + setting.replace('.', '_');
      spark.udf().registerJava(name, GenerateFunction.class.getName(), Generation.RESULT);
      return assertThrows(
              Exception.class, () -> spark.sql("SELECT " + name + "('a', NULL)").first())
          .getMessage();
    } finally {
      unset(setting);
    }
  }

  @Test
  void deviceSettingsReachTheRegistryAndBadOnesAreNamed() {
    spark.conf().set(DbrxFunctions.MODEL, checkpoint.toString());
    spark.conf().set(DbrxFunctions.THREADS, "2");
    try {
      // This host has no GPU: cuda:0 fails the query with the CUDA backend's reason...
      spark.conf().set(DbrxFunctions.DEVICE, "cuda:0");
      spark.udf().registerJava("py_score_gpu", ScoreFunction.class.getName(), Scoring.RESULT);
      Exception noGpu =
          assertThrows(Exception.class, () -> spark.sql("SELECT py_score_gpu('a', NULL)").first());
      assertTrue(
          noGpu.getMessage().contains("device cuda:0 cannot be used: device 'cuda:0': "),
          noGpu.getMessage());
      // ...and with the CPU fallback it scores as the CPU does.
      spark.conf().set(DbrxFunctions.DEVICE_FALLBACK, "cpu");
      spark.udf().registerJava("py_score_fb", ScoreFunction.class.getName(), Scoring.RESULT);
      Row scored = spark.sql("SELECT py_score_fb('jumps over', 'The fox') AS s").first();
      ScoreRequest request =
          new ScoreRequest(
              direct.tokenizer().encode("The fox"), direct.tokenizer().encode("jumps over"));
      assertEquals(
          direct.scorer().score(List.of(request)).get(0).logprobSum(),
          scored.getStruct(0).getDouble(0),
          0);

      spark.conf().set(DbrxFunctions.DEVICE, "gpu");
      spark.udf().registerJava("py_score_bad", ScoreFunction.class.getName(), Scoring.RESULT);
      Exception bad =
          assertThrows(Exception.class, () -> spark.sql("SELECT py_score_bad('a', NULL)").first());
      assertTrue(
          bad.getMessage()
              .contains(DbrxFunctions.DEVICE + ": device 'gpu' is not auto, cpu, cuda or cuda:N"),
          bad.getMessage());
    } finally {
      unset(
          DbrxFunctions.MODEL,
          DbrxFunctions.THREADS,
          DbrxFunctions.DEVICE,
          DbrxFunctions.DEVICE_FALLBACK);
    }
  }

  /** Puts the session's settings back as the other tests expect them: unset. */
  private static void unset(String... keys) {
    for (String key : keys) {
      spark.conf().unset(key);
    }
  }
}
