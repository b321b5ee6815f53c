package org.dbrxspark.runtime.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.KvBlockPool;
import org.dbrxspark.runtime.model.KvCache;
import org.dbrxspark.runtime.model.PrefixCacheCounts;
import org.dbrxspark.runtime.model.Step;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/**
 * Continuous-batching generation: every step runs the decode token of each running sequence
 * together with the prompts of newly admitted ones, under a per-step token budget; sequences leave
 * as soon as they finish and waiting ones take their place.
 *
 * <p>KV memory is paged (vLLM's scheduling): a waiting sequence is admitted only when the pool has
 * free blocks for its prompt plus one generated token. When a running sequence needs a new block
 * and none is free, the newest running sequence is preempted: its blocks are returned, it goes back
 * to the front of the queue and, once blocks are free again, recomputes its cache from its prompt
 * and the tokens it had generated. No step admits new work while it preempts.
 *
 * <p>With prefix caching (the pool's, see {@link KvBlockPool}), an admitted sequence starts from
 * the cached blocks that begin its tokens and computes only the rest; a re-admitted one finds its
 * own blocks again unless they were evicted meanwhile. Its step budget and block needs count only
 * the tokens it computes. Sequences admitted in the same step do not share their new blocks through
 * the pool: those are offered to it once the step has computed them.
 *
 * <p>A request with {@code n > 1} runs as n sequences, sample {@code i} seeded with {@link
 * SamplingParams#sampleSeed}(i); sample 0 is the request's output with {@code n = 1}. As in vLLM,
 * the prompt is computed once: the samples admitted in the step that computes it fork from the
 * first one ({@link KvCache#tryFork}), sharing its full prompt blocks, copying the partial last
 * one, and drawing their first tokens from its logits, with or without prefix caching (a fork does
 * not look the prompt up in the pool's cache). A sample admitted in a later step (no room in this
 * one) computes its prompt itself, less what the prefix cache holds; a preempted fork recomputes
 * its cache like any other sequence.
 *
 * <p>A sequence's output depends only on its prompt and parameters (the forward pass is
 * batch-invariant and each request samples from its own seeded stream), never on its batch mates,
 * the KV budget, preemptions, or which of its blocks came from the prefix cache.
 */
public final class Engine {
  private static final int BYTE_TOKENS = 256;
  private final DbrxModel model;
  private final DbrxTokenizer tokenizer;
  private final EngineOptions options;
  private final KvBlockPool pool;
  private final int maxSeqLen;
  private final boolean[] producible;
  private final LongAdder computedTokens = new LongAdder();

  /** Receives generated text as it becomes final, for streaming output. */
  @FunctionalInterface
  public interface TextListener {
    void onText(int requestIndex, String delta);
  }

  /** An engine with a KV pool of its own, sized by {@code options}. */
  public Engine(DbrxModel model, DbrxTokenizer tokenizer, EngineOptions options) {
    this(model, tokenizer, options, options.newKvPool(model));
  }

  /** An engine drawing on {@code pool}, which other engines may share. */
  public Engine(DbrxModel model, DbrxTokenizer tokenizer, EngineOptions options, KvBlockPool pool) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.options = options;
    this.pool = pool;
    this.maxSeqLen = options.maxSeqLen(model.config());
    this.producible = tokenizer.producibleMask(model.config().vocabSize());
  }

  /**
   * Tokens this engine has run through the model: prompt tokens neither found in the prefix cache
   * nor forked from another sample, generated tokens fed back, and what preempted sequences
   * recomputed.
   */
  public long computedTokens() {
    return computedTokens.sum();
  }

  /** Generates for every request; results are in request order. */
  public List<GenerationResult> generate(List<GenerationRequest> requests) {
    return generate(requests, (index, delta) -> {});
  }

  /** Generates for every request, streaming each request's text to {@code listener}. */
  public List<GenerationResult> generate(List<GenerationRequest> requests, TextListener listener) {
    return generate(requests, listener, new PrefixCacheCounts());
  }

  /**
   * Generates for every request, streaming each request's text to {@code listener} and adding what
   * the prefix cache did for these requests to {@code prefixCounts}.
   */
  public List<GenerationResult> generate(
      List<GenerationRequest> requests, TextListener listener, PrefixCacheCounts prefixCounts) {
    GenerationResult[] results = new GenerationResult[requests.size()];
    GenerationResult[][] samples = new GenerationResult[requests.size()][];
    Deque<Sequence> waiting = new ArrayDeque<>();
    for (int i = 0; i < requests.size(); i++) {
      GenerationRequest request = requests.get(i);
      SamplingParams params = request.params();
      // Room for at least one generated token.
      String problem =
          InputCheck.problem(model.config(), request.prompt(), "prompt", maxSeqLen - 1, maxSeqLen);
      if (problem == null
          && params.responseFormat() != null
          && model.config().vocabSize() < BYTE_TOKENS) {
        // A format's masks assume every single byte is a token (ids 0-255 in cl100k).
        problem =
            "a response format needs the 256 byte tokens; this model's vocabulary has "
                + model.config().vocabSize();
      }
      if (problem == null) {
        problem = params.idOutsideVocabulary(model.config().vocabSize());
      }
      if (problem != null) {
        results[i] = GenerationResult.failed(request.prompt().length, problem);
        continue;
      }
      samples[i] = new GenerationResult[params.n()];
      for (int s = 0; s < params.n(); s++) {
        // Each sample is a request of its own, seeded from the request's seed.
        GenerationRequest one =
            params.n() == 1
                ? request
                : new GenerationRequest(
                    request.prompt(), params.toBuilder().n(1).seed(params.sampleSeed(s)).build());
        waiting.add(
            new Sequence(
                i,
                s,
                one,
                pool.newPrefixCache(prefixCounts),
                new Sampler(one.params(), producible, one.prompt()),
                tokenizer));
      }
    }
    List<Sequence> running = new ArrayList<>();
    try {
      while (!waiting.isEmpty() || !running.isEmpty()) {
        step(running, waiting, samples, listener, prefixCounts);
      }
    } finally {
      running.forEach(Sequence::releaseCache);
    }
    for (int i = 0; i < results.length; i++) {
      if (samples[i] != null) {
        results[i] = GenerationResult.ofSamples(List.of(samples[i]));
      }
    }
    return List.of(results);
  }

  private void step(
      List<Sequence> running,
      Deque<Sequence> waiting,
      GenerationResult[][] samples,
      TextListener listener,
      PrefixCacheCounts prefixCounts) {
    List<Step> steps = new ArrayList<>();
    List<Sequence> stepping = new ArrayList<>();
    int budget = options.maxBatchTokens();
    boolean preempted = false;
    // Samples computing their whole prompt in this step, by request, for their siblings to fork.
    Map<Integer, Sequence> prefilling = new HashMap<>();
    List<Fork> forks = new ArrayList<>();
    for (int i = 0; i < running.size(); i++) {
      Sequence seq = running.get(i);
      while (!seq.cache().tryReserve(1)) {
        Sequence newest = running.remove(running.size() - 1);
        newest.releaseCache();
        waiting.addFirst(newest);
        preempted = true;
        if (newest == seq) {
          break;
        }
      }
      if (i < running.size()) {
        steps.add(new Step(seq.cache(), seq.nextTokens(), false));
        stepping.add(seq);
        budget--;
      }
    }
    while (!preempted && !waiting.isEmpty() && running.size() < options.maxSequences()) {
      Sequence next = waiting.peek();
      KvCache cache = next.cache();
      int[] all = next.tokens();
      Sequence source = next.fresh() ? prefilling.get(next.index()) : null;
      if (source != null) {
        if (!cache.tryFork(source.cache(), all.length, 1)) {
          break;
        }
        waiting.poll();
        forks.add(new Fork(next, source, stepping.indexOf(source)));
        running.add(next);
        continue;
      }
      int shared = cache.shareCachedPrefix(all);
      int[] tokens = next.nextTokens();
      // A prompt over the budget still runs, alone, rather than never.
      boolean admitted =
          (tokens.length <= budget || steps.isEmpty())
              && cache.tryReserve(Math.min(all.length + 1, maxSeqLen) - cache.length());
      if (!admitted) {
        cache.release();
        break;
      }
      if (pool.prefixCaching()) {
        prefixCounts.recordLookup(shared, KvCache.shareableBlocks(all.length) - shared);
      }
      waiting.poll();
      steps.add(new Step(cache, tokens, false));
      stepping.add(next);
      running.add(next);
      budget -= tokens.length;
      if (next.fresh()) {
        prefilling.putIfAbsent(next.index(), next);
      }
    }
    if (steps.isEmpty()) {
      // Other users of a shared pool hold the blocks; this engine holds none.
      pool.awaitFree(
          (int) KvBlockPool.blocksFor(Math.min(waiting.peek().tokens().length + 1, maxSeqLen)));
      return;
    }
    int vocab = model.config().vocabSize();
    float[] hidden = model.forward(steps);
    steps.forEach(s -> computedTokens.add(s.tokens().length));
    float[] logits = new float[steps.size() * vocab];
    model.logits(hidden, steps.size(), logits);
    for (int i = 0; i < stepping.size(); i++) {
      accept(stepping.get(i), logits, i, listener);
    }
    for (Fork fork : forks) {
      fork.sample().cache().completeFork(fork.source().cache());
      accept(fork.sample(), logits, fork.sourceRow(), listener);
    }
    // After the forks: a source that finished still held their blocks.
    for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
      Sequence seq = it.next();
      if (seq.finished()) {
        samples[seq.index()][seq.sample()] = seq.result();
        seq.releaseCache();
        it.remove();
      }
    }
  }

  /** Samples {@code seq}'s next token from logits row {@code row}. */
  private void accept(Sequence seq, float[] logits, int row, TextListener listener) {
    int vocab = model.config().vocabSize();
    // Only sample 0 streams: a request's text is one stream.
    seq.accept(logits, row * vocab, maxSeqLen, seq.sample() == 0 ? listener : (index, delta) -> {});
  }

  /**
   * A sample admitted as a fork of its sibling {@code source}, which computes their prompt in this
   * step, in row {@code sourceRow}.
   */
  private record Fork(Sequence sample, Sequence source, int sourceRow) {}
}
