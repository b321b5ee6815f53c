package org.dbrxspark.udfs.ml;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.GenerationResult;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.engine.TokenLogprob;
import org.dbrxspark.udfs.FirstAttemptFailures;
import org.dbrxspark.udfs.TestSpark;
import org.dbrxspark.udfs.inference.Seeds;
import org.dbrxspark.udfs.sql.DbrxFunctions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The sampling controls through the transformer and the SQL functions: each reaches the engine as
 * the runtime takes it, n samples are deterministic per row, and the two surfaces agree.
 */
class SamplingControlsSparkTest {
  private static final long SEED = DbrxGeneratorTest.SEED;
  private static SparkSession spark;
  private static Path checkpoint;
  private static DbrxRuntime direct;

  /** Every new control at once; logit bias pushes '.' up and bans '\n'; ',' stops. */
  private static final String CONTROLS =
      "\"temperature\": 0.9, \"top_k\": 50, \"max_new_tokens\": 8, \"min_tokens\": 3, \"n\": 3,"
          + " \"presence_penalty\": 0.5, \"frequency_penalty\": 0.3,"
          + " \"logit_bias\": {\"13\": 2.5, \"198\": -100}, \"stop_token_ids\": [11],"
          + " \"logprobs\": true, \"top_logprobs\": 2";

  private static final UserDefinedFunction ROW_SEED =
      udf((UDF1<Long, Long>) id -> Seeds.forRow(Long.toString(id), SEED), DataTypes.LongType);

  @BeforeAll
  static void setUp() throws Exception {
    spark = TestSpark.session();
    checkpoint = TestSpark.tinyCheckpoint();
    direct = DbrxRuntime.load(checkpoint, 2, EngineOptions.defaults());
    DbrxFunctions.register(spark, DbrxFunctions.Options.of(checkpoint.toString()));
  }

  @AfterAll
  static void tearDown() {
    direct.close();
  }

  /** {@link DbrxGeneratorTest#prompts} with each row's seed, for the SQL call. */
  private static Dataset<Row> prompts(int n, int partitions) {
    return DbrxGeneratorTest.prompts(n, partitions)
        .withColumn("row_seed", ROW_SEED.apply(col("id")))
        .drop("note");
  }

  /** {@link DbrxGeneratorTest#sampling()} with every new control set. */
  private static DbrxGenerator controlled() {
    return DbrxGeneratorTest.sampling()
        .setMaxNewTokens(8)
        .setMinTokens(3)
        .setN(3)
        .setPresencePenalty(0.5)
        .setFrequencyPenalty(0.3)
        .setLogitBias(Map.of(13, 2.5, 198, -100.0))
        .setStopTokenIds(11)
        .setLogprobs(true)
        .setTopLogprobs(2);
  }

  /** The same settings as the runtime takes them, for a row's seed. */
  private static SamplingParams runtimeParams(long seed) {
    return DbrxGeneratorTest.params(seed, 8).toBuilder()
        .minTokens(3)
        .n(3)
        .presencePenalty(0.5)
        .frequencyPenalty(0.3)
        .logitBias(Map.of(13, 2.5, 198, -100.0))
        .stopTokenIds(List.of(11))
        .logprobs(true)
        .topLogprobs(2)
        .build();
  }

  private static Map<Long, Row> byId(Dataset<Row> rows, String column) {
    Map<Long, Row> out = new TreeMap<>();
    rows.collectAsList().forEach(r -> out.put(r.getLong(0), r.getStruct(r.fieldIndex(column))));
    return out;
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyControlReachesTheEngineFromParamsAsFromSql() {
    Dataset<Row> input = prompts(4, 2);
    Map<Long, Row> transformed = byId(controlled().transform(input), "generation");
    Map<Long, Row> sql =
        byId(
            input.selectExpr(
                "id",
                "dbrx_generate(prompt, concat('{\"seed\": ', row_seed, ', "
                    + CONTROLS
                    + "}'))"
                    + " AS g"),
            "g");
    assertEquals(transformed, sql, "Params and params_json give the same rows");
    for (Row in : input.collectAsList()) {
      GenerationResult expected =
          direct
              .engine()
              .generate(
                  List.of(
                      new GenerationRequest(
                          direct.tokenizer().encode(in.getString(1)),
                          runtimeParams(in.getLong(2)))))
              .get(0);
      Row actual = transformed.get(in.getLong(0));
      assertNull(actual.getAs("error"));
      List<Row> samples = actual.getList(actual.fieldIndex("samples"));
      assertEquals(3, samples.size());
      for (int s = 0; s < 3; s++) {
        GenerationResult want = expected.samples().get(s);
        Row got = samples.get(s);
        assertEquals(want.text(), got.getAs("text"), "sample " + s);
        assertEquals(want.finishReason().label(), got.getAs("finish_reason"));
        assertEquals(want.completionTokens(), (int) got.getAs("completion_tokens"));
        assertTrue(want.completionTokens() >= 3, "min_tokens");
        List<Object> top = got.getList(got.fieldIndex("top_logprobs"));
        assertEquals(want.completionTokens(), top.size());
        for (int t = 0; t < top.size(); t++) {
          TokenLogprob[] w = want.topLogprobs()[t];
          // Arrays nested in an array come back as Scala sequences.
          List<Row> alternatives =
              CollectionConverters.asJava((scala.collection.Seq<Row>) top.get(t));
          assertEquals(2, alternatives.size());
          for (int k = 0; k < 2; k++) {
            Row alt = alternatives.get(k);
            assertEquals(w[k].token(), (int) alt.getAs("token_id"));
            assertEquals(w[k].logprob(), (float) alt.getAs("logprob"));
            String text = alt.getAs("token");
            if (direct.tokenizer().isProducible(w[k].token())) {
              assertEquals(direct.tokenizer().decode(new int[] {w[k].token()}), text);
            } else {
              assertNull(text, "padding ids have no text");
            }
          }
        }
      }
      assertEquals(expected.text(), actual.getAs("text"), "the row's own fields are sample 0's");
    }
  }

  @Test
  void sampleZeroIsTheSingleOutputAndSamplesFollowTheRowWhateverThePartitioning() {
    Map<Long, Row> reference = byId(controlled().transform(prompts(6, 1)), "generation");
    assertEquals(
        reference, byId(controlled().setChunkRows(2).transform(prompts(6, 3)), "generation"));
    assertEquals(
        reference, byId(controlled().setMaxSequences(2).transform(prompts(6, 2)), "generation"));
    List<Row> retried =
        controlled()
            .transform(prompts(6, 2))
            .where(FirstAttemptFailures.passEveryRow(col("generation.text")))
            .collectAsList();
    Map<Long, Row> afterRetry = new TreeMap<>();
    retried.forEach(r -> afterRetry.put(r.getLong(0), r.getStruct(3)));
    assertEquals(reference, afterRetry, "a retried task draws the same samples");

    Map<Long, Row> single = byId(controlled().setN(1).transform(prompts(6, 2)), "generation");
    for (long id = 0; id < 6; id++) {
      Row one = single.get(id);
      assertNull(one.getAs("samples"), "n = 1 has no samples array");
      Row first = reference.get(id).<Row>getList(reference.get(id).fieldIndex("samples")).get(0);
      String text = one.getAs("text");
      assertEquals(text, first.<String>getAs("text"), "row " + id);
      assertEquals(text, reference.get(id).<String>getAs("text"));
    }
  }

  /** The message of the error {@code transform} fails with on the driver. */
  private static String refusal(DbrxGenerator generator, Dataset<Row> input) {
    return assertThrows(IllegalArgumentException.class, () -> generator.transform(input))
        .getMessage();
  }

  @Test
  void badControlsAreRefusedByName() {
    Dataset<Row> input = prompts(2, 1);
    assertEquals(
        "logit_bias key 'dot' is not a token id",
        refusal(controlled().setLogitBias("{\"dot\": 1}"), input));
    assertEquals(
        "min_tokens must be in [0, max_new_tokens 8], got 9",
        refusal(controlled().setMinTokens(9), input));
    // Ids are checked against the model's vocabulary, which only the executor knows: row errors.
    List<Row> outside =
        controlled().setLogitBias(Map.of(100352, 1.0)).transform(input).collectAsList();
    for (Row r : outside) {
      assertEquals(
          "logit_bias token id 100352 is outside the vocabulary [0, 100352)",
          r.getStruct(3).getAs("error"));
    }
    List<Row> sql =
        spark
            .sql("SELECT dbrx_generate('Hi', concat('{\"stop_token_ids\": [', '-1]}')) AS g")
            .collectAsList();
    assertEquals(
        "a stop_token_ids id must be >= 0, got -1", sql.get(0).getStruct(0).getAs("error"));
    assertArrayEquals(new int[] {11}, controlled().getStopTokenIds());
  }
}
