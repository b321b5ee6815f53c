package org.dbrxspark.runtime.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/** Parsed options of one subcommand; typed getters name the option in their errors. */
final class Args {
  private final Map<String, Option> options;
  private final Map<String, List<String>> values;
  private final boolean helpRequested;

  private Args(Map<String, Option> options, Map<String, List<String>> values, boolean help) {
    this.options = options;
    this.values = values;
    this.helpRequested = help;
  }

  /**
   * Parses {@code --name value} and {@code --name=value} against the declared options with picocli;
   * a wrong command line is an {@link InvalidCommandLineException} naming the option.
   */
  static Args parse(String command, List<Option> declared, List<String> argv) {
    Map<String, Option> options = new LinkedHashMap<>();
    for (Option o : declared) {
      options.put(o.name(), o);
    }
    ParseResult parsed;
    try {
      parsed = new CommandLine(spec(command, "", declared)).parseArgs(argv.toArray(String[]::new));
    } catch (ParameterException e) {
      throw new InvalidCommandLineException(CliConventions.describe(e, command + " --help"));
    }
    Map<String, List<String>> values = new HashMap<>();
    for (OptionSpec o : parsed.matchedOptions()) {
      String name = o.longestName().substring(2);
      if (options.containsKey(name)) {
        values.put(
            name,
            options.get(name).kind() == Option.Kind.FLAG
                ? List.of(CliConventions.lastValue(o))
                : List.copyOf(o.originalStringValues()));
      }
    }
    return new Args(options, values, parsed.isUsageHelpRequested());
  }

  /** The picocli command for {@code declared}: what parsing, {@code --help} and completion read. */
  static CommandSpec spec(String command, String summary, List<Option> declared) {
    CommandSpec spec = CliConventions.command(command, summary);
    for (Option o : declared) {
      spec.addOption(
          CliConventions.option(
              o.name(),
              o.kind() == Option.Kind.FLAG ? null : "VALUE",
              o.help(),
              o.required(),
              o.defaultValue(),
              o.kind() == Option.Kind.REPEATED,
              false,
              List.of()));
    }
    return spec;
  }

  /** Whether {@code --help} was given: the command then prints its help instead of running. */
  boolean helpRequested() {
    return helpRequested;
  }

  boolean has(String name) {
    return values.containsKey(name) || declared(name).defaultValue() != null;
  }

  /** Whether flag {@code name} is on: given bare or as {@code --name=true}. */
  boolean flag(String name) {
    declared(name);
    return values.containsKey(name) && Boolean.parseBoolean(values.get(name).get(0));
  }

  /** Whether flag {@code name} is on; false also for a flag the command does not declare. */
  boolean flagIfDeclared(String name) {
    return options.containsKey(name) && flag(name);
  }

  String string(String name) {
    List<String> given = values.get(name);
    if (given != null) {
      return given.get(0);
    }
    String dflt = declared(name).defaultValue();
    if (dflt == null) {
      throw new InvalidCommandLineException("missing required option --" + name);
    }
    return dflt;
  }

  List<String> all(String name) {
    declared(name);
    return values.getOrDefault(name, List.of());
  }

  int integer(String name) {
    String v = string(name);
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new InvalidCommandLineException("option --" + name + ": '" + v + "' is not an integer");
    }
  }

  /** A comma-separated list of integers. */
  List<Integer> integers(String name) {
    List<Integer> out = new ArrayList<>();
    for (String part : string(name).split(",", -1)) {
      try {
        out.add(Integer.parseInt(part.trim()));
      } catch (NumberFormatException e) {
        throw new InvalidCommandLineException(
            "option --" + name + ": '" + part + "' is not an integer");
      }
    }
    return out;
  }

  long longValue(String name) {
    String v = string(name);
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new InvalidCommandLineException("option --" + name + ": '" + v + "' is not an integer");
    }
  }

  /**
   * A size in bytes: a whole number, optionally followed by K, M, G or T (powers of 1000, as
   * llama.cpp's {@code --split-max-size} and the model hubs' file limits count them).
   */
  long bytes(String name) {
    String v = string(name).trim();
    String digits = v;
    long unit = 1;
    int suffix = v.isEmpty() ? -1 : "KMGT".indexOf(Character.toUpperCase(v.charAt(v.length() - 1)));
    if (suffix >= 0) {
      digits = v.substring(0, v.length() - 1);
      unit = (long) Math.pow(1000, suffix + 1);
    }
    try {
      long count = Long.parseLong(digits);
      if (count > 0) {
        return Math.multiplyExact(count, unit);
      }
    } catch (NumberFormatException | ArithmeticException e) {
      // refused below
    }
    throw new InvalidCommandLineException(
        "option --"
            + name
            + ": '"
            + v
            + "' is not a size: a positive whole number, then K, M, G or T");
  }

  double number(String name) {
    String v = string(name);
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new InvalidCommandLineException("option --" + name + ": '" + v + "' is not a number");
    }
  }

  Path path(String name) {
    return Path.of(string(name));
  }

  private Option declared(String name) {
    Option o = options.get(name);
    if (o == null) {
      throw new IllegalStateException("option --" + name + " is not declared");
    }
    return o;
  }
}
