package org.dbrxspark.benchmarks.runtime;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Locale;
import org.dbrxspark.benchmarks.Usage;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.bench.ModelBenchmark;
import org.dbrxspark.runtime.engine.EngineOptions;

/**
 * Prefill and decode throughput per second of process CPU time as well as of wall time: on a
 * machine shared with other work the wall clock measures the neighbours, while the CPU time a run
 * takes moves much less. Compare builds by running this in each, round by round: {@code
 * PrefillCpuBenchmark CHECKPOINT [ROUNDS [PROMPT_TOKENS [THREADS]]]}.
 */
public final class PrefillCpuBenchmark {
  /** The checkpoint: {@code bin/dbrx init --preset bench}. */
  private static final String USAGE =
      "usage: PrefillCpuBenchmark CHECKPOINT [ROUNDS [PROMPT_TOKENS [THREADS]]], defaults 3 512 1";

  public static void main(String[] args) throws Exception {
    if (Usage.printedHelp(args, USAGE)) {
      return;
    }
    Path checkpoint = Path.of(args[0]);
    int promptTokens = Usage.intArg(args, 2, 512);
    EngineOptions options = new EngineOptions(2048, 32);
    try (DbrxRuntime runtime = DbrxRuntime.load(checkpoint, Usage.intArg(args, 3, 1), options)) {
      ModelBenchmark bench = new ModelBenchmark(runtime.model(), runtime.kvPool());
      // Warm-up: JIT and KV blocks.
      bench.prefill(promptTokens);
      bench.decode(32, 1, 2);
      for (int r = 0; r < Usage.intArg(args, 1, 3); r++) {
        long cpu = cpuNanos();
        double wall = bench.prefill(promptTokens);
        report("prefill " + promptTokens + " tokens", wall, promptTokens, cpu);
        for (int batch : new int[] {1, 32}) {
          // Prompts of one token: the decode steps are nearly all of the CPU time.
          int steps = batch == 1 ? 24 : 8;
          cpu = cpuNanos();
          wall = bench.decode(batch, 1, steps);
          report("decode batch " + batch, wall, batch * steps, cpu);
        }
      }
    }
  }

  /** This process's CPU time so far, every thread's. */
  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static void report(String what, double wallTokensPerSecond, int tokens, long cpuStart) {
    double cpuSeconds = (cpuNanos() - cpuStart) / 1e9;
    System.out.printf(
        Locale.ROOT,
        "%s: %.1f tokens/s wall, %.1f tokens per CPU-second%n",
        what,
        wallTokensPerSecond,
        tokens / cpuSeconds);
  }
}
