package org.dbrxspark.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.kernels.CpuBackend;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.KvBlockPool;
import org.dbrxspark.runtime.model.PrefixCacheCounts;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Generation with the prefix cache on gives exactly what it gives with the cache off. */
class PrefixCachingTest {
  private static Backend kernels;
  private static DbrxModel model;
  private static DbrxTokenizer tokenizer;

  @BeforeAll
  static void load() throws Exception {
    kernels = new CpuBackend(2);
    model = DbrxModel.load(EngineTest.golden("tiny-bf16"), kernels);
    tokenizer = DbrxTokenizer.shared();
  }

  @AfterAll
  static void close() {
    model.close();
    kernels.close();
  }

  private static int[] tokens(int length, int salt) {
    int[] ids = new int[length];
    for (int i = 0; i < length; i++) {
      ids[i] = (31 * i + 7 * salt + 3) % 1024;
    }
    return ids;
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = new int[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static GenerationRequest request(int[] prompt, long seed, int maxNew) {
    return new GenerationRequest(
        prompt,
        SamplingParams.builder()
            .temperature(0.9)
            .topP(0.95)
            .seed(seed)
            .maxNewTokens(maxNew)
            .build());
  }

  private static Engine engine(EngineOptions options) {
    return new Engine(model, tokenizer, options);
  }

  private static void assertSameOutputs(
      List<GenerationResult> expected, List<GenerationResult> actual, String what) {
    assertEquals(expected.size(), actual.size());
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(
          expected.get(i).completion(), actual.get(i).completion(), what + ", request " + i);
      assertEquals(expected.get(i).text(), actual.get(i).text(), what + ", request " + i);
    }
  }

  /**
   * Prompts sharing prefixes of 10 (under a block), 40 and 70 tokens with suffixes of 1 to 20
   * tokens, exact repeats of 32 and 33 tokens (whole blocks, cached in full), and unrelated ones.
   */
  private static List<GenerationRequest> sharedPrefixRequests() {
    List<GenerationRequest> requests = new ArrayList<>();
    int[][] prefixes = {tokens(10, 1), tokens(40, 2), tokens(70, 3)};
    int seed = 0;
    for (int[] prefix : prefixes) {
      for (int suffix : new int[] {1, 6, 16, 20}) {
        requests.add(request(concat(prefix, tokens(suffix, 100 + seed)), seed, 6));
        seed++;
      }
    }
    for (int repeat = 0; repeat < 2; repeat++) {
      requests.add(request(tokens(32, 4), seed++, 5));
      requests.add(request(tokens(33, 5), seed++, 5));
    }
    requests.add(request(tokens(25, 6), seed++, 8));
    requests.add(request(tokens(3, 7), seed, 8));
    return requests;
  }

  @Test
  void outputsAreTheSameWithTheCacheOnAndOffInAnyOrderAndBatching() {
    List<GenerationRequest> requests = sharedPrefixRequests();
    List<GenerationResult> off =
        engine(EngineOptions.defaults().withPrefixCaching(false)).generate(requests);
    Random random = new Random(11);
    // Ample batching admits every request in the first step, where none can share another's new
    // blocks; 48 tokens and 3 sequences per step admit them a few at a time.
    for (EngineOptions on :
        List.of(EngineOptions.defaults(), new EngineOptions(48, 3, 0, KvDType.F16, 8192))) {
      // One engine across the shuffles: later calls start with a warm cache.
      Engine engine = engine(on);
      for (int round = 0; round < 3; round++) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
          order.add(i);
        }
        Collections.shuffle(order, random);
        List<GenerationRequest> shuffled = order.stream().map(requests::get).toList();
        PrefixCacheCounts counts = new PrefixCacheCounts();
        List<GenerationResult> results = engine.generate(shuffled, (i, text) -> {}, counts);
        List<GenerationResult> inOrder =
            new ArrayList<>(Collections.nCopies(requests.size(), null));
        for (int i = 0; i < order.size(); i++) {
          inOrder.set(order.get(i), results.get(i));
        }
        assertSameOutputs(off, inOrder, on + " round " + round);
        if (round > 0 || on.maxSequences() == 3) {
          assertTrue(counts.hitBlocks() > 0, on + " round " + round + " shares blocks");
        }
        if (round > 0) {
          assertEquals(0, counts.missBlocks(), "a warm cache holds every shareable block");
        }
      }
    }
  }

  @Test
  void aPromptThatIsCachedInFullStillComputesItsLastToken() {
    Engine engine = engine(EngineOptions.defaults());
    Engine reference = engine(EngineOptions.defaults().withPrefixCaching(false));
    for (int length : new int[] {16, 32, 33}) {
      GenerationRequest r = request(tokens(length, 8 + length), length, 4);
      GenerationResult expected = reference.generate(List.of(r)).get(0);
      engine.generate(List.of(r));
      PrefixCacheCounts counts = new PrefixCacheCounts();
      GenerationResult again = engine.generate(List.of(r), (i, text) -> {}, counts).get(0);
      assertArrayEquals(expected.completion(), again.completion(), length + " tokens");
      // All full blocks but the one holding the last prompt token come from the cache.
      assertEquals((length - 1) / KvBlockPool.BLOCK_TOKENS, counts.hitBlocks(), length + " tokens");
      assertEquals(0, counts.missBlocks());
    }
  }

  @Test
  void concurrentCallsSharingOnePoolShareItsCacheAndChangeNoOutput() throws Exception {
    List<GenerationRequest> requests = sharedPrefixRequests();
    List<GenerationResult> off =
        engine(EngineOptions.defaults().withPrefixCaching(false)).generate(requests);
    // A small budget admits a few at a time, so each call finds blocks the other computed.
    Engine shared = engine(new EngineOptions(64, 4, 0, KvDType.F16, 8192));
    int half = requests.size() / 2;
    ExecutorService threads = Executors.newFixedThreadPool(2);
    try {
      PrefixCacheCounts first = new PrefixCacheCounts();
      PrefixCacheCounts second = new PrefixCacheCounts();
      Future<List<GenerationResult>> a =
          threads.submit(() -> shared.generate(requests.subList(0, half), (i, text) -> {}, first));
      Future<List<GenerationResult>> b =
          threads.submit(
              () ->
                  shared.generate(
                      requests.subList(half, requests.size()), (i, text) -> {}, second));
      List<GenerationResult> all = new ArrayList<>(a.get(2, TimeUnit.MINUTES));
      all.addAll(b.get(2, TimeUnit.MINUTES));
      assertSameOutputs(off, all, "two concurrent calls");
      assertTrue(first.hitBlocks() + second.hitBlocks() > 0);
    } finally {
      threads.shutdownNow();
    }
  }

  /** Four blocks of 16 positions and a 64-token context. */
  private static EngineOptions tightKv(long kvCacheTokens, boolean prefixCaching) {
    return new EngineOptions(2048, 8, 64, KvDType.F16, kvCacheTokens, prefixCaching);
  }

  @Test
  void aTinyKvBudgetEvictsCachedBlocksAndChangesNoOutput() {
    List<GenerationRequest> requests = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      requests.add(request(concat(tokens(18 + i, 20 + i), tokens(3, 40 + i)), i, 6));
    }
    List<GenerationResult> off = engine(tightKv(0, false)).generate(requests);
    KvBlockPool pool = tightKv(64, true).newKvPool(model);
    Engine engine = new Engine(model, tokenizer, tightKv(64, true), pool);
    PrefixCacheCounts counts = new PrefixCacheCounts();
    assertSameOutputs(off, engine.generate(requests, (i, text) -> {}, counts), "first pass");
    assertSameOutputs(off, engine.generate(requests, (i, text) -> {}, counts), "second pass");
    assertTrue(counts.evictedBlocks() > 0, "six distinct prefixes do not fit four blocks");
    assertEquals(4, pool.allocated());
    assertEquals(0, pool.taken());
  }

  @Test
  void preemptedSequencesRecomputeFromTheirCachedBlocksWithTheSameOutputs() {
    // Five sequences with a shared 20-token prefix outgrow a four-block pool: the newest are
    // preempted and re-admitted, finding their own blocks again unless they were evicted.
    List<GenerationRequest> requests = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      requests.add(request(concat(tokens(20, 9), tokens(2 + i, 60 + i)), i, 24));
    }
    List<GenerationResult> off = engine(tightKv(0, false)).generate(requests);
    KvBlockPool pool = tightKv(64, true).newKvPool(model);
    PrefixCacheCounts counts = new PrefixCacheCounts();
    List<GenerationResult> tight =
        new Engine(model, tokenizer, tightKv(64, true), pool)
            .generate(requests, (i, text) -> {}, counts);
    assertSameOutputs(off, tight, "tight pool with prefix caching");
    for (GenerationResult r : tight) {
      assertEquals(24, r.completionTokens());
    }
    assertTrue(counts.hitBlocks() > 0);
    assertEquals(0, pool.taken());
  }
}
