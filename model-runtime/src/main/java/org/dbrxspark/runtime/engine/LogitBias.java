package org.dbrxspark.runtime.engine;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * OpenAI's {@code logit_bias} form, read into {@link SamplingParams#logitBias}: a JSON object whose
 * keys are token ids (as strings) and whose values are biases. The ranges are checked by {@link
 * SamplingParams}.
 */
public final class LogitBias {
  private LogitBias() {}

  /**
   * @throws IllegalArgumentException when {@code v} is not an object of token id to number
   */
  public static Map<Integer, Double> parse(JsonNode v) {
    if (!v.isObject()) {
      throw new IllegalArgumentException(
          "logit_bias must be an object of token id to bias, e.g. {\"198\": -100}, got " + v);
    }
    Map<Integer, Double> out = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      int id;
      try {
        id = Integer.parseInt(e.getKey());
      } catch (NumberFormatException ex) {
        throw new IllegalArgumentException(
            "logit_bias key '" + e.getKey() + "' is not a token id", ex);
      }
      if (!e.getValue().isNumber()) {
        throw new IllegalArgumentException(
            "logit_bias of token " + id + " must be a number, got " + e.getValue());
      }
      out.put(id, e.getValue().doubleValue());
    }
    return out;
  }
}
