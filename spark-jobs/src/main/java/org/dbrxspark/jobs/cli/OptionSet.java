package org.dbrxspark.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.File;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.dbrxspark.runtime.cli.CliConventions;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * The options one job accepts: parses {@code --name value} arguments (and an optional {@code
 * --config} pipeline file), or composes them from typed values given in code ({@link #compose}),
 * and renders {@code --help} from the same definitions, through a picocli command built from them.
 *
 * <p>A pipeline file is JSON or YAML holding a map of option names (without dashes) to values; a
 * key whose value is itself a map is a per-job section and applies only to the job of that name, so
 * one file can carry a whole pipeline. Precedence: defaults, then the file's top level, then the
 * job's section, then the command line. A job that the pipeline runs reads only its section, under
 * the values the pipeline gives it ({@link #compose}).
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
   * Parses arguments (everything after the job name): {@code --name value} or {@code --name=value},
   * the last one winning when an option is given twice. Help short-circuits validation so that
   * {@code JOB --help} works without the required options.
   *
   * @throws UsageException naming the unknown option, the missing one, or the bad value
   */
  public ParsedOptions parse(String[] args) {
    ParseResult parsed;
    try {
      parsed = new CommandLine(commandSpec()).setOverwrittenOptionsAllowed(true).parseArgs(args);
    } catch (ParameterException e) {
      throw new UsageException(CliConventions.describe(e, job + " --help"));
    }
    if (parsed.isUsageHelpRequested()) {
      return new ParsedOptions(Map.of(HELP.name(), true));
    }
    Map<String, String> cli = new LinkedHashMap<>();
    for (CommandLine.Model.OptionSpec given : parsed.matchedOptions()) {
      cli.put(given.longestName().substring(2), CliConventions.lastValue(given));
    }
    Map<String, String> text = new LinkedHashMap<>();
    String config = cli.get(CONFIG.name());
    if (config != null && !config.isBlank()) {
      text.putAll(readConfig(config, true));
    }
    text.putAll(cli);
    return resolve(text, OptionValues.none());
  }

  /**
   * The options of a job that another job runs in code, as the pipeline runs its stages: {@code
   * given} over this job's section of {@code pipelineFile} (none when it is empty) over the
   * defaults. Given values are checked against their specs as parsed ones are, and none is turned
   * into text and back. The file's top level is left out: it holds the options of the job that was
   * given the file (the pipeline), not those of the jobs it runs.
   *
   * @throws UsageException naming the file's unknown option, the missing one, or the bad value
   * @throws IllegalArgumentException when {@code given} holds a spec that is not this job's
   */
  public ParsedOptions compose(String pipelineFile, OptionValues given) {
    for (OptionSpec<?> spec : given.bySpec().keySet()) {
      if (specs.get(spec.name()) != spec) {
        throw new IllegalArgumentException(
            "--" + spec.name() + " given in code is not one of " + job + "'s options");
      }
    }
    Map<String, String> section =
        pipelineFile.isBlank() ? Map.of() : readConfig(pipelineFile, false);
    return resolve(section, given);
  }

  /**
   * This job as a picocli command, built from the option specs: what parsing, {@code --help} and
   * shell completion read. Values stay text here; {@link OptionSpec} converts them once the
   * pipeline file is merged in.
   */
  public CommandSpec commandSpec() {
    return commandSpec("");
  }

  private CommandSpec commandSpec(String description) {
    CommandSpec spec = CliConventions.command(job, description);
    for (OptionSpec<?> s : specs.values()) {
      if (s != HELP) {
        spec.addOption(
            CliConventions.option(
                s.name(),
                s.metavar(),
                s.description(),
                s.required(),
                s.defaultText(),
                false,
                "PATH".equals(s.metavar()),
                s.choices()));
      }
    }
    return spec;
  }

  /** Each option's value: given in code, else parsed from {@code text}, else its default. */
  private ParsedOptions resolve(Map<String, String> text, OptionValues given) {
    Map<String, Object> values = new LinkedHashMap<>();
    for (OptionSpec<?> spec : specs.values()) {
      Object value;
      try {
        value =
            given.bySpec().containsKey(spec)
                ? checked(spec, given.bySpec().get(spec))
                : spec.parse(textOrDefault(spec, text.get(spec.name())));
      } catch (IllegalArgumentException e) {
        throw new UsageException("bad value for --" + spec.name() + ": " + e.getMessage());
      }
      values.put(spec.name(), value);
    }
    return new ParsedOptions(values);
  }

  private static String textOrDefault(OptionSpec<?> spec, String text) {
    if (text == null && spec.required()) {
      throw new UsageException(
          "missing required option --" + spec.name() + " (" + spec.description() + ")");
    }
    return text == null ? spec.defaultText() : text;
  }

  @SuppressWarnings("unchecked") // OptionValues.with keys each value by a spec of its type
  private static <T> T checked(OptionSpec<T> spec, Object value) {
    return spec.check((T) value);
  }

  private OptionSpec<?> lookup(String name, String where) {
    OptionSpec<?> spec = specs.get(name);
    if (spec == null) {
      throw new UsageException(
          "unknown option --" + name + where + " for job '" + job + "' (see " + job + " --help)");
    }
    return spec;
  }

  /** The file's option values as text: this job's section over the top level, if asked for. */
  private Map<String, String> readConfig(String path, boolean withTopLevel) {
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
      } else if (withTopLevel) {
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
    CommandSpec root = CliConventions.command("dbrx-spark", "");
    CommandSpec spec = commandSpec(description);
    root.addSubcommand(job, spec);
    return CliConventions.help(spec);
  }
}
