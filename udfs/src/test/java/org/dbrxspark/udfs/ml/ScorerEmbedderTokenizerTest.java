package org.dbrxspark.udfs.ml;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.dbrxspark.runtime.checkpoint.GgufQuantizer;
import org.dbrxspark.runtime.engine.EmbeddingResult;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.Pooling;
import org.dbrxspark.runtime.engine.ScoreRequest;
import org.dbrxspark.runtime.engine.ScoreResult;
import org.dbrxspark.udfs.FirstAttemptFailures;
import org.dbrxspark.udfs.TestSpark;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScorerEmbedderTokenizerTest {
  private static SparkSession spark;
  private static Path checkpoint;
  private static DbrxRuntime direct;
  private static Dataset<Row> texts;

  @BeforeAll
  static void setUp() throws Exception {
    spark = TestSpark.session();
    checkpoint = TestSpark.tinyCheckpoint();
    direct = DbrxRuntime.load(checkpoint, 2, EngineOptions.defaults());
    StructType schema =
        new StructType()
            .add("k", DataTypes.IntegerType)
            .add("text", DataTypes.StringType)
            .add("prefix", DataTypes.StringType);
    texts =
        spark
            .createDataFrame(
                List.of(
                    RowFactory.create(0, "The quick brown fox jumps over the lazy dog.", null),
                    RowFactory.create(1, "jumps over the lazy dog", "The quick brown fox"),
                    RowFactory.create(2, null, null),
                    RowFactory.create(3, "", "only a prefix"),
                    RowFactory.create(4, "Spark runs DBRX.", "")),
                schema)
            .coalesce(2);
  }

  @AfterAll
  static void tearDown() {
    direct.close();
  }

  @Test
  void scorerMatchesTheRuntime() {
    DbrxScorer scorer =
        new DbrxScorer()
            .setModelLocation(checkpoint.toString())
            .setThreads(2)
            .setPrefixCol("prefix");
    List<Row> out = scorer.transform(texts).collectAsList();
    assertEquals(
        List.of("k", "text", "prefix", "score"), List.of(scorer.transform(texts).columns()));
    for (int i : new int[] {0, 1, 4}) {
      Row row = out.get(i);
      assertEquals(i, row.getInt(0));
      String prefix = row.getString(2);
      ScoreResult expected =
          direct
              .scorer()
              .score(
                  List.of(
                      new ScoreRequest(
                          prefix == null ? new int[0] : direct.tokenizer().encode(prefix),
                          direct.tokenizer().encode(row.getString(1)))))
              .get(0);
      Row score = row.getStruct(3);
      assertNull(score.getAs("error"));
      assertEquals(expected.logprobSum(), (double) score.getAs("logprob_sum"), 0);
      assertEquals(expected.tokenCount(), (int) score.getAs("token_count"));
      assertEquals(expected.perplexity(), (double) score.getAs("perplexity"), 0);
    }
    assertTrue(((String) out.get(2).getStruct(3).getAs("error")).contains("null"));
    assertTrue(((String) out.get(3).getStruct(3).getAs("error")).contains("empty"));
    assertNull(out.get(3).getStruct(3).getAs("logprob_sum"));
  }

  @Test
  void anF32KvCacheScoresLikeTheRuntimeWithAnF32Cache() throws Exception {
    List<Row> out =
        new DbrxScorer()
            .setModelLocation(checkpoint.toString())
            .setThreads(2)
            .setPrefixCol("prefix")
            .setKvDtype("f32")
            .transform(texts)
            .collectAsList();
    EngineOptions f32 = new EngineOptions(2048, 32, 0, KvDType.F32, 0);
    boolean differsFromF16 = false;
    try (DbrxRuntime same = DbrxRuntime.load(checkpoint, 2, f32)) {
      for (int i : new int[] {0, 1, 4}) {
        Row row = out.get(i);
        String prefix = row.getString(2);
        ScoreRequest request =
            new ScoreRequest(
                prefix == null ? new int[0] : same.tokenizer().encode(prefix),
                same.tokenizer().encode(row.getString(1)));
        ScoreResult expected = same.scorer().score(List.of(request)).get(0);
        assertEquals(expected.logprobSum(), (double) row.getStruct(3).getAs("logprob_sum"), 0);
        differsFromF16 |=
            expected.logprobSum() != direct.scorer().score(List.of(request)).get(0).logprobSum();
      }
    }
    assertTrue(differsFromF16, "the f32 cache reached the runtime: f16 rounds the scores apart");
  }

  @Test
  void aGgufCheckpointIsScoredLikeTheRuntimeScoresIt(@TempDir Path dir) throws Exception {
    Path gguf = dir.resolve("tiny-q8_0.gguf");
    try (Checkpoint source = Checkpoint.open(checkpoint)) {
      GgufQuantizer.write(source, GgufQuantizer.FileType.Q8_0, gguf, 2);
    }
    DbrxScorer scorer =
        new DbrxScorer().setModelLocation(gguf.toString()).setThreads(2).setPrefixCol("prefix");
    List<Row> out = scorer.transform(texts).collectAsList();
    try (DbrxRuntime quantized = DbrxRuntime.load(gguf, 2, EngineOptions.defaults())) {
      for (int i : new int[] {0, 1, 4}) {
        Row row = out.get(i);
        String prefix = row.getString(2);
        ScoreResult expected =
            quantized
                .scorer()
                .score(
                    List.of(
                        new ScoreRequest(
                            prefix == null ? new int[0] : quantized.tokenizer().encode(prefix),
                            quantized.tokenizer().encode(row.getString(1)))))
                .get(0);
        assertEquals(expected.logprobSum(), (double) row.getStruct(3).getAs("logprob_sum"), 0);
      }
    }
  }

  @Test
  void embedderMatchesTheRuntime() {
    for (String pooling : new String[] {"mean", "last"}) {
      DbrxEmbedder embedder =
          new DbrxEmbedder()
              .setModelLocation(checkpoint.toString())
              .setThreads(2)
              .setPooling(pooling)
              .setOutputCol("vec");
      List<Row> out = embedder.transform(texts).collectAsList();
      for (int i : new int[] {0, 1, 4}) {
        Row vec = out.get(i).getStruct(3);
        EmbeddingResult expected =
            direct
                .embedder()
                .embed(
                    List.of(direct.tokenizer().encode(out.get(i).getString(1))),
                    Pooling.valueOf(pooling.toUpperCase()))
                .get(0);
        List<Float> actual = vec.getList(0);
        float[] floats = new float[actual.size()];
        for (int j = 0; j < floats.length; j++) {
          floats[j] = actual.get(j);
        }
        assertArrayEquals(expected.vector(), floats);
        assertEquals(expected.tokenCount(), vec.getInt(1));
      }
      assertTrue(out.get(2).getStruct(3).getString(2).contains("null"));
      assertNull(out.get(2).getStruct(3).get(0));
    }
  }

  @Test
  void retriedTasksScoreAndEmbedAsTheCleanRun() {
    DbrxScorer scorer =
        new DbrxScorer()
            .setModelLocation(checkpoint.toString())
            .setThreads(2)
            .setPrefixCol("prefix");
    DbrxEmbedder embedder =
        new DbrxEmbedder().setModelLocation(checkpoint.toString()).setThreads(2);
    List<Row> clean = embedder.transform(scorer.transform(texts)).collectAsList();
    int before = FirstAttemptFailures.injected();
    List<Row> scoreRetried =
        embedder
            .transform(
                scorer.transform(texts).where(FirstAttemptFailures.passEveryRow(col("score"))))
            .collectAsList();
    int afterScore = FirstAttemptFailures.injected();
    List<Row> embedRetried =
        embedder
            .transform(scorer.transform(texts))
            .where(FirstAttemptFailures.passEveryRow(col(embedder.getOutputCol())))
            .collectAsList();
    assertTrue(afterScore > before, "a scoring task failed its first attempt");
    assertTrue(
        FirstAttemptFailures.injected() > afterScore, "an embedding task failed its first attempt");
    assertEquals(clean, scoreRetried);
    assertEquals(clean, embedRetried);
  }

  @Test
  void tokenizerNeedsNoModel(@TempDir Path dir) throws Exception {
    DbrxTokenEncoder tokenizer = new DbrxTokenEncoder().setChunkRows(2);
    List<Row> out = tokenizer.transform(texts).collectAsList();
    Row first = out.get(0).getStruct(3);
    int[] expected = direct.tokenizer().encode("The quick brown fox jumps over the lazy dog.");
    assertEquals(expected.length, first.getInt(1));
    assertEquals(java.util.Arrays.stream(expected).boxed().toList(), first.getList(0));
    assertTrue(out.get(2).getStruct(3).getString(2).contains("null"));
    assertEquals(0, out.get(3).getStruct(3).getInt(1));
    assertEquals(5, tokenizer.lastMetrics().rows());

    tokenizer.write().save(dir.resolve("tok").toString());
    DbrxTokenEncoder loaded = DbrxTokenEncoder.load(dir.resolve("tok").toString());
    assertEquals(2, loaded.getChunkRows());
    assertEquals(tokenizer.uid(), loaded.uid());
  }
}
