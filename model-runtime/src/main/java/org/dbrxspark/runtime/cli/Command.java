package org.dbrxspark.runtime.cli;

import java.util.List;

/** One {@code bin/dbrx} subcommand. */
interface Command {
  String name();

  /** One line for the command list. */
  String summary();

  List<Option> options();

  /** Runs with parsed options, writing JSON to {@code out}. */
  void run(Args args, CliOutput out) throws Exception;
}
