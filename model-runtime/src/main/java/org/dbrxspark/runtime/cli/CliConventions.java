package org.dbrxspark.runtime.cli;

import java.util.List;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Help.IParamLabelRenderer;
import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.OverwrittenOptionException;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * What {@code bin/dbrx} and {@code bin/dbrx-spark} share, both built on picocli: the exit codes,
 * how options are declared to picocli, the {@code --help} layout, how a bad command line is worded
 * (naming the option at fault), and the bash completion script.
 */
public final class CliConventions {
  /** The run finished and every check held. */
  public static final int DONE = 0;

  /** The run failed, or its counts or checks did not hold. */
  public static final int FAILED = 1;

  /** The command line or pipeline file cannot be run; nothing was done. */
  public static final int USAGE = 2;

  /** Used by the bin scripts only: the classes they launch are not built yet. */
  public static final int NOT_BUILT = 3;

  /** The subcommand both CLIs offer that prints their bash completion script. */
  public static final String COMPLETION = "completion";

  /**
   * Help lines are not wrapped: a description stays on its option's line, so that the reference
   * made from {@code --help} (docs/options.md) can be searched line by line.
   */
  private static final int HELP_WIDTH = 1000;

  private CliConventions() {}

  /** A new command for picocli: no {@code @file} expansion, no {@code ${...}} interpolation. */
  public static CommandSpec command(String name, String description) {
    CommandSpec spec = CommandSpec.create().name(name).interpolateVariables(false);
    spec.usageMessage()
        .description(formatSafe(description))
        .abbreviateSynopsis(true)
        .sortOptions(false)
        .descriptionHeading("%n")
        .optionListHeading("%nOptions:%n")
        .commandListHeading("%nCommands:%n");
    spec.parser().expandAtFiles(false);
    spec.addOption(
        OptionSpec.builder("-h", "--help")
            .usageHelp(true)
            .description("Print this help and exit")
            .build());
    return spec;
  }

  /**
   * Declares {@code --name}: {@code label} is what its value looks like in {@code --help} ({@code
   * null} for a flag, which takes none or an attached {@code =true|false}); the help line ends with
   * {@code (required)} or {@code (default: ...)}, from {@code defaultText}. Values are kept as
   * text: each CLI converts them with its own error wording.
   *
   * @param path whether the value is a file or folder (completion then offers file names)
   * @param choices the allowed values, offered by completion; empty for any value
   */
  public static OptionSpec option(
      String name,
      String label,
      String help,
      boolean required,
      String defaultText,
      boolean repeated,
      boolean path,
      List<String> choices) {
    String suffix =
        label == null
            ? ""
            : required
                ? " (required)"
                : defaultText == null
                    ? ""
                    : " (default: " + (defaultText.isEmpty() ? "none" : defaultText) + ")";
    OptionSpec.Builder b =
        OptionSpec.builder("--" + name)
            .description(formatSafe(help + suffix))
            .hideParamSyntax(true);
    if (label == null) {
      // A flag: present means true; --name=false spells out the default.
      return b.arity("0..1").type(boolean.class).build();
    }
    b.arity("1").paramLabel(label).type(path ? java.io.File.class : String.class);
    if (repeated) {
      b.type(List.class).auxiliaryTypes(path ? java.io.File.class : String.class);
    }
    if (!choices.isEmpty()) {
      b.completionCandidates(choices);
    }
    return b.build();
  }

  /** The text a command's option was given, the last one when it was given twice. */
  public static String lastValue(OptionSpec option) {
    List<String> given = option.originalStringValues();
    return given.isEmpty() ? "true" : given.get(given.size() - 1);
  }

  /**
   * The {@code --help} text of {@code spec}: usage line, description, then one line per option; a
   * value is shown after a space ({@code --name VALUE}), though {@code --name=VALUE} parses too.
   */
  public static String help(CommandSpec spec) {
    CommandLine cl = new CommandLine(spec);
    cl.setSeparator(" ");
    cl.setUsageHelpWidth(HELP_WIDTH);
    cl.setHelpFactory(FlagsWithoutLabel::new);
    int longest =
        spec.options().stream()
            .mapToInt(
                o ->
                    o.longestName().length()
                        + (o.arity().max() > 0 ? 1 + o.paramLabel().length() : 0))
            .max()
            .orElse(0);
    cl.setUsageHelpLongOptionsMaxWidth(Math.max(20, longest + 1));
    return cl.getUsageMessage(Help.Ansi.OFF);
  }

  /**
   * One line that says what is wrong with a command line picocli rejected, naming the option at
   * fault; {@code helpHint} (e.g. {@code curate --help}) is where to look for the right one.
   */
  public static String describe(ParameterException e, String helpHint) {
    if (e instanceof UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
      String arg = u.getUnmatched().get(0);
      if (!arg.startsWith("-") || arg.equals("--") || arg.equals("-")) {
        return "unexpected argument '" + arg + "' (options look like --name value)";
      }
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      // Picocli lists the known options most similar first: the first is the likely typo.
      List<String> near = u.getSuggestions();
      return "unknown option "
          + name
          + (near.isEmpty() ? "" : " (did you mean " + near.get(0) + "?)")
          + "; see "
          + helpHint;
    }
    if (e instanceof MissingParameterException m && !m.getMissing().isEmpty()) {
      ArgSpec arg = m.getMissing().get(0);
      if (arg instanceof OptionSpec o) {
        return "option " + o.longestName() + " needs a value (" + o.paramLabel() + ")";
      }
    }
    if (e instanceof OverwrittenOptionException o
        && o.getOverwritten() instanceof OptionSpec spec) {
      return "option " + spec.longestName() + " given twice";
    }
    return e.getMessage();
  }

  /**
   * The bash completion script for {@code root} and its subcommands: source it ({@code source
   * <(dbrx completion)}) to complete command and option names, choices and paths.
   */
  public static String completionScript(CommandSpec root) {
    return AutoComplete.bash(root.name(), new CommandLine(root));
  }

  /**
   * Help that shows a flag as {@code --name}: its optional {@code =true|false} goes unmentioned.
   */
  private static final class FlagsWithoutLabel extends Help {
    FlagsWithoutLabel(CommandSpec spec, Help.ColorScheme colors) {
      super(spec, colors);
    }

    @Override
    public IParamLabelRenderer parameterLabelRenderer() {
      IParamLabelRenderer labels = super.parameterLabelRenderer();
      return new IParamLabelRenderer() {
        @Override
        public Help.Ansi.Text renderParameterLabel(
            ArgSpec arg, Help.Ansi ansi, List<Help.Ansi.IStyle> styles) {
          return arg.type() == boolean.class
              ? ansi.text("")
              : labels.renderParameterLabel(arg, ansi, styles);
        }

        @Override
        public String separator() {
          return labels.separator();
        }
      };
    }
  }

  /** Picocli formats help text with {@link String#format}: a literal percent sign is doubled. */
  private static String formatSafe(String text) {
    return text.replace("%", "%%");
  }
}
