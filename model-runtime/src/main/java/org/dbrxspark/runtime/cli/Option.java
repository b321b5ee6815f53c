package org.dbrxspark.runtime.cli;

/**
 * A {@code --name value} option of a subcommand. The same definition drives parsing and
 * {@code --help}, so the two cannot drift.
 *
 * @param name without the leading dashes
 * @param defaultValue the value when absent; {@code null} for required options and flags
 * @param help one line for {@code --help}
 * @param kind how the option takes its value
 */
record Option(String name, String defaultValue, String help, Kind kind) {
  enum Kind {
    /** Takes one value. */
    VALUE,
    /** Takes one value and may be repeated. */
    REPEATED,
    /** Takes no value: present means true. */
    FLAG
  }

  static Option value(String name, String defaultValue, String help) {
    return new Option(name, defaultValue, help, Kind.VALUE);
  }

  static Option required(String name, String help) {
    return new Option(name, null, help, Kind.VALUE);
  }

  static Option repeated(String name, String help) {
    return new Option(name, null, help, Kind.REPEATED);
  }

  static Option flag(String name, String help) {
    return new Option(name, null, help, Kind.FLAG);
  }
}
