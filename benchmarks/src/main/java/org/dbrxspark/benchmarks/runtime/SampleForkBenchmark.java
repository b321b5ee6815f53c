package org.dbrxspark.benchmarks.runtime;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.dbrxspark.benchmarks.Median;
import org.dbrxspark.benchmarks.Usage;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.Engine;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.GenerationResult;
import org.dbrxspark.runtime.engine.SamplingParams;

/**
 * The cost of {@code n} samples of one prompt, forked from one prefill (one request with {@code n})
 * against each sample computing the prompt itself (n requests seeded as the samples are, which is
 * how the engine ran {@code n} before it forked), in alternating rounds of one JVM, with wall and
 * process CPU time per arm: {@code SampleForkBenchmark CHECKPOINT [ROUNDS [PROMPT_TOKENS [N
 * [NEW_TOKENS [THREADS]]]]]}. Both arms must produce the same tokens; the benchmark checks it.
 */
public final class SampleForkBenchmark {
  private static final String USAGE =
      "usage: SampleForkBenchmark CHECKPOINT [ROUNDS [PROMPT_TOKENS [N [NEW_TOKENS [THREADS]]]]]\n"
          + "  defaults: 4 256 8 16 1; write the checkpoint with bin/dbrx init --preset bench";

  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

  /** One arm's run: seconds of wall and process CPU time, tokens computed, the samples. */
  private record Run(double wall, double cpu, long computed, List<int[]> samples) {}

  public static void main(String[] args) throws Exception {
    if (Usage.printedHelp(args, USAGE)) {
      return;
    }
    int rounds = Usage.intArg(args, 1, 4);
    int promptTokens = Usage.intArg(args, 2, 256);
    int n = Usage.intArg(args, 3, 8);
    int newTokens = Usage.intArg(args, 4, 16);
    int threads = Usage.intArg(args, 5, 1);
    // Without prefix caching, so that the separate arm cannot share the prompt either.
    EngineOptions options = new EngineOptions(2048, 32).withPrefixCaching(false);
    try (DbrxRuntime runtime = DbrxRuntime.load(Path.of(args[0]), threads, options)) {
      int[] prompt = prompt(runtime, promptTokens);
      SamplingParams params =
          SamplingParams.builder()
              .temperature(1.0)
              .seed(11)
              .n(n)
              .minTokens(newTokens)
              .maxNewTokens(newTokens)
              .build();
      run(runtime, prompt, params, true); // warm-up: JIT, KV blocks
      run(runtime, prompt, params, false);
      List<Double> wallRatios = new ArrayList<>();
      List<Double> cpuRatios = new ArrayList<>();
      for (int r = 0; r < rounds; r++) {
        // Each arm goes first in every other round, so that drift on a shared machine cancels out.
        boolean forkFirst = r % 2 == 0;
        Run first = run(runtime, prompt, params, forkFirst);
        Run second = run(runtime, prompt, params, !forkFirst);
        Run forked = forkFirst ? first : second;
        Run separate = forkFirst ? second : first;
        for (int s = 0; s < n; s++) {
          if (!Arrays.equals(forked.samples().get(s), separate.samples().get(s))) {
            throw new IllegalStateException("sample " + s + " differs between the arms");
          }
        }
        wallRatios.add(forked.wall() / separate.wall());
        cpuRatios.add(forked.cpu() / separate.cpu());
        System.out.printf(
            Locale.ROOT,
            "round %d (%s first): separate %.2f s wall %.2f s CPU %d tokens computed;"
                + " forked %.2f s wall %.2f s CPU %d tokens computed; forked/separate wall %.3f"
                + " CPU %.3f%n",
            r + 1,
            forkFirst ? "forked" : "separate",
            separate.wall(),
            separate.cpu(),
            separate.computed(),
            forked.wall(),
            forked.cpu(),
            forked.computed(),
            wallRatios.get(r),
            cpuRatios.get(r));
      }
      System.out.printf(
          Locale.ROOT,
          "forked/separate: wall median %.3f, CPU median %.3f over %d rounds"
              + " (%d samples of %d tokens after a %d-token prompt, %d threads)%n",
          Median.of(wallRatios),
          Median.of(cpuRatios),
          rounds,
          n,
          newTokens,
          promptTokens,
          threads);
    }
  }

  /** A prompt of exactly {@code length} tokens of ordinary text. */
  private static int[] prompt(DbrxRuntime runtime, int length) {
    StringBuilder text = new StringBuilder();
    int[] ids = new int[0];
    for (int i = 0; ids.length < length; i++) {
      text.append("Paragraph ")
          .append(i)
          .append(": the samples of one request share the keys and values of their prompt. ");
      ids = runtime.tokenizer().encode(text.toString());
    }
    return Arrays.copyOf(ids, length);
  }

  /** One request with {@code n} samples, or n requests seeded as those samples are. */
  private static Run run(DbrxRuntime runtime, int[] prompt, SamplingParams params, boolean forked) {
    List<GenerationRequest> requests = new ArrayList<>();
    if (forked) {
      requests.add(new GenerationRequest(prompt, params));
    } else {
      for (int s = 0; s < params.n(); s++) {
        requests.add(
            new GenerationRequest(
                prompt, params.toBuilder().n(1).seed(params.sampleSeed(s)).build()));
      }
    }
    Engine engine = runtime.engine();
    long computedBefore = engine.computedTokens();
    long cpuBefore = OS.getProcessCpuTime();
    long start = System.nanoTime();
    List<GenerationResult> results = engine.generate(requests);
    double wall = (System.nanoTime() - start) / 1e9;
    double cpu = (OS.getProcessCpuTime() - cpuBefore) / 1e9;
    List<int[]> samples =
        forked
            ? results.get(0).samples().stream().map(GenerationResult::completion).toList()
            : results.stream().map(GenerationResult::completion).toList();
    return new Run(wall, cpu, engine.computedTokens() - computedBefore, samples);
  }
}
