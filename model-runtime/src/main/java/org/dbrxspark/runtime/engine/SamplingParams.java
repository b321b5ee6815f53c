package org.dbrxspark.runtime.engine;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.dbrxspark.runtime.structured.CompiledFormat;

/**
 * How one request samples its continuation. Defaults give greedy decoding of up to 128 tokens with
 * the never-produced ids masked.
 *
 * @param temperature 0 for greedy (argmax); otherwise logits are divided by it
 * @param topK keep only the k most likely tokens; 0 disables
 * @param topP keep the smallest set of most likely tokens whose probability reaches p; 1 disables
 * @param minP drop tokens less likely than minP × the most likely token's probability; 0 disables
 * @param repetitionPenalty divide positive / multiply negative logits of tokens already in the
 *     prompt or output (the CTRL / Hugging Face rule); 1 disables
 * @param seed seeds this request's own random stream: same seed and prompt, same output
 * @param maxNewTokens stop after this many generated tokens
 * @param stopStrings stop when the generated text contains one of these; it is not returned
 * @param logprobs return the log-probability of each generated token
 * @param maskUnproducible never sample ids the tokenizer cannot produce (vocabulary padding and
 *     gaps); turn off to reproduce reference greedy outputs exactly
 * @param responseFormat constrains the text to a JSON Schema, regex or choice list (token masks
 *     replace {@code maskUnproducible}); null for free text
 * @param n completions per request, each sampled with its own seed ({@link #sampleSeed})
 * @param topLogprobs return this many most likely tokens, with their log-probabilities, at each
 *     generated position; 0 disables
 * @param presencePenalty subtracted once from the logit of every token already generated (OpenAI's
 *     rule, over the output only); 0 disables
 * @param frequencyPenalty subtracted from a token's logit once per time it was generated; 0
 *     disables
 * @param minTokens end-of-sequence and {@code stopTokenIds} cannot be drawn, and stop strings do
 *     not match, before this many tokens are generated (a response format still ends the text when
 *     its match is complete); 0 disables
 * @param logitBias token id to a value added to its logit before sampling (OpenAI's {@code
 *     logit_bias}: -100 bans a token, 100 all but forces it)
 * @param stopTokenIds generation stops after drawing one of these ids; the id is in the completion,
 *     its text is not
 */
public record SamplingParams(
    double temperature,
    int topK,
    double topP,
    double minP,
    double repetitionPenalty,
    long seed,
    int maxNewTokens,
    List<String> stopStrings,
    boolean logprobs,
    boolean maskUnproducible,
    CompiledFormat responseFormat,
    int n,
    int topLogprobs,
    double presencePenalty,
    double frequencyPenalty,
    int minTokens,
    Map<Integer, Double> logitBias,
    List<Integer> stopTokenIds) {

  /** The most alternatives {@code top_logprobs} returns per token (OpenAI's and vLLM's limit). */
  public static final int MAX_TOP_LOGPROBS = 20;

  public SamplingParams {
    stopStrings = List.copyOf(stopStrings);
    logitBias = Collections.unmodifiableMap(new TreeMap<>(logitBias));
    stopTokenIds = List.copyOf(stopTokenIds);
    check(temperature >= 0 && Double.isFinite(temperature), "temperature", temperature, ">= 0");
    check(topK >= 0, "top_k", topK, ">= 0");
    check(topP > 0 && topP <= 1, "top_p", topP, "in (0, 1]");
    check(minP >= 0 && minP < 1, "min_p", minP, "in [0, 1)");
    check(
        repetitionPenalty > 0 && Double.isFinite(repetitionPenalty),
        "repetition_penalty",
        repetitionPenalty,
        "> 0");
    check(maxNewTokens >= 1, "max_new_tokens", maxNewTokens, ">= 1");
    for (String stop : stopStrings) {
      if (stop.isEmpty()) {
        throw new IllegalArgumentException("stop strings must not be empty");
      }
    }
    check(n >= 1, "n", n, ">= 1");
    check(
        topLogprobs >= 0 && topLogprobs <= MAX_TOP_LOGPROBS,
        "top_logprobs",
        topLogprobs,
        "in [0, " + MAX_TOP_LOGPROBS + "]");
    check(
        presencePenalty >= -2 && presencePenalty <= 2,
        "presence_penalty",
        presencePenalty,
        "in [-2, 2]");
    check(
        frequencyPenalty >= -2 && frequencyPenalty <= 2,
        "frequency_penalty",
        frequencyPenalty,
        "in [-2, 2]");
    check(
        minTokens >= 0 && minTokens <= maxNewTokens,
        "min_tokens",
        minTokens,
        "in [0, max_new_tokens " + maxNewTokens + "]");
    logitBias.forEach(
        (id, bias) -> {
          check(id >= 0, "a logit_bias token id", id, ">= 0");
          check(bias >= -100 && bias <= 100, "logit_bias of token " + id, bias, "in [-100, 100]");
        });
    for (int id : stopTokenIds) {
      check(id >= 0, "a stop_token_ids id", id, ">= 0");
    }
  }

  /**
   * The seed of completion {@code sample} of this request: sample 0 uses {@link #seed} itself, so
   * it equals the request's output with {@code n = 1}; sample {@code i > 0} the first 8 bytes
   * (big-endian) of SHA-256 over the 8 big-endian bytes of the seed and the 4 of {@code i}.
   */
  public long sampleSeed(int sample) {
    if (sample == 0) {
      return seed;
    }
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(
          ByteBuffer.allocate(Long.BYTES + Integer.BYTES).putLong(seed).putInt(sample).array());
      return ByteBuffer.wrap(sha.digest()).getLong();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }

  /**
   * The first token id of {@code logitBias} and {@code stopTokenIds} outside a vocabulary of {@code
   * vocab} ids, as an error message naming the key; null when all are inside.
   */
  String idOutsideVocabulary(int vocab) {
    for (int id : logitBias.keySet()) {
      if (id >= vocab) {
        return "logit_bias token id " + id + " is outside the vocabulary [0, " + vocab + ")";
      }
    }
    for (int id : stopTokenIds) {
      if (id >= vocab) {
        return "stop_token_ids id " + id + " is outside the vocabulary [0, " + vocab + ")";
      }
    }
    return null;
  }

  /** Greedy decoding of up to 128 tokens, masking on, no stop strings. */
  public static SamplingParams greedy() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from this request's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.temperature = temperature;
    b.topK = topK;
    b.topP = topP;
    b.minP = minP;
    b.repetitionPenalty = repetitionPenalty;
    b.seed = seed;
    b.maxNewTokens = maxNewTokens;
    b.stopStrings = stopStrings;
    b.logprobs = logprobs;
    b.maskUnproducible = maskUnproducible;
    b.responseFormat = responseFormat;
    b.n = n;
    b.topLogprobs = topLogprobs;
    b.presencePenalty = presencePenalty;
    b.frequencyPenalty = frequencyPenalty;
    b.minTokens = minTokens;
    b.logitBias = logitBias;
    b.stopTokenIds = stopTokenIds;
    return b;
  }

  /** Sets parameters by name; {@link #build()} validates them. */
  public static final class Builder {
    private double temperature = 0;
    private int topK = 0;
    private double topP = 1;
    private double minP = 0;
    private double repetitionPenalty = 1;
    private long seed = 0;
    private int maxNewTokens = 128;
    private List<String> stopStrings = List.of();
    private boolean logprobs = false;
    private boolean maskUnproducible = true;
    private CompiledFormat responseFormat;
    private int n = 1;
    private int topLogprobs = 0;
    private double presencePenalty = 0;
    private double frequencyPenalty = 0;
    private int minTokens = 0;
    private Map<Integer, Double> logitBias = Map.of();
    private List<Integer> stopTokenIds = List.of();

    private Builder() {}

    public Builder n(int v) {
      n = v;
      return this;
    }

    public Builder topLogprobs(int v) {
      topLogprobs = v;
      return this;
    }

    public Builder presencePenalty(double v) {
      presencePenalty = v;
      return this;
    }

    public Builder frequencyPenalty(double v) {
      frequencyPenalty = v;
      return this;
    }

    public Builder minTokens(int v) {
      minTokens = v;
      return this;
    }

    public Builder logitBias(Map<Integer, Double> v) {
      logitBias = v;
      return this;
    }

    public Builder stopTokenIds(List<Integer> v) {
      stopTokenIds = v;
      return this;
    }

    public Builder temperature(double v) {
      temperature = v;
      return this;
    }

    public Builder topK(int v) {
      topK = v;
      return this;
    }

    public Builder topP(double v) {
      topP = v;
      return this;
    }

    public Builder minP(double v) {
      minP = v;
      return this;
    }

    public Builder repetitionPenalty(double v) {
      repetitionPenalty = v;
      return this;
    }

    public Builder seed(long v) {
      seed = v;
      return this;
    }

    public Builder maxNewTokens(int v) {
      maxNewTokens = v;
      return this;
    }

    public Builder stopStrings(List<String> v) {
      stopStrings = v;
      return this;
    }

    public Builder logprobs(boolean v) {
      logprobs = v;
      return this;
    }

    public Builder maskUnproducible(boolean v) {
      maskUnproducible = v;
      return this;
    }

    public Builder responseFormat(CompiledFormat v) {
      responseFormat = v;
      return this;
    }

    public SamplingParams build() {
      return new SamplingParams(
          temperature,
          topK,
          topP,
          minP,
          repetitionPenalty,
          seed,
          maxNewTokens,
          stopStrings,
          logprobs,
          maskUnproducible,
          responseFormat,
          n,
          topLogprobs,
          presencePenalty,
          frequencyPenalty,
          minTokens,
          logitBias,
          stopTokenIds);
    }
  }

  private static void check(boolean ok, String name, Object value, String rule) {
    if (!ok) {
      throw new IllegalArgumentException(name + " must be " + rule + ", got " + value);
    }
  }
}
