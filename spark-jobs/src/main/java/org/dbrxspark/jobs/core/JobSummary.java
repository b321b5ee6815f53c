package org.dbrxspark.jobs.core;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.dbrxspark.jobs.cli.OptionSpec;

/**
 * The one-screen report a job prints when it ends: labelled counts and values, plus the
 * reconciliation checks (for example input = kept + rejected) that must hold. The same report is
 * written as JSON ({@link #toJson}) for tools and notebooks, with what does not fit on a screen
 * besides: each filter's keep/reject counts, histograms of the signals, timings, and the summaries
 * of a run's parts (the pipeline's stages).
 */
public final class JobSummary {
  /** The option a job offers to write its summary as JSON too ({@link #writeJson}). */
  public static final OptionSpec<String> STATS_OUTPUT =
      OptionSpec.path(
          "stats-output",
          "",
          "Local file to write the summary to as JSON too (title, entries, filters, histograms, timings, "
              + "parts, reconciliation checks, balanced); empty: none");

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String title;
  private final Map<String, Object> entries = new LinkedHashMap<>();
  private final List<Check> checks = new ArrayList<>();
  private final Map<String, long[]> filters = new LinkedHashMap<>();
  private final Map<String, Object> histograms = new LinkedHashMap<>();
  private final Map<String, Double> timings = new LinkedHashMap<>();
  private final Map<String, JobSummary> parts = new LinkedHashMap<>();

  /** One reconciliation: {@code total = sum(parts)}, as the equation names them. */
  private record Check(String equation, long total, long[] parts) {
    long sum() {
      long sum = 0;
      for (long p : parts) {
        sum += p;
      }
      return sum;
    }

    boolean ok() {
      return sum() == total;
    }
  }

  public JobSummary(String title) {
    this.title = title;
  }

  /** Adds (or replaces) one line. */
  public JobSummary put(String label, Object value) {
    entries.put(label, value);
    return this;
  }

  /** Records how many rows filter {@code name} kept and rejected (JSON only). */
  public JobSummary filter(String name, long kept, long rejected) {
    filters.put(name, new long[] {kept, rejected});
    return this;
  }

  /**
   * Records the histogram of signal {@code name} (JSON only), e.g. {@link Histograms.Binned#toMap}.
   */
  public JobSummary histogram(String name, Object histogram) {
    histograms.put(name, histogram);
    return this;
  }

  /** Records that {@code phase} took {@code seconds} (shown as one line, and in the JSON). */
  public JobSummary timing(String phase, double seconds) {
    timings.put(phase, seconds);
    return this;
  }

  /** Nests the summary of one part of this run, e.g. a pipeline stage (JSON only). */
  public JobSummary part(String name, JobSummary part) {
    parts.put(name, part);
    return this;
  }

  /**
   * Records the check {@code total = sum(parts)}; a mismatch is shown and makes {@link #balanced()}
   * false.
   */
  public JobSummary reconcile(String equation, long total, long... parts) {
    checks.add(new Check(equation, total, parts.clone()));
    return this;
  }

  private static String join(long[] parts) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < parts.length; i++) {
      sb.append(i == 0 ? "" : " + ").append(parts[i]);
    }
    return sb.toString();
  }

  /** The labelled counts and values, in the order they are printed: what a library caller reads. */
  public Map<String, Object> entries() {
    return Collections.unmodifiableMap(entries);
  }

  /** Whether every reconciliation check held. */
  public boolean balanced() {
    return checks.stream().allMatch(Check::ok);
  }

  /**
   * The summary as a JSON object: {@code title}, {@code entries} (labels as keys, in order; numbers
   * and booleans as such, maps as objects, anything else as its text), {@code filters} (name to
   * kept and rejected), {@code histograms}, {@code timings} (seconds per phase), {@code parts}
   * (nested summaries), {@code checks} (equation, total, parts, ok) and {@code balanced}.
   */
  public String toJson() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toTree()) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the summary as JSON", e);
    }
  }

  private ObjectNode toTree() {
    ObjectNode root = JSON.createObjectNode().put("title", title);
    ObjectNode values = root.putObject("entries");
    entries.forEach(
        (label, value) ->
            values.set(
                label,
                value instanceof Number || value instanceof Boolean || value instanceof Map
                    ? JSON.valueToTree(value)
                    : JSON.getNodeFactory().textNode(String.valueOf(value))));
    ObjectNode filterNode = root.putObject("filters");
    filters.forEach(
        (name, counts) ->
            filterNode.putObject(name).put("kept", counts[0]).put("rejected", counts[1]));
    root.set("histograms", JSON.valueToTree(histograms));
    root.set("timings", JSON.valueToTree(timings));
    ObjectNode partNode = root.putObject("parts");
    parts.forEach((name, part) -> partNode.set(name, part.toTree()));
    ArrayNode list = root.putArray("checks");
    for (Check c : checks) {
      ObjectNode check = list.addObject().put("equation", c.equation()).put("total", c.total());
      ArrayNode parts = check.putArray("parts");
      for (long p : c.parts()) {
        parts.add(p);
      }
      check.put("ok", c.ok());
    }
    root.put("balanced", balanced());
    return root;
  }

  /**
   * Writes {@link #toJson} to the local file {@code file}, replacing it; a blank path writes
   * nothing.
   */
  public void writeJson(String file) {
    if (file.isBlank()) {
      return;
    }
    try {
      Files.writeString(Path.of(file), toJson());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write --stats-output " + file, e);
    }
  }

  /** A value as the screen shows it: a map of counts as {@code en=120, de=4}. */
  private static String shown(Object value) {
    if (value instanceof Map<?, ?> map) {
      if (map.isEmpty()) {
        return "(none)";
      }
      StringBuilder sb = new StringBuilder();
      map.forEach(
          (k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append('=').append(v));
      return sb.toString();
    }
    return String.valueOf(value);
  }

  @Override
  public String toString() {
    int width =
        Stream.concat(entries.keySet().stream(), timings.keySet().stream().map(p -> p + " time"))
                .mapToInt(String::length)
                .max()
                .orElse(0)
            + 2;
    String rule = "=".repeat(Math.max(40, title.length() + 4));
    StringBuilder sb = new StringBuilder();
    sb.append(rule).append('\n').append("  ").append(title).append('\n').append(rule).append('\n');
    entries.forEach((k, v) -> sb.append(String.format("  %-" + width + "s%s%n", k, shown(v))));
    timings.forEach(
        (phase, seconds) ->
            sb.append(
                String.format(
                    Locale.ROOT, "  %-" + width + "s%.1f s%n", phase + " time", seconds)));
    if (!checks.isEmpty()) {
      sb.append("  ").append("-".repeat(rule.length() - 2)).append('\n');
      for (Check c : checks) {
        sb.append("  ")
            .append(c.equation())
            .append(": ")
            .append(c.total())
            .append(" = ")
            .append(join(c.parts()))
            .append(c.ok() ? "  [ok]" : "  [MISMATCH: " + c.sum() + "]")
            .append('\n');
      }
    }
    sb.append(rule).append('\n');
    return sb.toString();
  }
}
