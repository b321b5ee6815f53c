package org.dbrxspark.udfs.ml;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.rand;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
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
import org.dbrxspark.runtime.structured.CompiledFormat;
import org.dbrxspark.runtime.structured.ResponseFormat;
import org.dbrxspark.runtime.tokenizer.ChatMessage;
import org.dbrxspark.runtime.tokenizer.ChatTemplate;
import org.dbrxspark.udfs.FirstAttemptFailures;
import org.dbrxspark.udfs.TestSpark;
import org.dbrxspark.udfs.device.DeviceSelection;
import org.dbrxspark.udfs.inference.Seeds;
import org.dbrxspark.udfs.registry.ModelRegistry;
import org.dbrxspark.udfs.registry.ModelSpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DbrxGeneratorTest {
  static final long SEED = 42;
  private static final int MAX_NEW = 6;
  private static SparkSession spark;
  private static Path checkpoint;
  private static DbrxRuntime direct;

  @BeforeAll
  static void setUp() throws Exception {
    spark = TestSpark.session();
    checkpoint = TestSpark.tinyCheckpoint();
    direct = DbrxRuntime.load(checkpoint, 2, EngineOptions.defaults());
  }

  @AfterAll
  static void tearDown() {
    direct.close();
  }

  private static final StructType PROMPTS =
      new StructType()
          .add("id", DataTypes.LongType)
          .add("prompt", DataTypes.StringType)
          .add("note", DataTypes.StringType);

  /** Rows id 0..n-1 over {@code partitions} partitions; prompts repeat so ids matter for seeds. */
  static Dataset<Row> prompts(int n, int partitions) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(RowFactory.create((long) i, "Tell me about topic " + (i % 3), "note-" + i));
    }
    return TestSpark.session()
        .createDataFrame(rows, PROMPTS)
        .repartition(partitions)
        .sortWithinPartitions("id")
        .coalesce(partitions);
  }

  static DbrxGenerator sampling() {
    return new DbrxGenerator()
        .setModelLocation(TestSpark.tinyCheckpoint().toString())
        .setThreads(2)
        .setIdCol("id")
        .setSeed(SEED)
        .setTemperature(0.9)
        .setTopK(50)
        .setMaxNewTokens(MAX_NEW);
  }

  private static GenerationResult directly(String prompt, SamplingParams params) {
    int[] ids = direct.tokenizer().encode(prompt);
    return direct.engine().generate(List.of(new GenerationRequest(ids, params))).get(0);
  }

  static SamplingParams params(long seed, int maxNew) {
    return SamplingParams.builder()
        .temperature(0.9)
        .topK(50)
        .maxNewTokens(maxNew)
        .seed(seed)
        .build();
  }

  private static void assertSame(GenerationResult expected, Row actual) {
    assertNull(actual.getAs("error"), () -> "unexpected error " + actual);
    assertEquals(expected.text(), actual.getAs("text"));
    assertEquals(expected.finishReason().label(), actual.getAs("finish_reason"));
    assertEquals(expected.promptTokens(), (int) actual.getAs("prompt_tokens"));
    assertEquals(expected.completionTokens(), (int) actual.getAs("completion_tokens"));
  }

  @Test
  void matchesTheRuntimeKeepsColumnsAndOrder() {
    Dataset<Row> input = prompts(10, 3);
    DbrxGenerator generator = sampling().setChunkRows(3);
    Dataset<Row> output = generator.transform(input);
    assertEquals(List.of("id", "prompt", "note", "generation"), List.of(output.columns()));
    List<Row> out = output.collectAsList();
    List<Row> in = input.collectAsList();
    assertEquals(in.size(), out.size());
    for (int i = 0; i < in.size(); i++) {
      Row row = out.get(i);
      assertEquals(in.get(i).getLong(0), row.getLong(0), "order");
      assertEquals(in.get(i).getString(1), row.getString(1));
      assertEquals(in.get(i).getString(2), row.getString(2));
      long id = row.getLong(0);
      assertSame(
          directly(row.getString(1), params(Seeds.forRow(Long.toString(id), SEED), MAX_NEW)),
          row.getStruct(3));
    }
    assertEquals(10, generator.lastMetrics().rows());
    assertEquals(0, generator.lastMetrics().errors());
    assertTrue(generator.lastMetrics().generatedTokens() > 0);
  }

  @Test
  void aRowsTextFollowsItsIdWhateverThePartitioningAndBatch() {
    Map<Long, String> reference = texts(sampling().transform(prompts(9, 1)));
    assertEquals(reference, texts(sampling().setChunkRows(2).transform(prompts(9, 3))));
    assertEquals(reference, texts(sampling().setMaxSequences(1).transform(prompts(9, 2))));
    // Ids 0, 3 and 6 share a prompt: their seeds, not their prompt, decide their samples.
    assertEquals(
        3,
        Set.of(reference.get(0L), reference.get(3L), reference.get(6L)).size(),
        reference.toString());
  }

  private static Map<Long, String> texts(Dataset<Row> generated) {
    Map<Long, String> out = new TreeMap<>();
    generated.collectAsList().forEach(r -> out.put(r.getLong(0), r.getStruct(3).getAs("text")));
    return out;
  }

  @Test
  void errorRowsAreIsolated() {
    String tooLong = "word ".repeat(1100);
    List<Row> rows =
        List.of(
            RowFactory.create(0L, "A fine prompt", null),
            RowFactory.create(1L, null, null),
            RowFactory.create(2L, tooLong, null),
            RowFactory.create(3L, "Another fine prompt", -1.0),
            RowFactory.create(4L, "", null),
            RowFactory.create(5L, "Last fine prompt", 0.9));
    StructType schema =
        new StructType()
            .add("id", DataTypes.LongType)
            .add("prompt", DataTypes.StringType)
            .add("temp", DataTypes.DoubleType);
    Dataset<Row> input = spark.createDataFrame(rows, schema).coalesce(1);
    DbrxGenerator generator = sampling().setTemperatureCol("temp");
    List<Row> out = generator.transform(input).collectAsList();

    for (int ok : new int[] {0, 5}) {
      Row row = out.get(ok);
      assertSame(
          directly(row.getString(1), params(Seeds.forRow(Long.toString(ok), SEED), MAX_NEW)),
          row.getStruct(3));
    }
    assertError(out.get(1), "null");
    assertError(out.get(2), "over the limit");
    assertError(out.get(3), "temperature");
    assertError(out.get(4), "empty");
    assertEquals(4, generator.lastMetrics().errors());
  }

  private static void assertError(Row row, String fragment) {
    Row result = row.getStruct(row.fieldIndex("generation"));
    String error = result.getAs("error");
    assertNotNull(error, () -> "expected an error in " + row);
    assertTrue(error.contains(fragment), error);
    assertNull(result.getAs("text"));
    assertEquals("error", result.getAs("finish_reason"));
  }

  @Test
  void chatMessagesAndPerRowOverrides() {
    StructType message =
        new StructType().add("role", DataTypes.StringType).add("content", DataTypes.StringType);
    StructType schema =
        new StructType()
            .add("messages", DataTypes.createArrayType(message))
            .add("max_new", DataTypes.IntegerType)
            .add("row_seed", DataTypes.LongType);
    List<Row> rows =
        List.of(
            RowFactory.create(List.of(RowFactory.create("user", "Hi there")), 3, 11L),
            RowFactory.create(
                List.of(
                    RowFactory.create("system", "Be brief."), RowFactory.create("user", "Why?")),
                null,
                null),
            RowFactory.create(List.of(RowFactory.create(null, "no role")), null, null));
    Dataset<Row> input = spark.createDataFrame(rows, schema).coalesce(1);
    DbrxGenerator generator =
        new DbrxGenerator()
            .setModelLocation(checkpoint.toString())
            .setThreads(2)
            .setMessagesCol("messages")
            .setMaxNewTokensCol("max_new")
            .setSeedCol("row_seed")
            .setTemperature(0.9)
            .setTopK(50)
            .setMaxNewTokens(MAX_NEW)
            .setSeed(SEED)
            .setLogprobs(true);
    List<Row> out = generator.transform(input).collectAsList();

    List<ChatMessage> first = List.of(ChatMessage.user("Hi there"));
    List<ChatMessage> second = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Why?"));
    GenerationResult e0 =
        chat(
            first,
            SamplingParams.builder()
                .temperature(0.9)
                .topK(50)
                .maxNewTokens(3)
                .seed(11)
                .logprobs(true)
                .build());
    String id1 = "system\u0000Be brief.\u0000user\u0000Why?";
    GenerationResult e1 =
        chat(
            second,
            SamplingParams.builder()
                .temperature(0.9)
                .topK(50)
                .maxNewTokens(MAX_NEW)
                .seed(Seeds.forRow(id1, SEED))
                .logprobs(true)
                .build());
    assertSame(e0, out.get(0).getStruct(3));
    assertEquals(3, e0.completionTokens());
    assertArrayEquals(e0.logprobs(), toFloats(out.get(0).getStruct(3).getList(4)));
    assertSame(e1, out.get(1).getStruct(3));
    assertError(out.get(2), "null role");
  }

  private static float[] toFloats(List<Object> values) {
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = (Float) values.get(i);
    }
    return out;
  }

  private static GenerationResult chat(List<ChatMessage> messages, SamplingParams params) {
    int[] ids = ChatTemplate.dbrx().encode(direct.tokenizer(), messages, true);
    return direct.engine().generate(List.of(new GenerationRequest(ids, params))).get(0);
  }

  @Test
  void prefixCachingChangesNoRowWhateverThePartitioningAndOrder() {
    // Every prompt starts with the same instructions (several KV blocks), then its own question.
    String instructions =
        "You are a careful assistant. Answer in one short sentence and cite the topic. ".repeat(4);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      rows.add(
          RowFactory.create(
              (long) i,
              instructions + "Question " + i + ": what about topic " + (i % 5) + "?",
              "note-" + i));
    }
    Dataset<Row> input = spark.createDataFrame(rows, PROMPTS);
    List<Row> off =
        sampling()
            .setPrefixCaching(false)
            .transform(input.coalesce(1))
            .orderBy("id")
            .collectAsList();
    assertEquals(0, off.stream().filter(r -> r.getStruct(3).getAs("error") != null).count());
    for (int partitions : new int[] {1, 3, 5}) {
      Dataset<Row> shuffled = input.orderBy(rand(partitions)).repartition(partitions);
      DbrxGenerator on = sampling().setChunkRows(4);
      List<Row> out = on.transform(shuffled).orderBy("id").collectAsList();
      assertEquals(off, out, partitions + " partitions");
      assertTrue(
          on.lastMetrics().prefixCacheHitBlocks() > 0,
          partitions + " partitions: " + on.lastMetrics());
    }
  }

  @Test
  void retriedTaskGivesIdenticalOutput() {
    Dataset<Row> input = prompts(8, 2);
    List<Row> clean = sampling().transform(input).collectAsList();
    int before = FirstAttemptFailures.injected();
    List<Row> retried =
        sampling()
            .transform(input)
            .where(FirstAttemptFailures.passEveryRow(col("generation.text")))
            .collectAsList();
    assertEquals(
        2, FirstAttemptFailures.injected() - before, "the first attempt of each partition failed");
    assertEquals(clean, retried);
  }

  @Test
  void modelLoadsOncePerJvmAcrossJobs() {
    DbrxGenerator generator = sampling();
    generator.transform(prompts(4, 2)).count();
    generator.transform(prompts(6, 3)).collectAsList();
    ModelSpec spec =
        new ModelSpec(
            checkpoint.toString(),
            2,
            EngineOptions.defaults().maxBatchTokens(),
            EngineOptions.defaults().maxSequences());
    assertEquals(1, ModelRegistry.loadCount(spec, DeviceSelection.cpu()));
  }

  @Test
  void unloadableModelFailsTheTaskNamingLocationAndCause(@TempDir Path empty) {
    DbrxGenerator missing = sampling().setModelLocation(empty.resolve("nope").toString());
    SparkException e =
        assertThrows(SparkException.class, () -> missing.transform(prompts(2, 1)).collectAsList());
    assertTrue(e.getMessage().contains(empty.resolve("nope").toString()), e.getMessage());
    assertTrue(e.getMessage().contains("config.json"), e.getMessage());

    DbrxGenerator greedy = sampling().setMaxSequences(1_000_000);
    SparkException memory =
        assertThrows(SparkException.class, () -> greedy.transform(prompts(2, 1)).collectAsList());
    assertTrue(
        memory.getMessage().contains("not enough memory for the configured budget"),
        memory.getMessage());
  }

  @Test
  void kvCacheOptionsGiveTheRuntimesOutputsWithTheSameOptions() throws Exception {
    int maxSeqLen = 24;
    String fits = "Tell me about topic 1";
    String nearTheCap =
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
            + " sixteen seventeen eighteen nineteen twenty";
    String tooLong = "word ".repeat(40);
    assertTrue(direct.tokenizer().encode(nearTheCap).length > maxSeqLen - MAX_NEW);
    assertTrue(direct.tokenizer().encode(tooLong).length >= maxSeqLen);
    Dataset<Row> input =
        spark.createDataFrame(
            List.of(
                RowFactory.create(0L, fits, "a"),
                RowFactory.create(1L, tooLong, "b"),
                RowFactory.create(2L, nearTheCap, "c")),
            PROMPTS);
    List<Row> out =
        sampling()
            .setLogprobs(true)
            .setKvDtype("f32")
            .setMaxSeqLen(maxSeqLen)
            .transform(input.coalesce(1))
            .collectAsList();
    EngineOptions same = new EngineOptions(2048, 32, maxSeqLen, KvDType.F32, 0);
    boolean differsFromF16 = false;
    try (DbrxRuntime f32 = DbrxRuntime.load(checkpoint, 2, same)) {
      for (int i : new int[] {0, 2}) {
        Row row = out.get(i);
        int[] ids = f32.tokenizer().encode(row.getString(1));
        SamplingParams params =
            params(Seeds.forRow(Long.toString(row.getLong(0)), SEED), MAX_NEW).toBuilder()
                .logprobs(true)
                .build();
        GenerationResult expected =
            f32.engine().generate(List.of(new GenerationRequest(ids, params))).get(0);
        assertSame(expected, row.getStruct(3));
        assertArrayEquals(expected.logprobs(), toFloats(row.getStruct(3).getList(4)));
        GenerationResult f16 =
            direct.engine().generate(List.of(new GenerationRequest(ids, params))).get(0);
        differsFromF16 |= !java.util.Arrays.equals(expected.logprobs(), f16.logprobs());
      }
    }
    assertTrue(differsFromF16, "an f32 cache rounds differently from the default f16 one");
    // The generation near the cap stops when the cache is full (the runtime's rule: the last
    // sampled token needs no cache position); the prompt over the cap fails its row only.
    assertEquals("length", out.get(2).getStruct(3).getAs("finish_reason"));
    assertEquals(
        maxSeqLen + 1,
        out.get(2).getStruct(3).<Integer>getAs("prompt_tokens")
            + out.get(2).getStruct(3).<Integer>getAs("completion_tokens"));
    assertError(out.get(1), "max_seq_len " + maxSeqLen);
  }

  @Test
  void badKvCacheOptionsAreRefusedNamingTheParam() {
    IllegalArgumentException dtype =
        assertThrows(IllegalArgumentException.class, () -> sampling().setKvDtype("f8"));
    assertTrue(dtype.getMessage().contains("kvDtype"), dtype.getMessage());
    assertThrows(IllegalArgumentException.class, () -> sampling().setMaxSeqLen(-1));
    IllegalArgumentException cache =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                sampling()
                    .setMaxSeqLen(512)
                    .setKvCacheTokens(100)
                    .transformSchema(prompts(1, 1).schema()));
    assertTrue(cache.getMessage().contains("kv_cache_tokens 100"), cache.getMessage());
  }

  private static final String VERDICT =
      "{\"type\": \"object\", \"required\": [\"label\", \"scores\"], \"properties\": {"
          + "\"label\": {\"enum\": [\"spam\", \"ham\"]}, \"scores\": {\"type\": \"array\", \"items\": {\"type\": \"integer\"},"
          + " \"maxItems\": 3}, \"note\": {\"type\": [\"string\", \"null\"], \"maxLength\": 10}}}";

  @Test
  void aResponseFormatConstrainsEveryRowAsTheRuntimeDoes() {
    String format =
        "{\"type\": \"json_schema\", \"json_schema\": {\"name\": \"verdict\", \"schema\": "
            + VERDICT
            + "}}";
    List<Row> out =
        sampling()
            .setResponseFormat(format)
            .setTemperature(1.0)
            .setMaxNewTokens(48)
            .transform(prompts(24, 3))
            .orderBy("id")
            .collectAsList();
    Schema validator =
        SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
            .getSchema(VERDICT, InputFormat.JSON);
    int complete = 0;
    for (Row row : out) {
      Row g = row.getStruct(3);
      assertNull(g.getAs("error"));
      if (g.<Boolean>getAs("incomplete")) {
        assertEquals("length", g.getAs("finish_reason"));
        continue;
      }
      complete++;
      assertEquals("stop", g.getAs("finish_reason"));
      assertTrue(
          validator.validate(g.<String>getAs("text"), InputFormat.JSON).isEmpty(),
          g.<String>getAs("text"));
    }
    assertTrue(complete >= 20, complete + " of 24 complete");
    // Any partitioning gives a row what the runtime alone gives it.
    SamplingParams alone =
        SamplingParams.builder()
            .temperature(1.0)
            .topK(50)
            .maxNewTokens(48)
            .seed(Seeds.forRow("5", SEED))
            .responseFormat(CompiledFormat.compile(ResponseFormat.parse(format)))
            .build();
    assertSame(directly("Tell me about topic 2", alone), out.get(5).getStruct(3));
  }

  @Test
  void aBadResponseFormatFailsTransformNamingTheFault() {
    Dataset<Row> input = prompts(2, 1);
    String format =
        "{\"type\": \"json_schema\", \"json_schema\": {\"schema\": {\"type\": \"object\","
            + " \"properties\": {\"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"format\": \"email\"}}}}}}";
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> sampling().setResponseFormat(format).transform(input));
    assertEquals(
        "response_format schema at /properties/tags/items: unsupported keyword 'format'",
        e.getMessage());
    IllegalArgumentException regex =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                sampling()
                    .setResponseFormat("{\"type\": \"regex\", \"regex\": \"\\\\w+\"}")
                    .transform(input));
    assertTrue(regex.getMessage().contains("unsupported the escape \\w"), regex.getMessage());
  }

  @Test
  void savesAndLoadsItsParams(@TempDir Path dir) throws Exception {
    DbrxGenerator generator =
        sampling()
            .setStop("\n\n", "END")
            .setLogprobs(true)
            .setSystemPrompt("Be terse.")
            .setMaxNewTokensCol("max_new")
            .setChunkRows(7)
            .setResponseFormat("{\"type\": \"choice\", \"choice\": [\"a\", \"b\"]}");
    generator.write().overwrite().save(dir.resolve("gen").toString());
    DbrxGenerator loaded = DbrxGenerator.load(dir.resolve("gen").toString());

    assertEquals(generator.uid(), loaded.uid());
    assertEquals(generator.getModelLocation(), loaded.getModelLocation());
    assertArrayEquals(generator.getStop(), loaded.getStop());
    assertEquals(0.9, loaded.getTemperature());
    assertEquals(SEED, loaded.getSeed());
    assertEquals("Be terse.", loaded.getSystemPrompt());
    assertEquals("max_new", loaded.getMaxNewTokensCol());
    assertEquals(7, loaded.getChunkRows());
    assertTrue(loaded.getLogprobs());
    assertTrue(loaded.getPrefixCaching());
    assertFalse(sampling().setPrefixCaching(false).getPrefixCaching());
    assertEquals(generator.getInputCol(), loaded.getInputCol());
    assertEquals(generator.getMaxSequences(), loaded.getMaxSequences());
    assertEquals(generator.getResponseFormat(), loaded.getResponseFormat());
  }

  @Test
  void schemaErrorsNameTheParamAndColumn() {
    Dataset<Row> input = prompts(1, 1);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> sampling().setInputCol("missing").transform(input));
    assertTrue(
        e.getMessage().contains("inputCol: column 'missing' does not exist"), e.getMessage());
    IllegalArgumentException type =
        assertThrows(
            IllegalArgumentException.class,
            () -> sampling().setMaxNewTokensCol("prompt").transform(input));
    assertTrue(type.getMessage().contains("must be an integer, not string"), type.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new DbrxGenerator().transform(input));
  }
}
