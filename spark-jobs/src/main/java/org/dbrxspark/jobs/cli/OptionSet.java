package org.dbrxspark.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The options one job accepts: parses {@code --name value} arguments (and an optional {@code
 * --config} pipeline file) and renders {@code --help} from the same definitions.
 *
 * <p>A pipeline file is JSON or YAML holding a map of option names (without dashes) to values; a
 * key whose value is itself a map is a per-job section and applies only to the job of that name, so
 * one file can carry a whole pipeline. Precedence: defaults, then the file's top level, then the
 * job's section, then the command line.
 */
public final class OptionSet {
  /** Reads options from a JSON or YAML file; the command line overrides it. */
  public static final OptionSpec<String> CONFIG =
      OptionSpec.path(
          "config",
          "",
          "JSON or YAML pipeline file with option values (a map; a map-valued key holds one job's options)");

  /** Prints the options and exits. */
  public static final OptionSpec<Boolean> HELP =
      OptionSpec.flag("help", "Print this help and exit");

  private final String job;
  private final Map<String, OptionSpec<?>> specs = new LinkedHashMap<>();

  public OptionSet(String job, List<OptionSpec<?>> options) {
    this.job = job;
    add(HELP);
    add(CONFIG);
    options.forEach(this::add);
  }

  private void add(OptionSpec<?> spec) {
    if (specs.putIfAbsent(spec.name(), spec) != null) {
      throw new IllegalStateException("option --" + spec.name() + " defined twice for " + job);
    }
  }

  /**
   * Parses arguments (everything after the job name). Help short-circuits validation so that {@code
   * JOB --help} works without the required options.
   *
   * @throws UsageException naming the unknown option, the missing one, or the bad value
   */
  public ParsedOptions parse(String[] args) {
    Map<String, String> cli = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--") || arg.length() == 2) {
        throw new UsageException(
            "unexpected argument '" + arg + "' (options look like --name value)");
      }
      String name = arg.substring(2);
      String value = null;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      }
      OptionSpec<?> spec = lookup(name, "");
      if (spec.isFlag()) {
        cli.put(name, value == null ? "true" : value);
        continue;
      }
      if (value == null) {
        if (i + 1 >= args.length) {
          throw new UsageException("option --" + name + " needs a value (" + spec.metavar() + ")");
        }
        value = args[++i];
      }
      cli.put(name, value);
    }
    if (Boolean.parseBoolean(cli.getOrDefault(HELP.name(), "false"))) {
      return new ParsedOptions(Map.of(HELP.name(), true));
    }
    Map<String, String> raw = new LinkedHashMap<>();
    String config = cli.get(CONFIG.name());
    if (config != null && !config.isBlank()) {
      raw.putAll(readConfig(config));
    }
    raw.putAll(cli);
    return resolve(raw);
  }

  private ParsedOptions resolve(Map<String, String> raw) {
    Map<String, Object> values = new LinkedHashMap<>();
    for (OptionSpec<?> spec : specs.values()) {
      String text = raw.get(spec.name());
      if (text == null) {
        if (spec.required()) {
          throw new UsageException(
              "missing required option --" + spec.name() + " (" + spec.description() + ")");
        }
        text = spec.defaultText();
      }
      try {
        values.put(spec.name(), spec.parse(text));
      } catch (IllegalArgumentException e) {
        throw new UsageException("bad value for --" + spec.name() + ": " + e.getMessage());
      }
    }
    return new ParsedOptions(values);
  }

  private OptionSpec<?> lookup(String name, String where) {
    OptionSpec<?> spec = specs.get(name);
    if (spec == null) {
      throw new UsageException(
          "unknown option --" + name + where + " for job '" + job + "' (see " + job + " --help)");
    }
    return spec;
  }

  private Map<String, String> readConfig(String path) {
    File file = new File(path);
    if (!file.isFile()) {
      throw new UsageException("--config file not found: " + path);
    }
    String lower = path.toLowerCase(Locale.ROOT);
    ObjectMapper mapper =
        lower.endsWith(".json") ? new ObjectMapper() : new ObjectMapper(new YAMLFactory());
    Map<?, ?> tree;
    try {
      Object parsed = mapper.readValue(file, Object.class);
      if (!(parsed instanceof Map<?, ?> map)) {
        throw new UsageException("--config " + path + " must hold a map of option names to values");
      }
      tree = map;
    } catch (IOException e) {
      throw new UsageException("cannot read --config " + path + ": " + e.getMessage());
    }
    Map<String, String> out = new LinkedHashMap<>();
    Map<?, ?> section = null;
    for (Map.Entry<?, ?> e : tree.entrySet()) {
      String key = String.valueOf(e.getKey());
      if (e.getValue() instanceof Map<?, ?> m) {
        if (key.equals(job)) {
          section = m;
        }
      } else {
        putConfigValue(out, key, e.getValue(), path);
      }
    }
    if (section != null) {
      for (Map.Entry<?, ?> e : section.entrySet()) {
        putConfigValue(out, String.valueOf(e.getKey()), e.getValue(), path);
      }
    }
    return out;
  }

  private void putConfigValue(Map<String, String> out, String key, Object value, String path) {
    String name = key.replace('_', '-');
    OptionSpec<?> spec = lookup(name, " in " + path);
    if (spec == CONFIG) {
      throw new UsageException("a pipeline file cannot name another --config (" + path + ")");
    }
    String text =
        value instanceof List<?> list
            ? list.stream().map(String::valueOf).collect(Collectors.joining(","))
            : String.valueOf(value);
    out.put(name, text);
  }

  /** The {@code --help} text: every option with its default and description. */
  public String help(String description) {
    StringBuilder sb = new StringBuilder();
    sb.append("Usage: dbrx-spark ").append(job).append(" [--option value ...]\n\n");
    sb.append(description).append("\n\nOptions:\n");
    List<String[]> rows = new ArrayList<>();
    for (OptionSpec<?> s : specs.values()) {
      String left = "  --" + s.name() + (s.isFlag() ? "" : " " + s.metavar());
      String def =
          s.isFlag()
              ? ""
              : s.required()
                  ? " (required)"
                  : " (default: " + (s.defaultText().isEmpty() ? "none" : s.defaultText()) + ")";
      rows.add(new String[] {left, s.description() + def});
    }
    int width = rows.stream().mapToInt(r -> r[0].length()).max().orElse(0) + 2;
    for (String[] r : rows) {
      sb.append(String.format("%-" + width + "s%s%n", r[0], r[1]));
    }
    return sb.toString();
  }
}
