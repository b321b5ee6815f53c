package org.dbrxspark.benchmarks;

import java.util.List;

/**
 * The {@code --help} of the benchmarks that take positional arguments (the others parse options
 * with the jobs' option sets, which have their own). Every benchmark answers {@code --help} without
 * measuring anything, which is how {@code BenchmarksDocTest} checks that each command in
 * BENCHMARKS.md names a benchmark that starts.
 */
public final class Usage {
  private Usage() {}

  /**
   * Prints {@code usage} and returns true when {@code args} ask for help ({@code --help} or {@code
   * -h} as the only argument); the caller then returns without measuring.
   */
  public static boolean printedHelp(String[] args, String usage) {
    if (args.length == 1 && List.of("--help", "-h").contains(args[0])) {
      System.out.println(usage);
      return true;
    }
    return false;
  }

  /** Positional argument {@code index} as an int, or {@code fallback} when it is not given. */
  public static int intArg(String[] args, int index, int fallback) {
    return args.length > index ? Integer.parseInt(args[index]) : fallback;
  }
}
