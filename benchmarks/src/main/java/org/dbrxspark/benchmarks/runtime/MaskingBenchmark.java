package org.dbrxspark.benchmarks.runtime;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.dbrxspark.benchmarks.Usage;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.GenerationResult;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.structured.CompiledFormat;
import org.dbrxspark.runtime.structured.ResponseFormat;

/**
 * Decode tokens/s at batch 32 through the engine with and without a response format, in alternating
 * rounds of one JVM (free then masked, masked then free, ...), reporting each round's ratio and
 * their median: {@code MaskingBenchmark CHECKPOINT [ROUNDS] [NEW_TOKENS] [THREADS]}. The format
 * cannot complete within the run (at least 8 objects), so constrained rows decode as many tokens as
 * free ones and the batch stays at 32; both sample at temperature 1 over the whole vocabulary.
 */
public final class MaskingBenchmark {
  static final String SCHEMA =
      """
      {"type": "array", "minItems": 8, "items": {"type": "object", "required": ["name", "score", "tags"],
       "properties": {"name": {"type": "string", "maxLength": 24}, "score": {"type": "number"},
                      "tags": {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "maxItems": 4}}}}""";
  private static final int BATCH = 32;

  public static void main(String[] args) throws Exception {
    if (Usage.printedHelp(
        args,
        "usage: MaskingBenchmark CHECKPOINT [ROUNDS [NEW_TOKENS [THREADS]]]\n"
            + "  defaults: 3 32 2; write the checkpoint with bin/dbrx init --preset bench")) {
      return;
    }
    Path checkpoint = Path.of(args[0]);
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int newTokens = args.length > 2 ? Integer.parseInt(args[2]) : 32;
    int threads = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    long began = System.nanoTime();
    CompiledFormat format = CompiledFormat.compile(ResponseFormat.jsonSchema(SCHEMA));
    System.out.printf(
        Locale.ROOT,
        "schema compiled in %.1f ms (first compile, tokenizer trie included): %s%n",
        (System.nanoTime() - began) / 1e6,
        format.stats());
    began = System.nanoTime();
    CompiledFormat again = CompiledFormat.compile(ResponseFormat.jsonSchema(SCHEMA));
    System.out.printf(
        Locale.ROOT,
        "compiled again in %.1f ms: %s%n",
        (System.nanoTime() - began) / 1e6,
        again.stats());
    try (DbrxRuntime runtime =
        DbrxRuntime.load(checkpoint, threads, new EngineOptions(2048, BATCH))) {
      run(runtime, null, 8); // warm-up: JIT, KV blocks
      run(runtime, format, 8);
      List<Double> ratios = new ArrayList<>();
      for (int r = 0; r < rounds; r++) {
        // Each arm goes first in every other round, so that drift on a shared machine cancels out.
        boolean freeFirst = r % 2 == 0;
        double first = run(runtime, freeFirst ? null : format, newTokens);
        double second = run(runtime, freeFirst ? format : null, newTokens);
        double free = freeFirst ? first : second;
        double masked = freeFirst ? second : first;
        ratios.add(masked / free);
        System.out.printf(
            Locale.ROOT,
            "round %d (%s first): free %.1f tokens/s, masked %.1f tokens/s (%.3f)%n",
            r + 1,
            freeFirst ? "free" : "masked",
            free,
            masked,
            masked / free);
      }
      List<Double> sorted = ratios.stream().sorted().toList();
      System.out.printf(
          Locale.ROOT,
          "masked/free: median %.3f, range %.3f to %.3f over %d rounds%n",
          sorted.get(sorted.size() / 2),
          sorted.get(0),
          sorted.get(sorted.size() - 1),
          rounds);
    }
  }

  /**
   * Generated tokens per second for a batch of 32 rows (16-token prompts), all decoding {@code
   * newTokens}.
   */
  private static double run(DbrxRuntime runtime, CompiledFormat format, int newTokens) {
    List<GenerationRequest> requests = new ArrayList<>();
    for (int i = 0; i < BATCH; i++) {
      int[] prompt =
          runtime
              .tokenizer()
              .encode("Row " + i + ": list the items of the inventory as JSON, please.");
      requests.add(
          new GenerationRequest(
              prompt,
              SamplingParams.builder()
                  .temperature(1.0)
                  .seed(i)
                  .maxNewTokens(newTokens)
                  .responseFormat(format)
                  .build()));
    }
    long start = System.nanoTime();
    List<GenerationResult> results = runtime.engine().generate(requests);
    double seconds = (System.nanoTime() - start) / 1e9;
    int generated = results.stream().mapToInt(GenerationResult::completionTokens).sum();
    if (generated != BATCH * newTokens) {
      throw new IllegalStateException(
          "rows finished early: " + generated + " tokens, not " + BATCH * newTokens);
    }
    return generated / seconds;
  }
}
