package org.dbrxspark.udfs.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.structured.ResponseFormat;
import org.dbrxspark.udfs.registry.FormatRegistry;

/**
 * Sampling settings that travel from the driver to executors ({@link SamplingParams} is not
 * serializable), plus the JSON form the SQL functions take per row.
 *
 * <p>JSON keys: {@code temperature}, {@code top_k}, {@code top_p}, {@code min_p}, {@code
 * repetition_penalty}, {@code seed}, {@code max_new_tokens}, {@code stop} (a string or an array of
 * strings), {@code logprobs} and {@code response_format} (an object, see {@link ResponseFormat}).
 * Unknown keys are an error, so a typo is not silently ignored.
 *
 * <p>The response format travels as its JSON; building params compiles it through this JVM's {@link
 * FormatRegistry}, so it is compiled once per executor, and a bad one fails where these settings
 * are made (on the driver), before any row.
 *
 * @param responseFormat the canonical JSON of a {@link ResponseFormat}, or null for free text
 */
public record SamplingDefaults(
    double temperature,
    int topK,
    double topP,
    double minP,
    double repetitionPenalty,
    int maxNewTokens,
    List<String> stopStrings,
    boolean logprobs,
    String responseFormat)
    implements Serializable {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Known JSON keys, for the error message on an unknown one. */
  static final List<String> KEYS =
      List.of(
          "temperature",
          "top_k",
          "top_p",
          "min_p",
          "repetition_penalty",
          "seed",
          "max_new_tokens",
          "stop",
          "logprobs",
          "response_format");

  public SamplingDefaults {
    stopStrings = List.copyOf(stopStrings);
    builderOf(
            temperature,
            topK,
            topP,
            minP,
            repetitionPenalty,
            maxNewTokens,
            stopStrings,
            logprobs,
            responseFormat)
        .build();
  }

  /** The runtime's defaults: greedy, 128 new tokens, no stop strings, no log-probabilities. */
  public static SamplingDefaults runtimeDefaults() {
    SamplingParams p = SamplingParams.greedy();
    return of(SamplingParams.greedy());
  }

  private static SamplingDefaults of(SamplingParams p) {
    return new SamplingDefaults(
        p.temperature(),
        p.topK(),
        p.topP(),
        p.minP(),
        p.repetitionPenalty(),
        p.maxNewTokens(),
        p.stopStrings(),
        p.logprobs(),
        p.responseFormat() == null ? null : p.responseFormat().format().json());
  }

  /** These settings with {@code json}'s keys applied, for use as defaults of SQL functions. */
  public SamplingDefaults with(String json) {
    SamplingParams.Builder b = builder(0);
    apply(json, b);
    return of(b.build());
  }

  /** A builder holding these settings and {@code seed}. */
  public SamplingParams.Builder builder(long seed) {
    return builderOf(
            temperature,
            topK,
            topP,
            minP,
            repetitionPenalty,
            maxNewTokens,
            stopStrings,
            logprobs,
            responseFormat)
        .seed(seed);
  }

  // Static, since the compact constructor validates before the fields are assigned.
  private static SamplingParams.Builder builderOf(
      double temperature,
      int topK,
      double topP,
      double minP,
      double repetitionPenalty,
      int maxNewTokens,
      List<String> stopStrings,
      boolean logprobs,
      String responseFormat) {
    return SamplingParams.builder()
        .temperature(temperature)
        .topK(topK)
        .topP(topP)
        .minP(minP)
        .repetitionPenalty(repetitionPenalty)
        .maxNewTokens(maxNewTokens)
        .stopStrings(stopStrings)
        .logprobs(logprobs)
        .responseFormat(responseFormat == null ? null : FormatRegistry.compiled(responseFormat));
  }

  /**
   * Applies a JSON object of sampling parameters to {@code builder}.
   *
   * @throws IllegalArgumentException for malformed JSON, an unknown key or a value of the wrong
   *     type
   */
  static void apply(String json, SamplingParams.Builder builder) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("params_json is not valid JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("params_json must be a JSON object, got: " + json);
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      JsonNode v = field.getValue();
      switch (field.getKey()) {
        case "temperature" -> builder.temperature(number(field.getKey(), v));
        case "top_k" -> builder.topK(integer(field.getKey(), v));
        case "top_p" -> builder.topP(number(field.getKey(), v));
        case "min_p" -> builder.minP(number(field.getKey(), v));
        case "repetition_penalty" -> builder.repetitionPenalty(number(field.getKey(), v));
        case "seed" -> {
          if (!v.canConvertToLong() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException("seed must be an integer, got " + v);
          }
          builder.seed(v.longValue());
        }
        case "max_new_tokens" -> builder.maxNewTokens(integer(field.getKey(), v));
        case "stop" -> builder.stopStrings(strings(v));
        case "logprobs" -> {
          if (!v.isBoolean()) {
            throw new IllegalArgumentException("logprobs must be true or false, got " + v);
          }
          builder.logprobs(v.booleanValue());
        }
        case "response_format" ->
            builder.responseFormat(v.isNull() ? null : FormatRegistry.compiled(v.toString()));
        default ->
            throw new IllegalArgumentException(
                "unknown sampling parameter '"
                    + field.getKey()
                    + "' (known: "
                    + String.join(", ", KEYS)
                    + ")");
      }
    }
  }

  private static double number(String key, JsonNode v) {
    if (!v.isNumber()) {
      throw new IllegalArgumentException(key + " must be a number, got " + v);
    }
    return v.doubleValue();
  }

  private static int integer(String key, JsonNode v) {
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw new IllegalArgumentException(key + " must be an integer, got " + v);
    }
    return v.intValue();
  }

  private static List<String> strings(JsonNode v) {
    if (v.isTextual()) {
      return List.of(v.textValue());
    }
    if (!v.isArray()) {
      throw new IllegalArgumentException("stop must be a string or an array of strings, got " + v);
    }
    List<String> out = new ArrayList<>();
    for (JsonNode s : v) {
      if (!s.isTextual()) {
        throw new IllegalArgumentException(
            "stop must be a string or an array of strings, got " + v);
      }
      out.add(s.textValue());
    }
    return out;
  }
}
