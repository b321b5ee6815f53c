package org.dbrxspark.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.kernels.CpuBackend;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.KvBlockPool;
import org.dbrxspark.runtime.structured.CompiledFormat;
import org.dbrxspark.runtime.structured.ResponseFormat;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.dbrxspark.runtime.tokenizer.SpecialTokens;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * n samples, top log-probs, presence/frequency penalties, min_tokens, logit bias and stop token ids
 * on the tiny golden checkpoints (vocab 1024, and the full DBRX vocabulary for end-of-sequence).
 */
class SamplingControlsTest {
  private static final int[] PROMPT = {5, 900, 17, 333, 1023, 0, 64};

  private static Backend kernels;

  /** Vocabulary 1024, with full reference logits: no end-of-sequence id. */
  private static DbrxModel tiny;

  /** DBRX's vocabulary of 100352, end-of-sequence ids included. */
  private static DbrxModel fullVocab;

  @BeforeAll
  static void load() throws Exception {
    kernels = new CpuBackend(2);
    tiny = golden("tiny-bf16");
    fullVocab = golden("tiny-fullvocab-bf16");
  }

  private static DbrxModel golden(String name) throws Exception {
    return DbrxModel.load(EngineTest.golden(name), kernels);
  }

  @AfterAll
  static void close() {
    tiny.close();
    fullVocab.close();
    kernels.close();
  }

  private static List<GenerationResult> generate(
      DbrxModel model, EngineOptions options, List<GenerationRequest> requests) {
    return new Engine(model, DbrxTokenizer.shared(), options).generate(requests);
  }

  private static GenerationResult generate(SamplingParams params) {
    return generate(
            tiny, new EngineOptions(2048, 8), List.of(new GenerationRequest(PROMPT, params)))
        .get(0);
  }

  /** Greedy over every vocabulary row, as the golden reference computes it. */
  private static SamplingParams.Builder greedy(int maxNew) {
    return SamplingParams.builder().maxNewTokens(maxNew).maskUnproducible(false);
  }

  private static SamplingParams.Builder sampled(long seed) {
    return SamplingParams.builder().temperature(0.9).topP(0.95).seed(seed).maxNewTokens(10);
  }

  @Test
  void nSamplesAreSeededFromTheRequestSeedAndSampleZeroIsTheSingleOutput() {
    GenerationResult single = generate(sampled(42).build());
    GenerationResult three = generate(sampled(42).n(3).build());
    assertEquals(3, three.samples().size());
    assertArrayEquals(single.completion(), three.completion());
    assertArrayEquals(single.completion(), three.samples().get(0).completion());
    assertTrue(single.samples().isEmpty(), "n = 1 has no samples list");
    for (int s = 1; s < 3; s++) {
      GenerationResult alone = generate(sampled(sampled(42).build().sampleSeed(s)).build());
      assertArrayEquals(alone.completion(), three.samples().get(s).completion(), "sample " + s);
      assertEquals(alone.text(), three.samples().get(s).text());
    }
    assertFalse(
        Arrays.equals(three.samples().get(1).completion(), three.samples().get(2).completion()));
    assertEquals(
        three.samples().stream().mapToLong(GenerationResult::completionTokens).sum(),
        three.allCompletionTokens());
  }

  @Test
  void nSamplesAreTheSameWhateverTheBatchAndWithThePrefixCache() {
    GenerationRequest probe = new GenerationRequest(PROMPT, sampled(9).n(4).build());
    GenerationResult alone = generate(tiny, new EngineOptions(2048, 8), List.of(probe)).get(0);
    List<GenerationRequest> crowd = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      int[] other = new int[5 + 3 * i];
      Arrays.fill(other, 200 + i);
      crowd.add(new GenerationRequest(other, sampled(i).n(1 + i % 2).build()));
    }
    crowd.add(2, probe);
    for (boolean caching : new boolean[] {false, true}) {
      EngineOptions tight = new EngineOptions(24, 3).withPrefixCaching(caching);
      GenerationResult batched = generate(tiny, tight, crowd).get(2);
      for (int s = 0; s < 4; s++) {
        assertArrayEquals(
            alone.samples().get(s).completion(),
            batched.samples().get(s).completion(),
            "sample " + s + ", prefix caching " + caching);
      }
    }
  }

  /** A prompt of 37 tokens: two full KV blocks and a partial one. */
  private static int[] longPrompt() {
    int[] prompt = new int[37];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = (i * 131 + 7) % 1024;
    }
    return prompt;
  }

  @Test
  void theSamplesOfARequestComputeItsPromptOnce() {
    int[] prompt = longPrompt();
    for (boolean caching : new boolean[] {false, true}) {
      EngineOptions options = new EngineOptions(2048, 8).withPrefixCaching(caching);
      KvBlockPool pool = options.newKvPool(tiny);
      Engine engine = new Engine(tiny, DbrxTokenizer.shared(), options, pool);
      GenerationResult four =
          engine
              .generate(
                  List.of(new GenerationRequest(prompt, sampled(3).maxNewTokens(6).n(4).build())))
              .get(0);
      // The prompt once, then each sample feeds back all its tokens but the last.
      assertEquals(
          prompt.length + four.allCompletionTokens() - 4,
          engine.computedTokens(),
          "prefix caching " + caching);
      // Three blocks for the first sample, one more each for the other three.
      assertEquals(6, pool.allocated(), "prefix caching " + caching);
      assertEquals(0, pool.taken(), "every block returned");
    }
  }

  @Test
  void forkedSamplesEqualSeparateRequestsUnderATightKvBudget() {
    int[] prompt = longPrompt();
    SamplingParams params = sampled(5).maxNewTokens(24).n(4).build();
    EngineOptions ample = new EngineOptions(2048, 8, 64, KvDType.F16, 0, false);
    List<GenerationRequest> separate = new ArrayList<>();
    for (int s = 0; s < 4; s++) {
      separate.add(
          new GenerationRequest(
              prompt, params.toBuilder().n(1).seed(params.sampleSeed(s)).build()));
    }
    List<GenerationResult> alone = generate(tiny, ample, separate);
    for (int maxSequences : new int[] {2, 8}) {
      for (boolean caching : new boolean[] {false, true}) {
        // 8 blocks: the forks fit at admission, but the samples outgrow them at 48 positions.
        EngineOptions tight = new EngineOptions(2048, maxSequences, 64, KvDType.F16, 128, caching);
        KvBlockPool pool = tight.newKvPool(tiny);
        Engine engine = new Engine(tiny, DbrxTokenizer.shared(), tight, pool);
        GenerationResult forked =
            engine.generate(List.of(new GenerationRequest(prompt, params))).get(0);
        String where = maxSequences + " sequences, prefix caching " + caching;
        for (int s = 0; s < 4; s++) {
          assertArrayEquals(
              alone.get(s).completion(),
              forked.samples().get(s).completion(),
              "sample " + s + ", " + where);
        }
        assertTrue(
            engine.computedTokens() > prompt.length + 4 * 23, "preempted and recomputed, " + where);
        assertEquals(0, pool.taken(), "every block returned, " + where);
      }
    }
  }

  @Test
  void topLogprobsAreTheReferenceModelsMostLikelyTokens() throws Exception {
    JsonNode reference =
        new ObjectMapper()
            .readTree(EngineTest.golden("tiny-bf16").resolve("expected-logits.json").toFile())
            .get("logits");
    for (int p = 1; p <= PROMPT.length; p++) {
      // The first generated token is predicted from the reference's position p - 1.
      double[] ref = logSoftmax(reference.get(p - 1));
      GenerationResult r =
          generate(
                  tiny,
                  new EngineOptions(2048, 8),
                  List.of(
                      new GenerationRequest(
                          Arrays.copyOf(PROMPT, p),
                          greedy(1).logprobs(true).topLogprobs(20).build())))
              .get(0);
      TokenLogprob[] top = r.topLogprobs()[0];
      assertEquals(20, top.length);
      Set<Integer> returned = new java.util.HashSet<>();
      for (int i = 0; i < top.length; i++) {
        assertEquals(ref[top[i].token()], top[i].logprob(), 1e-3, "position " + p + " rank " + i);
        if (i > 0) {
          assertTrue(top[i].logprob() <= top[i - 1].logprob(), "most likely first");
        }
        returned.add(top[i].token());
      }
      double lowest = ref[top[top.length - 1].token()];
      for (int v = 0; v < ref.length; v++) {
        if (!returned.contains(v)) {
          assertTrue(ref[v] <= lowest + 2e-3, "token " + v + " belongs in the top 20 at " + p);
        }
      }
      // Greedy draws the most likely token, and its log-prob is the same number.
      assertEquals(top[0].token(), r.completion()[0]);
      assertEquals(top[0].logprob(), r.logprobs()[0]);
    }
  }

  private static double[] logSoftmax(JsonNode logits) {
    double[] out = new double[logits.size()];
    double max = Double.NEGATIVE_INFINITY;
    for (int v = 0; v < out.length; v++) {
      out[v] = logits.get(v).asDouble();
      max = Math.max(max, out[v]);
    }
    double sum = 0;
    for (double x : out) {
      sum += Math.exp(x - max);
    }
    double log = max + Math.log(sum);
    for (int v = 0; v < out.length; v++) {
      out[v] -= log;
    }
    return out;
  }

  @Test
  void penaltiesFollowOpenAisRuleOverTheGeneratedTokens() {
    int steps = 16;
    GenerationResult plain = generate(greedy(steps).topLogprobs(20).build());
    // Negative penalties reward repeats: this checkpoint's greedy path has none to punish.
    double presence = -1.5;
    double frequency = -0.5;
    GenerationResult penalised =
        generate(
            greedy(steps)
                .topLogprobs(20)
                .presencePenalty(presence)
                .frequencyPenalty(frequency)
                .build());
    assertFalse(
        Arrays.equals(plain.completion(), penalised.completion()),
        "penalties change the greedy output");
    // Each greedy choice maximises logprob - presence * [count > 0] - frequency * count, with the
    // counts taken over the tokens generated before it (never the prompt). The candidates are the
    // top 20 and every token generated so far, whose log-probs the scorer gives.
    Scorer scorer = new Scorer(tiny, EngineOptions.defaults());
    Map<Integer, Integer> counts = new HashMap<>();
    for (int t = 0; t < penalised.completionTokens(); t++) {
      int[] context = concat(PROMPT, Arrays.copyOf(penalised.completion(), t));
      Map<Integer, Double> logprobs = new HashMap<>();
      for (TokenLogprob alt : penalised.topLogprobs()[t]) {
        logprobs.put(alt.token(), (double) alt.logprob());
      }
      for (int seen : counts.keySet()) {
        float lp =
            scorer
                .score(List.of(new ScoreRequest(context, new int[] {seen})))
                .get(0)
                .tokenLogprobs()[0];
        logprobs.put(seen, (double) lp);
      }
      double best = Double.NEGATIVE_INFINITY;
      int argmax = -1;
      for (Map.Entry<Integer, Double> e : logprobs.entrySet()) {
        int c = counts.getOrDefault(e.getKey(), 0);
        double score = e.getValue() - (c > 0 ? presence + frequency * c : 0);
        if (score > best) {
          best = score;
          argmax = e.getKey();
        }
      }
      assertEquals(argmax, penalised.completion()[t], "step " + t);
      counts.merge(argmax, 1, Integer::sum);
    }
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void logitBiasForcesAndBansTokens() {
    GenerationResult plain = generate(greedy(6).build());
    int absent = 777;
    assertFalse(Arrays.stream(plain.completion()).anyMatch(id -> id == absent));
    GenerationResult forced = generate(greedy(6).logitBias(Map.of(absent, 100.0)).build());
    assertArrayEquals(
        new int[] {absent, absent, absent, absent, absent, absent}, forced.completion());
    int first = plain.completion()[0];
    GenerationResult banned = generate(greedy(6).logitBias(Map.of(first, -100.0)).build());
    assertNotEquals(first, banned.completion()[0]);
    assertTrue(Arrays.stream(banned.completion()).noneMatch(id -> id == first));
  }

  @Test
  void aStopTokenIdEndsGenerationUnlessMinTokensHoldsItOff() {
    GenerationResult plain = generate(greedy(12).build());
    int stop = plain.completion()[2];
    int firstAt = Arrays.stream(plain.completion()).boxed().toList().indexOf(stop);
    GenerationResult stopped = generate(greedy(12).stopTokenIds(List.of(stop)).build());
    assertArrayEquals(Arrays.copyOf(plain.completion(), firstAt + 1), stopped.completion());
    assertEquals(FinishReason.STOP, stopped.finishReason());
    assertEquals(
        DbrxTokenizer.shared().decode(Arrays.copyOf(plain.completion(), firstAt)), stopped.text());

    GenerationResult held = generate(greedy(12).stopTokenIds(List.of(stop)).minTokens(8).build());
    assertTrue(held.completionTokens() >= 8, "min_tokens 8 gave " + held.completionTokens());
    for (int t = 0; t < 7; t++) {
      assertNotEquals(stop, held.completion()[t], "stop id suppressed at step " + t);
    }
  }

  @Test
  void aStopStringDoesNotEndGenerationBeforeMinTokens() {
    GenerationResult plain = generate(greedy(24).build());
    String stop = plain.text().substring(1, 3);
    GenerationResult early = generate(greedy(24).stopStrings(List.of(stop)).build());
    assertEquals(plain.text().substring(0, plain.text().indexOf(stop)), early.text());
    GenerationResult held = generate(greedy(24).stopStrings(List.of(stop)).minTokens(20).build());
    assertTrue(held.completionTokens() >= 20, "min_tokens 20 gave " + held.completionTokens());
    // Stop strings do not change the draws; the early occurrence stays in the text.
    assertArrayEquals(
        Arrays.copyOf(plain.completion(), held.completionTokens()), held.completion());
    assertTrue(held.text().contains(stop), held.text());
  }

  @Test
  void minTokensHoldsOffEndOfSequenceButNotACompletedFormat() {
    int[] prompt = DbrxTokenizer.shared().encode("Answer:");
    EngineOptions options = new EngineOptions(2048, 8);
    // A bias of 100 makes <|endoftext|> the certain choice wherever it is allowed.
    SamplingParams eos =
        SamplingParams.builder()
            .maxNewTokens(10)
            .logitBias(Map.of(SpecialTokens.ENDOFTEXT, 100.0))
            .build();
    GenerationResult immediate =
        generate(fullVocab, options, List.of(new GenerationRequest(prompt, eos))).get(0);
    assertArrayEquals(new int[] {SpecialTokens.ENDOFTEXT}, immediate.completion());
    GenerationResult held =
        generate(
                fullVocab,
                options,
                List.of(new GenerationRequest(prompt, eos.toBuilder().minTokens(4).build())))
            .get(0);
    assertEquals(5, held.completionTokens());
    assertEquals(SpecialTokens.ENDOFTEXT, held.completion()[4]);
    assertEquals(FinishReason.STOP, held.finishReason());

    CompiledFormat yesNo =
        CompiledFormat.compile(
            ResponseFormat.parse("{\"type\": \"choice\", \"choice\": [\"yes\", \"no\"]}"));
    GenerationResult chosen =
        generate(
                fullVocab,
                options,
                List.of(
                    new GenerationRequest(
                        prompt,
                        SamplingParams.builder()
                            .temperature(1)
                            .seed(3)
                            .maxNewTokens(10)
                            .minTokens(8)
                            .responseFormat(yesNo)
                            .build())))
            .get(0);
    assertTrue(Set.of("yes", "no").contains(chosen.text()), chosen.text());
    assertFalse(chosen.incomplete());
  }

  @Test
  void idsOutsideTheVocabularyFailTheirRequestByName() {
    List<GenerationResult> results =
        generate(
            tiny,
            new EngineOptions(2048, 8),
            List.of(
                new GenerationRequest(PROMPT, greedy(3).logitBias(Map.of(5000, 1.0)).build()),
                new GenerationRequest(PROMPT, greedy(3).stopTokenIds(List.of(1, 1024)).build()),
                new GenerationRequest(PROMPT, greedy(3).build())));
    assertEquals(
        "logit_bias token id 5000 is outside the vocabulary [0, 1024)", results.get(0).error());
    assertEquals(
        "stop_token_ids id 1024 is outside the vocabulary [0, 1024)", results.get(1).error());
    assertNull(results.get(2).error());
    assertEquals(3, results.get(2).completionTokens());
  }

  @Test
  void badValuesAreRefusedByName() {
    assertEquals(
        "n must be >= 1, got 0",
        assertThrows(IllegalArgumentException.class, () -> sampled(1).n(0).build()).getMessage());
    assertEquals(
        "top_logprobs must be in [0, 20], got 21",
        assertThrows(IllegalArgumentException.class, () -> sampled(1).topLogprobs(21).build())
            .getMessage());
    assertEquals(
        "presence_penalty must be in [-2, 2], got 3.0",
        assertThrows(IllegalArgumentException.class, () -> sampled(1).presencePenalty(3).build())
            .getMessage());
    assertEquals(
        "min_tokens must be in [0, max_new_tokens 10], got 11",
        assertThrows(IllegalArgumentException.class, () -> sampled(1).minTokens(11).build())
            .getMessage());
    assertEquals(
        "logit_bias of token 7 must be in [-100, 100], got 101.0",
        assertThrows(
                IllegalArgumentException.class,
                () -> sampled(1).logitBias(Map.of(7, 101.0)).build())
            .getMessage());
  }
}
