package org.dbrxspark.runtime.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Parsed options of one subcommand; typed getters name the option in their errors. */
final class Args {
  private final Map<String, Option> options;
  private final Map<String, List<String>> values;

  private Args(Map<String, Option> options, Map<String, List<String>> values) {
    this.options = options;
    this.values = values;
  }

  /** Parses {@code --name value} pairs against the declared options. */
  static Args parse(String command, List<Option> declared, List<String> argv) {
    Map<String, Option> options = new LinkedHashMap<>();
    for (Option o : declared) {
      options.put(o.name(), o);
    }
    Map<String, List<String>> values = new HashMap<>();
    for (int i = 0; i < argv.size(); i++) {
      String arg = argv.get(i);
      if (!arg.startsWith("--")) {
        throw new UsageException(
            command + ": unexpected argument '" + arg + "' (options are --name value)");
      }
      String name = arg.substring(2);
      Option option = options.get(name);
      if (option == null) {
        throw new UsageException(
            command + ": unknown option --" + name + " (see " + command + " --help)");
      }
      String value = "true";
      if (option.kind() != Option.Kind.FLAG) {
        if (i + 1 >= argv.size()) {
          throw new UsageException(command + ": option --" + name + " needs a value");
        }
        value = argv.get(++i);
      }
      List<String> list = values.computeIfAbsent(name, k -> new ArrayList<>());
      if (!list.isEmpty() && option.kind() != Option.Kind.REPEATED) {
        throw new UsageException(command + ": option --" + name + " given twice");
      }
      list.add(value);
    }
    return new Args(options, values);
  }

  boolean has(String name) {
    return values.containsKey(name) || declared(name).defaultValue() != null;
  }

  /** Whether {@code name} was given; false also for an option the command does not declare. */
  boolean given(String name) {
    return values.containsKey(name);
  }

  boolean flag(String name) {
    declared(name);
    return values.containsKey(name);
  }

  String string(String name) {
    List<String> given = values.get(name);
    if (given != null) {
      return given.get(0);
    }
    String dflt = declared(name).defaultValue();
    if (dflt == null) {
      throw new UsageException("missing required option --" + name);
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
      throw new UsageException("option --" + name + ": '" + v + "' is not an integer");
    }
  }

  long longValue(String name) {
    String v = string(name);
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new UsageException("option --" + name + ": '" + v + "' is not an integer");
    }
  }

  double number(String name) {
    String v = string(name);
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new UsageException("option --" + name + ": '" + v + "' is not a number");
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
