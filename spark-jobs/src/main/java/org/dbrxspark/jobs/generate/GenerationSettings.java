package org.dbrxspark.jobs.generate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;

/**
 * The option values that decide what generate writes for a row (model, columns, prompt format,
 * sampling, seed), as JSON with sorted keys. The output table keeps them, so a re-run with other
 * values is refused instead of mixing two kinds of output. Throughput options are not part of it:
 * they do not change a row's result.
 */
final class GenerationSettings {
  private static final ObjectMapper JSON = new ObjectMapper();

  private GenerationSettings() {}

  /** The JSON of {@code specs}' values in {@code options}. */
  static String of(ParsedOptions options, List<OptionSpec<?>> specs) {
    Map<String, String> values = new TreeMap<>();
    specs.forEach(s -> values.put(s.name(), String.valueOf(options.get(s))));
    try {
      return JSON.writeValueAsString(values);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The settings that differ, as {@code name: stored (table) vs current (this run)}, for error
   * messages.
   */
  static String differences(String stored, String current) {
    Map<String, String> before = parse(stored);
    Map<String, String> now = parse(current);
    TreeMap<String, String> keys = new TreeMap<>(before);
    keys.putAll(now);
    List<String> out = new ArrayList<>();
    for (String key : keys.keySet()) {
      String a = before.get(key);
      String b = now.get(key);
      if (a == null ? b != null : !a.equals(b)) {
        out.add("--" + key + " " + a + " (table) vs " + b + " (this run)");
      }
    }
    return String.join(", ", out);
  }

  private static Map<String, String> parse(String json) {
    try {
      return JSON.readValue(json, new TypeReference<TreeMap<String, String>>() {});
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "unreadable " + OutputTable.SETTINGS_PROPERTY + " property: " + json, e);
    }
  }
}
