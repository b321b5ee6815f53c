package org.dbrxspark.jobs.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Option values given in code as typed values, not as text: how the pipeline hands each stage its
 * options. Keys are a job's own {@link OptionSpec}s, so a renamed or retyped option is a compile
 * error where the values are composed; {@link OptionSet#compose} checks each value against its
 * spec's bounds and choices, as the parser does, and fills in the rest.
 */
public final class OptionValues {
  private final Map<OptionSpec<?>, Object> values;

  private OptionValues(Map<OptionSpec<?>, Object> values) {
    this.values = values;
  }

  /** No values: every option takes its default. */
  public static OptionValues none() {
    return new OptionValues(Map.of());
  }

  /** These values and {@code spec} set to {@code value} (replacing a value it had). */
  public <T> OptionValues with(OptionSpec<T> spec, T value) {
    Map<OptionSpec<?>, Object> more = new LinkedHashMap<>(values);
    more.put(spec, Objects.requireNonNull(value, () -> "no value for --" + spec.name()));
    return new OptionValues(more);
  }

  /** The values by spec; a spec maps to a value of its own type, as {@link #with} ensures. */
  Map<OptionSpec<?>, Object> bySpec() {
    return values;
  }

  /** The values as {@code name=value} pairs, for logs. */
  @Override
  public String toString() {
    return values.entrySet().stream()
        .map(e -> e.getKey().name() + "=" + e.getValue())
        .collect(Collectors.joining(", ", "{", "}"));
  }
}
