package org.dbrxspark.runtime.cli;

import java.util.List;

/** One {@code bin/dbrx} subcommand. */
abstract class Command {
  private final String name;
  private final String summary;

  /**
   * @param name what the user types
   * @param summary one line for the command list
   */
  Command(String name, String summary) {
    this.name = name;
    this.summary = summary;
  }

  final String name() {
    return name;
  }

  final String summary() {
    return summary;
  }

  abstract List<Option> options();

  /** Runs with parsed options, writing JSON to {@code out}. */
  abstract void run(Args args, CliOutput out) throws Exception;
}
