package org.dbrxspark.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.kernels.CpuBackend;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.Step;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ScorerAndEmbedderTest {
  private static Backend kernels;
  private static DbrxModel model;
  private static final int[] TEXT = {5, 900, 17, 333, 1023, 0, 64, 12};

  /** For results compared with {@code model.forward} on the model's own (f32) caches. */
  private static final EngineOptions F32_KV = new EngineOptions(2048, 32, 0, KvDType.F32, 0);

  @BeforeAll
  static void load() throws Exception {
    kernels = new CpuBackend(2);
    model = DbrxModel.load(EngineTest.golden("small-f32-sharded"), kernels);
  }

  @AfterAll
  static void close() {
    model.close();
    kernels.close();
  }

  @Test
  void tokenLogprobsAreTheLogSoftmaxOfThePredictingPositions() {
    ScoreResult r =
        new Scorer(model, F32_KV).score(List.of(new ScoreRequest(new int[0], TEXT))).get(0);
    int vocab = model.config().vocabSize();
    float[] hidden = model.forward(List.of(new Step(model.newCache(), TEXT, true)));
    float[] logits = new float[TEXT.length * vocab];
    model.logits(hidden, TEXT.length, logits);
    assertEquals(TEXT.length - 1, r.tokenCount());
    double sum = 0;
    for (int t = 1; t < TEXT.length; t++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int v = 0; v < vocab; v++) {
        max = Math.max(max, logits[(t - 1) * vocab + v]);
      }
      double z = 0;
      for (int v = 0; v < vocab; v++) {
        z += Math.exp(logits[(t - 1) * vocab + v] - max);
      }
      double expected = logits[(t - 1) * vocab + TEXT[t]] - max - Math.log(z);
      assertEquals(expected, r.tokenLogprobs()[t - 1], 1e-5);
      sum += expected;
    }
    assertEquals(sum, r.logprobSum(), 1e-4);
    double perplexity = Math.exp(-sum / (TEXT.length - 1));
    // Relative: the per-token log-probs are floats, and exp magnifies their rounding.
    assertEquals(perplexity, r.perplexity(), perplexity * 1e-6);
  }

  @Test
  void aPrefixConditionsTheTextAndIsNotScored() {
    Scorer scorer = new Scorer(model, EngineOptions.defaults());
    int[] prefix = Arrays.copyOf(TEXT, 3);
    int[] rest = Arrays.copyOfRange(TEXT, 3, TEXT.length);
    List<ScoreResult> results =
        scorer.score(List.of(new ScoreRequest(new int[0], TEXT), new ScoreRequest(prefix, rest)));
    float[] whole = results.get(0).tokenLogprobs();
    assertArrayEquals(Arrays.copyOfRange(whole, 2, whole.length), results.get(1).tokenLogprobs());
  }

  @Test
  void unscorableTextsReportAnErrorAndDoNotStopTheBatch() {
    List<ScoreResult> results =
        new Scorer(model, new EngineOptions(4, 4))
            .score(
                List.of(
                    new ScoreRequest(new int[0], new int[] {5}),
                    new ScoreRequest(new int[0], TEXT),
                    new ScoreRequest(new int[0], new int[] {5, 99999})));
    assertEquals(
        "a single token has nothing to be conditioned on: give a prefix or a longer text",
        results.get(0).error());
    assertNull(results.get(1).error());
    assertEquals(TEXT.length - 1, results.get(1).tokenCount());
    assertEquals(
        "prefix + text token id 99999 is outside the vocabulary [0, 2048)", results.get(2).error());
    assertTrue(Double.isNaN(results.get(2).perplexity()));
  }

  @Test
  void embeddingsAreUnitLengthAndIndependentOfTheBatch() {
    Embedder embedder = new Embedder(model, new EngineOptions(10, 4));
    int[] other = {7, 7, 7};
    List<EmbeddingResult> batch = embedder.embed(List.of(TEXT, other, TEXT), Pooling.MEAN);
    EmbeddingResult alone = embedder.embed(List.of(TEXT), Pooling.MEAN).get(0);
    assertArrayEquals(alone.vector(), batch.get(0).vector());
    assertArrayEquals(alone.vector(), batch.get(2).vector());
    assertEquals(model.config().dModel(), alone.vector().length);
    assertEquals(TEXT.length, alone.tokenCount());
    double norm = 0;
    for (float v : alone.vector()) {
      norm += v * v;
    }
    assertEquals(1.0, norm, 1e-5);
  }

  @Test
  void lastTokenPoolingIsTheNormalisedFinalStateOfTheLastToken() {
    float[] last = new Embedder(model, F32_KV).embed(List.of(TEXT), Pooling.LAST).get(0).vector();
    float[] hidden = model.forward(List.of(new Step(model.newCache(), TEXT, false)));
    double norm = 0;
    for (float v : hidden) {
      norm += v * v;
    }
    for (int i = 0; i < hidden.length; i++) {
      assertEquals(hidden[i] / Math.sqrt(norm), last[i], 1e-6);
    }
    float[] mean =
        new Embedder(model, EngineOptions.defaults())
            .embed(List.of(TEXT), Pooling.MEAN)
            .get(0)
            .vector();
    assertTrue(!Arrays.equals(mean, last));
  }

  @Test
  void anEmptyTextIsAnErrorRow() {
    EmbeddingResult r =
        new Embedder(model, EngineOptions.defaults())
            .embed(List.of(new int[0]), Pooling.MEAN)
            .get(0);
    assertEquals("empty text", r.error());
    assertEquals(0, r.vector().length);
  }
}
