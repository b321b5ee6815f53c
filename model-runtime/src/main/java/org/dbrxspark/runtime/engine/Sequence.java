package org.dbrxspark.runtime.engine;

import java.util.Arrays;
import java.util.List;
import org.dbrxspark.runtime.model.KvCache;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.dbrxspark.runtime.tokenizer.StreamingDecoder;

/** The generation state of one request, or of one of its {@code n} samples, inside the engine. */
final class Sequence {
  private final int index;
  private final int sample;
  private final GenerationRequest request;
  private final KvCache cache;
  private final Sampler sampler;
  private final StreamingDecoder decoder;
  private final StringBuilder text = new StringBuilder();
  private final int longestStop;
  private int[] completion = new int[8];
  private float[] logprobs;
  private TokenLogprob[][] topLogprobs;
  private int generated;

  /** Text length before the {@code min_tokens}-th token: a stop string must end past it. */
  private int stopFloor;

  private int emitted;
  private FinishReason finish;
  private boolean cutAtStopString;

  /**
   * @param index the request's index
   * @param sample which of the request's samples this is; {@code request}'s params carry its seed
   */
  Sequence(
      int index,
      int sample,
      GenerationRequest request,
      KvCache cache,
      Sampler sampler,
      DbrxTokenizer tokenizer) {
    this.index = index;
    this.sample = sample;
    this.request = request;
    this.cache = cache;
    this.sampler = sampler;
    this.decoder = new StreamingDecoder(tokenizer);
    this.longestStop =
        request.params().stopStrings().stream().mapToInt(String::length).max().orElse(0);
    this.logprobs = request.params().logprobs() ? new float[8] : null;
    this.topLogprobs = request.params().topLogprobs() > 0 ? new TokenLogprob[8][] : null;
  }

  int index() {
    return index;
  }

  int sample() {
    return sample;
  }

  GenerationRequest request() {
    return request;
  }

  KvCache cache() {
    return cache;
  }

  /** Whether nothing is generated yet: the sequence is new, its prompt not computed. */
  boolean fresh() {
    return generated == 0;
  }

  /** The prompt and every token generated so far. */
  int[] tokens() {
    int[] all = Arrays.copyOf(request.prompt(), request.prompt().length + generated);
    System.arraycopy(completion, 0, all, request.prompt().length, generated);
    return all;
  }

  /**
   * The tokens the next forward step feeds: those the cache does not hold yet. While running, the
   * last generated one; on admission (new, or preempted) the prompt and everything generated so
   * far, less a cached prefix the cache starts from.
   */
  int[] nextTokens() {
    int[] prompt = request.prompt();
    int[] next = new int[prompt.length + generated - cache.length()];
    for (int i = 0, p = cache.length(); i < next.length; i++, p++) {
      next[i] = p < prompt.length ? prompt[p] : completion[p - prompt.length];
    }
    return next;
  }

  /**
   * Gives the cache's blocks back: when the sequence finishes, or when it is preempted to make room
   * for older ones. A preempted sequence keeps what it has generated and its sampler; re-admitted,
   * it recomputes its cache from {@link #nextTokens} and continues exactly where it stopped (the
   * forward pass is batch-invariant).
   */
  void releaseCache() {
    cache.release();
  }

  boolean finished() {
    return finish != null;
  }

  /** Samples the next token from this sequence's logits row and applies the stop rules. */
  void accept(float[] logits, int offset, int maxSeqLen, Engine.TextListener listener) {
    int token = sampler.next(logits, offset);
    if (generated == completion.length) {
      completion = Arrays.copyOf(completion, generated * 2);
      if (logprobs != null) {
        logprobs = Arrays.copyOf(logprobs, generated * 2);
      }
      if (topLogprobs != null) {
        topLogprobs = Arrays.copyOf(topLogprobs, generated * 2);
      }
    }
    if (logprobs != null || topLogprobs != null) {
      // The model's own distribution, as the scorer's: before penalties, biases and masks.
      LogSoftmax distribution = LogSoftmax.of(logits, offset, sampler.vocabSize());
      if (logprobs != null) {
        logprobs[generated] = distribution.at(token);
      }
      if (topLogprobs != null) {
        topLogprobs[generated] = distribution.top(request.params().topLogprobs());
      }
    }
    completion[generated++] = token;
    if (sampler.stops(token)) {
      finish = FinishReason.STOP;
    } else {
      if (generated == request.params().minTokens()) {
        stopFloor = text.length();
      }
      text.append(decoder.push(token));
      cutAtStopString = generated >= request.params().minTokens() && matchStop();
      if (cutAtStopString || sampler.formatComplete()) {
        finish = FinishReason.STOP;
      } else if (generated >= request.params().maxNewTokens() || cache.length() >= maxSeqLen) {
        // Sampling another token would need this one fed through a full cache.
        finish = FinishReason.LENGTH;
      }
    }
    if (finish != null && !cutAtStopString) {
      text.append(decoder.flush());
    }
    emit(listener);
  }

  /** Sends the text that is final; text that may still begin a stop string is held back. */
  private void emit(Engine.TextListener listener) {
    int safe =
        finish != null
            ? text.length()
            : Math.max(emitted, text.length() - Math.max(0, longestStop - 1));
    if (safe > emitted) {
      listener.onText(index, text.substring(emitted, safe));
      emitted = safe;
    }
  }

  /**
   * Truncates the text at the first stop string, if one has appeared that ends past the text of the
   * first {@code min_tokens - 1} tokens.
   */
  private boolean matchStop() {
    int first = -1;
    int from = Math.max(0, emitted - longestStop);
    for (String stop : request.params().stopStrings()) {
      int at = text.indexOf(stop, Math.max(from, stopFloor - stop.length() + 1));
      if (at >= 0 && (first < 0 || at < first)) {
        first = at;
      }
    }
    if (first >= 0) {
      text.setLength(first);
      return true;
    }
    return false;
  }

  GenerationResult result() {
    // Under a format, only a match is whole; a stop string cuts the match short.
    boolean incomplete =
        sampler.constrained()
            ? cutAtStopString || !sampler.formatMatched()
            : finish == FinishReason.LENGTH;
    return new GenerationResult(
        Arrays.copyOf(completion, generated),
        text.toString(),
        finish,
        incomplete,
        request.prompt().length,
        logprobs == null ? null : Arrays.copyOf(logprobs, generated),
        topLogprobs == null ? null : Arrays.copyOf(topLogprobs, generated),
        null,
        List.of());
  }
}
