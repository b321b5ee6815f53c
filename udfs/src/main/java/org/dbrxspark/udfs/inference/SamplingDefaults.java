package org.dbrxspark.udfs.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.dbrxspark.runtime.engine.LogitBias;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.structured.ResponseFormat;
import org.dbrxspark.udfs.registry.FormatRegistry;

/**
 * Sampling settings as the JSON object the SQL functions take per row ({@code params_json}); in
 * that form they travel from the driver to executors ({@link SamplingParams} is not serializable),
 * and the transformers' Params reach the engine through it too, under the same names.
 *
 * <p>Keys ({@link #KEYS}): {@code temperature}, {@code top_k}, {@code top_p}, {@code min_p}, {@code
 * repetition_penalty}, {@code presence_penalty}, {@code frequency_penalty}, {@code seed}, {@code
 * max_new_tokens}, {@code min_tokens}, {@code n}, {@code stop} (a string or an array of strings),
 * {@code stop_token_ids} (an array of ids), {@code logit_bias} (an object of token id to bias),
 * {@code logprobs}, {@code top_logprobs} and {@code response_format} (an object, see {@link
 * ResponseFormat}); docs/spark.md has the table. Unknown keys are an error, so a typo is not
 * silently ignored.
 *
 * <p>A response format is compiled through this JVM's {@link FormatRegistry} whenever params are
 * built, so it is compiled once per executor, and a bad one fails where these settings are made (on
 * the driver), before any row.
 *
 * @param json a JSON object of the keys above; checked when made
 */
public record SamplingDefaults(String json) implements Serializable {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** How each key sets a builder: the keys the parser knows, in documentation order. */
  private static final Map<String, BiConsumer<SamplingParams.Builder, JsonNode>> SETTERS =
      setters();

  /** The JSON keys, in documentation order. */
  public static final List<String> KEYS = List.copyOf(SETTERS.keySet());

  public SamplingDefaults {
    builder(json, 0).build();
  }

  /** The runtime's defaults: greedy, 128 new tokens, no stop strings, no log-probabilities. */
  public static SamplingDefaults runtimeDefaults() {
    return new SamplingDefaults("{}");
  }

  /** These settings with {@code json}'s keys applied, for use as defaults of SQL functions. */
  public SamplingDefaults with(String more) {
    ObjectNode merged = object(json).deepCopy();
    merged.setAll(object(more));
    return new SamplingDefaults(merged.toString());
  }

  /** A builder holding these settings and {@code seed}. */
  public SamplingParams.Builder builder(long seed) {
    return builder(json, seed);
  }

  /**
   * These settings parsed once, for the many rows that start from them: {@link Parsed#builder}
   * gives what {@link #builder} does without reading the JSON again.
   */
  public Parsed parse() {
    return new Parsed(builder(json, 0).build(), object(json).has("seed"));
  }

  /**
   * Parsed settings.
   *
   * @param params the settings, with seed 0 unless they name one
   * @param fixesSeed whether they name a seed, which then wins over a row's own
   */
  public record Parsed(SamplingParams params, boolean fixesSeed) {
    /** A builder holding these settings and {@code seed}, unless they name their own. */
    public SamplingParams.Builder builder(long seed) {
      SamplingParams.Builder b = params.toBuilder();
      return fixesSeed ? b : b.seed(seed);
    }
  }

  private static SamplingParams.Builder builder(String json, long seed) {
    SamplingParams.Builder b = SamplingParams.builder().seed(seed);
    apply(json, b);
    return b;
  }

  /**
   * Applies a JSON object of sampling parameters to {@code builder}.
   *
   * @throws IllegalArgumentException for malformed JSON, an unknown key or a value of the wrong
   *     type
   */
  static void apply(String json, SamplingParams.Builder builder) {
    for (Iterator<Map.Entry<String, JsonNode>> it = object(json).fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      BiConsumer<SamplingParams.Builder, JsonNode> setter = SETTERS.get(field.getKey());
      if (setter == null) {
        throw new IllegalArgumentException(
            "unknown sampling parameter '"
                + field.getKey()
                + "' (known: "
                + String.join(", ", KEYS)
                + ")");
      }
      setter.accept(builder, field.getValue());
    }
  }

  private static ObjectNode object(String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("params_json is not valid JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("params_json must be a JSON object, got: " + json);
    }
    return (ObjectNode) root;
  }

  private static Map<String, BiConsumer<SamplingParams.Builder, JsonNode>> setters() {
    Map<String, BiConsumer<SamplingParams.Builder, JsonNode>> s = new LinkedHashMap<>();
    s.put("temperature", (b, v) -> b.temperature(number("temperature", v)));
    s.put("top_k", (b, v) -> b.topK(integer("top_k", v)));
    s.put("top_p", (b, v) -> b.topP(number("top_p", v)));
    s.put("min_p", (b, v) -> b.minP(number("min_p", v)));
    s.put("repetition_penalty", (b, v) -> b.repetitionPenalty(number("repetition_penalty", v)));
    s.put("presence_penalty", (b, v) -> b.presencePenalty(number("presence_penalty", v)));
    s.put("frequency_penalty", (b, v) -> b.frequencyPenalty(number("frequency_penalty", v)));
    s.put(
        "seed",
        (b, v) -> {
          if (!v.canConvertToLong() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException("seed must be an integer, got " + v);
          }
          b.seed(v.longValue());
        });
    s.put("max_new_tokens", (b, v) -> b.maxNewTokens(integer("max_new_tokens", v)));
    s.put("min_tokens", (b, v) -> b.minTokens(integer("min_tokens", v)));
    s.put("n", (b, v) -> b.n(integer("n", v)));
    s.put("stop", (b, v) -> b.stopStrings(strings(v)));
    s.put("stop_token_ids", (b, v) -> b.stopTokenIds(ids(v)));
    s.put("logit_bias", (b, v) -> b.logitBias(LogitBias.parse(v)));
    s.put(
        "logprobs",
        (b, v) -> {
          if (!v.isBoolean()) {
            throw new IllegalArgumentException("logprobs must be true or false, got " + v);
          }
          b.logprobs(v.booleanValue());
        });
    s.put("top_logprobs", (b, v) -> b.topLogprobs(integer("top_logprobs", v)));
    s.put(
        "response_format",
        (b, v) -> b.responseFormat(v.isNull() ? null : FormatRegistry.compiled(v.toString())));
    return s;
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

  private static List<Integer> ids(JsonNode v) {
    if (!v.isArray()) {
      throw new IllegalArgumentException("stop_token_ids must be an array of token ids, got " + v);
    }
    List<Integer> out = new ArrayList<>();
    for (JsonNode id : v) {
      out.add(integer("every stop_token_ids entry", id));
    }
    return out;
  }
}
