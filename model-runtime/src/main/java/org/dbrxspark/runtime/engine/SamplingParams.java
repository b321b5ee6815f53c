package org.dbrxspark.runtime.engine;

import java.util.List;
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
    CompiledFormat responseFormat) {

  public SamplingParams {
    stopStrings = List.copyOf(stopStrings);
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

    private Builder() {}

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
          responseFormat);
    }
  }

  private static void check(boolean ok, String name, Object value, String rule) {
    if (!ok) {
      throw new IllegalArgumentException(name + " must be " + rule + ", got " + value);
    }
  }
}
