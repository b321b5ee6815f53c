package org.dbrxspark.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.kernels.CpuBackend;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.KvBlockPool;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Continuous batching, sampling and stop rules on the tiny golden checkpoint. */
class EngineTest {
  private static Backend kernels;
  private static DbrxModel model;
  private static DbrxTokenizer tokenizer;

  private static final int[] PROMPT = {5, 900, 17, 333, 1023, 0, 64};

  @BeforeAll
  static void load() throws Exception {
    kernels = new CpuBackend(2);
    model = DbrxModel.load(golden("tiny-bf16"), kernels);
    tokenizer = DbrxTokenizer.shared();
  }

  @AfterAll
  static void close() {
    model.close();
    kernels.close();
  }

  static Path golden(String name) throws Exception {
    return Path.of(EngineTest.class.getResource("/golden/" + name).toURI());
  }

  private static Engine engine(int maxBatchTokens, int maxSequences) {
    return new Engine(model, tokenizer, new EngineOptions(maxBatchTokens, maxSequences));
  }

  private static SamplingParams.Builder sampled(long seed) {
    return SamplingParams.builder().temperature(0.9).topP(0.95).seed(seed).maxNewTokens(12);
  }

  @Test
  void greedyGenerationReproducesTheReferenceContinuation() throws Exception {
    String[] expected =
        Files.readString(golden("tiny-bf16").resolve("expected-greedy.txt")).trim().split(",");
    int[] continuation =
        Arrays.stream(expected).skip(PROMPT.length).mapToInt(Integer::parseInt).toArray();
    SamplingParams greedy =
        SamplingParams.builder().maxNewTokens(continuation.length).maskUnproducible(false).build();
    GenerationResult result =
        engine(2048, 8).generate(List.of(new GenerationRequest(PROMPT, greedy))).get(0);
    assertArrayEquals(continuation, result.completion());
    assertEquals(FinishReason.LENGTH, result.finishReason());
    assertEquals(PROMPT.length, result.promptTokens());
  }

  @Test
  void aSeededRequestGivesTheSameOutputWhateverItIsBatchedWith() {
    GenerationRequest probe = new GenerationRequest(PROMPT, sampled(42).build());
    GenerationResult alone = engine(2048, 8).generate(List.of(probe)).get(0);
    List<GenerationRequest> crowd = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      int[] other = new int[3 + 4 * i];
      Arrays.fill(other, 100 + i);
      crowd.add(new GenerationRequest(other, sampled(i).maxNewTokens(4 + i).build()));
      if (i == 3) {
        crowd.add(probe);
      }
    }
    // A tight budget and few slots: the probe joins mid-flight, next to sequences at other stages.
    GenerationResult batched = engine(24, 3).generate(crowd).get(4);
    assertArrayEquals(alone.completion(), batched.completion());
    assertEquals(alone.text(), batched.text());
  }

  @Test
  void differentSeedsSampleDifferentContinuations() {
    Engine engine = engine(2048, 8);
    GenerationResult a =
        engine.generate(List.of(new GenerationRequest(PROMPT, sampled(1).build()))).get(0);
    GenerationResult b =
        engine.generate(List.of(new GenerationRequest(PROMPT, sampled(2).build()))).get(0);
    assertFalse(Arrays.equals(a.completion(), b.completion()));
  }

  @Test
  void generationLogprobsEqualTheScorersForTheSameTokens() {
    SamplingParams params = sampled(7).logprobs(true).build();
    GenerationResult generated =
        engine(2048, 8).generate(List.of(new GenerationRequest(PROMPT, params))).get(0);
    ScoreResult scored =
        new Scorer(model, EngineOptions.defaults())
            .score(List.of(new ScoreRequest(PROMPT, generated.completion())))
            .get(0);
    assertArrayEquals(scored.tokenLogprobs(), generated.logprobs());
  }

  @Test
  void aStopStringEndsGenerationAndIsNotReturned() {
    SamplingParams free = SamplingParams.builder().maxNewTokens(24).build();
    String full =
        engine(2048, 8).generate(List.of(new GenerationRequest(PROMPT, free))).get(0).text();
    assertTrue(full.length() > 10, "need some text to cut: " + full);
    String stop = full.substring(6, 9);
    int cut = full.indexOf(stop);
    StringBuilder streamed = new StringBuilder();
    GenerationResult stopped =
        engine(2048, 8)
            .generate(
                List.of(
                    new GenerationRequest(
                        PROMPT, free.toBuilder().stopStrings(List.of(stop)).build())),
                (index, delta) -> streamed.append(delta))
            .get(0);
    assertEquals(full.substring(0, cut), stopped.text());
    assertEquals(FinishReason.STOP, stopped.finishReason());
    assertEquals(stopped.text(), streamed.toString());
  }

  @Test
  void maxNewTokensEndsGenerationWithReasonLength() {
    GenerationResult r =
        engine(2048, 8)
            .generate(List.of(new GenerationRequest(PROMPT, sampled(3).maxNewTokens(5).build())))
            .get(0);
    assertEquals(5, r.completionTokens());
    assertEquals(FinishReason.LENGTH, r.finishReason());
    assertEquals("length", r.finishReason().label());
  }

  @Test
  void badRequestsFailAloneAndTheirNeighboursComplete() {
    SamplingParams params = SamplingParams.builder().maxNewTokens(3).build();
    List<GenerationResult> results =
        engine(2048, 8)
            .generate(
                List.of(
                    new GenerationRequest(PROMPT, params),
                    new GenerationRequest(new int[0], params),
                    new GenerationRequest(new int[] {1, 2, 4096}, params),
                    new GenerationRequest(new int[model.config().maxSeqLen()], params),
                    new GenerationRequest(PROMPT, params)));
    assertEquals("empty prompt", results.get(1).error());
    assertEquals(
        "prompt token id 4096 is outside the vocabulary [0, 1024)", results.get(2).error());
    assertEquals(
        "prompt of 256 tokens is over the limit of 255 (max_seq_len 256)", results.get(3).error());
    for (int i = 1; i <= 3; i++) {
      assertEquals(FinishReason.ERROR, results.get(i).finishReason());
      assertEquals(0, results.get(i).completionTokens());
    }
    assertNull(results.get(0).error());
    assertArrayEquals(results.get(0).completion(), results.get(4).completion());
    assertEquals(3, results.get(4).completionTokens());
  }

  @Test
  void generationStopsAtMaxSeqLen() {
    int[] longPrompt = new int[model.config().maxSeqLen() - 3];
    Arrays.fill(longPrompt, 7);
    GenerationResult r =
        engine(4096, 8)
            .generate(
                List.of(
                    new GenerationRequest(
                        longPrompt, SamplingParams.builder().maxNewTokens(50).build())))
            .get(0);
    assertEquals(FinishReason.LENGTH, r.finishReason());
    assertEquals(4, r.completionTokens());
  }

  @Test
  void sampledOutputDiffersFromGreedyButStaysInTheVocabulary() {
    GenerationResult greedy =
        engine(2048, 8)
            .generate(
                List.of(
                    new GenerationRequest(
                        PROMPT, SamplingParams.builder().maxNewTokens(12).build())))
            .get(0);
    GenerationResult hot =
        engine(2048, 8)
            .generate(
                List.of(new GenerationRequest(PROMPT, sampled(5).temperature(2.0).topP(1).build())))
            .get(0);
    assertNotEquals(Arrays.toString(greedy.completion()), Arrays.toString(hot.completion()));
    for (int id : hot.completion()) {
      assertTrue(id >= 0 && id < model.config().vocabSize());
    }
  }

  /** Four blocks of 16 positions and a 64-token context: two 20-token prompts fill the pool. */
  private static EngineOptions tightKv(long kvCacheTokens) {
    return new EngineOptions(2048, 8, 64, KvDType.F16, kvCacheTokens);
  }

  private static List<GenerationRequest> growingRequests() {
    List<GenerationRequest> requests = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      int[] prompt = new int[14 + 3 * i];
      for (int t = 0; t < prompt.length; t++) {
        prompt[t] = (31 * t + 7 * i) % 1024;
      }
      requests.add(new GenerationRequest(prompt, sampled(i).maxNewTokens(24).build()));
    }
    return requests;
  }

  @Test
  void underATightKvBudgetEveryRequestFinishesAsWithAnAmpleOne() {
    List<GenerationRequest> requests = growingRequests();
    List<GenerationResult> ample = new Engine(model, tokenizer, tightKv(0)).generate(requests);
    KvBlockPool pool = tightKv(64).newKvPool(model);
    // Every sequence passes 32 positions, so the running ones outgrow the pool and are preempted.
    List<GenerationResult> tight =
        new Engine(model, tokenizer, tightKv(64), pool).generate(requests);
    for (int i = 0; i < requests.size(); i++) {
      assertEquals(24, tight.get(i).completionTokens());
      assertArrayEquals(ample.get(i).completion(), tight.get(i).completion(), "request " + i);
      assertEquals(ample.get(i).text(), tight.get(i).text());
    }
    assertEquals(4, pool.allocated());
    assertEquals(0, pool.taken(), "every block returned");
  }

  @Test
  void enginesSharingATightPoolWaitForEachOthersBlocks() throws Exception {
    List<GenerationRequest> requests = growingRequests();
    List<GenerationResult> ample = new Engine(model, tokenizer, tightKv(0)).generate(requests);
    KvBlockPool pool = tightKv(64).newKvPool(model);
    Engine shared = new Engine(model, tokenizer, tightKv(64), pool);
    ExecutorService threads = Executors.newFixedThreadPool(2);
    try {
      Future<List<GenerationResult>> first =
          threads.submit(() -> shared.generate(requests.subList(0, 3)));
      Future<List<GenerationResult>> second =
          threads.submit(() -> shared.generate(requests.subList(3, 5)));
      List<GenerationResult> all = new ArrayList<>(first.get(2, TimeUnit.MINUTES));
      all.addAll(second.get(2, TimeUnit.MINUTES));
      for (int i = 0; i < requests.size(); i++) {
        assertArrayEquals(ample.get(i).completion(), all.get(i).completion(), "request " + i);
      }
    } finally {
      threads.shutdownNow();
    }
    assertEquals(0, pool.taken());
  }

  @Test
  void failedRequestsAndFinishedOnesLeaveNoBlocksTaken() {
    KvBlockPool pool = tightKv(64).newKvPool(model);
    SamplingParams params = SamplingParams.builder().maxNewTokens(3).build();
    List<GenerationResult> results =
        new Engine(model, tokenizer, tightKv(64), pool)
            .generate(
                List.of(
                    new GenerationRequest(PROMPT, params),
                    new GenerationRequest(new int[0], params),
                    new GenerationRequest(new int[64], params)));
    assertEquals(
        "prompt of 64 tokens is over the limit of 63 (max_seq_len 64)", results.get(2).error());
    assertEquals(3, results.get(0).completionTokens());
    assertEquals(0, pool.taken());
    new Scorer(model, tightKv(64), pool)
        .score(
            List.of(
                new ScoreRequest(new int[0], PROMPT), new ScoreRequest(new int[0], new int[65])));
    new Embedder(model, tightKv(64), pool)
        .embed(List.of(PROMPT, new int[] {1, 99999}, new int[40], new int[40]), Pooling.MEAN);
    assertEquals(0, pool.taken());
  }

  @Test
  void aKvBudgetBelowOneFullSequenceIsRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> new Engine(model, tokenizer, tightKv(48)));
    assertEquals(
        "kv_cache_tokens 48 cannot hold one sequence of max_seq_len 64; raise it or lower max_seq_len",
        e.getMessage());
  }
}
