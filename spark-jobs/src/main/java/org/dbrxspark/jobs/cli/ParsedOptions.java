package org.dbrxspark.jobs.cli;

import java.util.Map;

/**
 * Option values after defaults, the pipeline file and the command line (or the values given in
 * code, {@link OptionValues}) were merged, parsed and checked.
 */
public final class ParsedOptions {
  private final Map<String, Object> values;

  ParsedOptions(Map<String, Object> values) {
    this.values = Map.copyOf(values);
  }

  /** The parsed value of {@code spec} (its default when it was not given). */
  @SuppressWarnings("unchecked")
  public <T> T get(OptionSpec<T> spec) {
    if (!values.containsKey(spec.name())) {
      throw new IllegalArgumentException(
          "option --" + spec.name() + " is not defined for this job");
    }
    return (T) values.get(spec.name());
  }

  /** Whether {@code --help} was asked for. */
  public boolean helpRequested() {
    return Boolean.TRUE.equals(values.get(OptionSet.HELP.name()));
  }
}
