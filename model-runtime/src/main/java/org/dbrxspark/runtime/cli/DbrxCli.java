package org.dbrxspark.runtime.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * {@code bin/dbrx}: the runtime's command line. Every subcommand prints JSON on stdout, errors on
 * stderr, and exits non-zero on failure (1 for a failed run, 2 for a bad command line).
 */
public final class DbrxCli {
  private static final List<Command> COMMANDS =
      List.of(
          new InitCommand(),
          new QuantizeCommand(),
          new TokenizeCommand(),
          new ChatCommand(),
          new GenerateCommand(),
          new ScoreCommand(),
          new EmbedCommand(),
          new LogitsCommand(),
          new PlanCommand(),
          new BenchCommand());

  private DbrxCli() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command line; returns the exit code. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
      out.print(usage());
      return args.length == 0 ? 2 : 0;
    }
    Command command =
        COMMANDS.stream().filter(c -> c.name().equals(args[0])).findFirst().orElse(null);
    if (command == null) {
      err.println("dbrx: unknown command '" + args[0] + "'\n");
      err.print(usage());
      return 2;
    }
    List<String> rest = Arrays.asList(args).subList(1, args.length);
    if (rest.contains("--help") || rest.contains("-h")) {
      out.print(help(command));
      return 0;
    }
    try {
      command.run(Args.parse(command.name(), command.options(), rest), new CliOutput(out, err));
      return 0;
    } catch (UsageException e) {
      err.println("dbrx " + command.name() + ": " + e.getMessage());
      return 2;
    } catch (Exception e) {
      err.println(
          "dbrx "
              + command.name()
              + ": "
              + (e.getMessage() != null ? e.getMessage() : e.toString()));
      return 1;
    }
  }

  static String usage() {
    StringBuilder sb = new StringBuilder("usage: dbrx COMMAND [--option value ...]\n\ncommands:\n");
    for (Command c : COMMANDS) {
      sb.append(String.format("  %-10s %s%n", c.name(), c.summary()));
    }
    return sb.append("\nRun 'dbrx COMMAND --help' for its options.\n").toString();
  }

  static String help(Command command) {
    StringBuilder sb =
        new StringBuilder(
            "usage: dbrx "
                + command.name()
                + " [options]\n\n"
                + command.summary()
                + "\n\noptions:\n");
    for (Option o : command.options()) {
      String arg = o.kind() == Option.Kind.FLAG ? "" : " VALUE";
      String dflt =
          o.required()
              ? " (required)"
              : o.defaultValue() == null ? "" : " (default: " + o.defaultValue() + ")";
      sb.append(String.format("  --%-28s %s%s%n", o.name() + arg, o.help(), dflt));
    }
    return sb.toString();
  }

  /**
   * The subcommand names, in {@code usage} order: for the generated reference in docs/options.md.
   */
  public static List<String> commandNames() {
    return COMMANDS.stream().map(Command::name).toList();
  }
}
