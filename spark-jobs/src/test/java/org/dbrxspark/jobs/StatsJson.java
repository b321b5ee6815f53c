package org.dbrxspark.jobs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.Map;
import java.util.regex.Pattern;

/** Checks a job's {@code --stats-output} JSON against the summary it printed. */
public final class StatsJson {
  private StatsJson() {}

  /** Parses {@code json}, failing the test when it is not valid JSON. */
  public static JsonNode parse(String json) {
    try {
      return new ObjectMapper().readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException("not valid JSON:\n" + json, e);
    }
  }

  /**
   * Asserts that the title, every entry (counts, values, count maps) and every reconciliation check
   * of {@code stats} appear in {@code printed} with the same values, as the summary prints them.
   */
  public static void assertMatchesPrinted(JsonNode stats, String printed) {
    assertTrue(printed.contains("  " + stats.get("title").asText() + "\n"), "title: " + printed);
    Iterator<Map.Entry<String, JsonNode>> entries = stats.get("entries").fields();
    while (entries.hasNext()) {
      Map.Entry<String, JsonNode> e = entries.next();
      String line =
          "(?m)^  "
              + Pattern.quote(e.getKey())
              + " {2,}"
              + Pattern.quote(shown(e.getValue()))
              + "$";
      assertTrue(
          Pattern.compile(line).matcher(printed).find(),
          "printed summary has no line '"
              + e.getKey()
              + "  "
              + shown(e.getValue())
              + "':\n"
              + printed);
    }
    for (JsonNode check : stats.get("checks")) {
      StringBuilder line =
          new StringBuilder(check.get("equation").asText())
              .append(": ")
              .append(check.get("total").asLong())
              .append(" = ");
      long sum = 0;
      for (int i = 0; i < check.get("parts").size(); i++) {
        long part = check.get("parts").get(i).asLong();
        line.append(i == 0 ? "" : " + ").append(part);
        sum += part;
      }
      line.append(check.get("ok").asBoolean() ? "  [ok]" : "  [MISMATCH: " + sum + "]");
      assertTrue(
          printed.contains(line), "printed summary has no check '" + line + "':\n" + printed);
    }
  }

  private static String shown(JsonNode value) {
    if (!value.isObject()) {
      return value.asText();
    }
    if (value.isEmpty()) {
      return "(none)";
    }
    StringBuilder sb = new StringBuilder();
    value
        .fields()
        .forEachRemaining(
            e ->
                sb.append(sb.length() == 0 ? "" : ", ")
                    .append(e.getKey())
                    .append('=')
                    .append(e.getValue().asText()));
    return sb.toString();
  }
}
