package org.dbrxspark.runtime.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code bin/dbrx}: the runtime's command line, on picocli. Every subcommand prints JSON on stdout,
 * errors on stderr, and exits non-zero on failure (1 for a failed run, 2 for a bad command line);
 * {@code dbrx completion} prints a bash completion script.
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

  /**
   * Runs one command line and returns the exit code ({@link CliConventions}): 0 done, 1 the run
   * failed, 2 a bad command line (message on {@code err}).
   */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
      out.print(usage());
      return args.length == 0 ? CliConventions.USAGE : CliConventions.DONE;
    }
    if (args[0].equals(CliConventions.COMPLETION)) {
      out.print(CliConventions.completionScript(root()));
      return CliConventions.DONE;
    }
    Command command =
        COMMANDS.stream().filter(c -> c.name().equals(args[0])).findFirst().orElse(null);
    if (command == null) {
      err.println("dbrx: unknown command '" + args[0] + "'\n");
      err.print(usage());
      return CliConventions.USAGE;
    }
    List<String> rest = Arrays.asList(args).subList(1, args.length);
    try {
      Args parsed = Args.parse(command.name(), command.options(), rest);
      if (parsed.helpRequested()) {
        out.print(help(command));
        return CliConventions.DONE;
      }
      command.run(parsed, new CliOutput(out, err));
      return CliConventions.DONE;
    } catch (InvalidCommandLineException e) {
      err.println("dbrx " + command.name() + ": " + e.getMessage());
      return CliConventions.USAGE;
    } catch (Exception e) {
      err.println(
          "dbrx "
              + command.name()
              + ": "
              + (e.getMessage() != null ? e.getMessage() : e.toString()));
      return CliConventions.FAILED;
    }
  }

  /** Every subcommand under {@code dbrx}: the command list, and what completion offers. */
  private static CommandSpec root() {
    CommandSpec root =
        CliConventions.command(
            "dbrx", "The DBRX runtime's command line: each command prints JSON on stdout.");
    for (Command c : COMMANDS) {
      root.addSubcommand(c.name(), spec(c));
    }
    root.addSubcommand(
        CliConventions.COMPLETION,
        CliConventions.command(
            CliConventions.COMPLETION,
            "print the bash completion script: source <(bin/dbrx completion)"));
    return root;
  }

  private static CommandSpec spec(Command command) {
    return Args.spec(command.name(), command.summary(), command.options());
  }

  static String usage() {
    return CliConventions.help(root()) + "\nRun 'dbrx COMMAND --help' for its options.\n";
  }

  static String help(Command command) {
    CommandSpec root = CliConventions.command("dbrx", "");
    CommandSpec spec = spec(command);
    root.addSubcommand(command.name(), spec);
    return CliConventions.help(spec);
  }

  /**
   * The subcommand names, in {@code usage} order: for the generated reference in docs/options.md.
   */
  public static List<String> commandNames() {
    return COMMANDS.stream().map(Command::name).toList();
  }
}
