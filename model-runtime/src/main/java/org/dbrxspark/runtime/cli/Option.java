package org.dbrxspark.runtime.cli;

/**
 * A {@code --name value} option of a subcommand. The same definition drives parsing and {@code
 * --help}, so the two cannot drift.
 *
 * @param name without the leading dashes
 * @param defaultValue the value when absent; {@code null} for flags and options without one
 * @param help one line for {@code --help}
 * @param kind how the option takes its value
 * @param required whether the command fails without it
 */
record Option(String name, String defaultValue, String help, Kind kind, boolean required) {
  enum Kind {
    /** Takes one value. */
    VALUE,
    /** Takes one value and may be repeated. */
    REPEATED,
    /** Takes no value: present means true. */
    FLAG
  }

  static Option value(String name, String defaultValue, String help) {
    return new Option(name, defaultValue, help, Kind.VALUE, false);
  }

  static Option required(String name, String help) {
    return new Option(name, null, help, Kind.VALUE, true);
  }

  static Option repeated(String name, String help) {
    return new Option(name, null, help, Kind.REPEATED, false);
  }

  static Option flag(String name, String help) {
    return new Option(name, null, help, Kind.FLAG, false);
  }
}
