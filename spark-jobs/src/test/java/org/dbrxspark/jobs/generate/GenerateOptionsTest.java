package org.dbrxspark.jobs.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.spark.ml.param.Param;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.udfs.inference.SamplingDefaults;
import org.dbrxspark.udfs.ml.DbrxGenerator;
import org.dbrxspark.udfs.ml.DbrxScorer;
import org.junit.jupiter.api.Test;

/** generate's options as the transformer sees them; none of these runs reaches Spark. */
class GenerateOptionsTest {
  private static final String[] BASE = {"--input", "in.jsonl", "--output", "out", "--model", "m"};

  private static ParsedOptions parse(String... more) {
    String[] args = new String[BASE.length + more.length];
    System.arraycopy(BASE, 0, args, 0, BASE.length);
    System.arraycopy(more, 0, args, BASE.length, more.length);
    return new DbrxSparkJobs().optionSet(new GenerateJob()).parse(args);
  }

  @Test
  void stopStringsAreUnescapedAndSamplingReachesTheGenerator() {
    var generator =
        GenerateJob.generator(
            parse(
                "--stop",
                "\\n\\n,END,a\\\\n",
                "--top-p",
                "0.9",
                "--seed",
                "5",
                "--system-prompt",
                "none",
                "--chat-template",
                "true"));
    assertArrayEquals(new String[] {"\n\n", "END", "a\\n"}, generator.getStop());
    assertEquals(0.9, generator.getTopP());
    assertEquals(5, generator.getSeed());
    assertEquals("", generator.getSystemPrompt(), "none: no system prompt");
    assertTrue(
        generator.isDefined(generator.messagesCol()), "prompts go through the chat template");
  }

  /**
   * Each sampling control is one job option, one transformer Param and one params_json key, under
   * the same name (kebab, camel and snake case): the three sets come from the code that reads them.
   */
  @Test
  void theJobOptionsTheParamsAndTheSqlKeysAreTheSameControls() {
    List<String> options =
        GenerateJob.SAMPLING.stream().map(s -> s.name().replace('-', '_')).toList();
    List<String> params =
        new DbrxGenerator()
            .samplingParams().stream()
                .map(p -> p.name().replaceAll("([A-Z])", "_$1").toLowerCase(Locale.ROOT))
                .toList();
    assertEquals(SamplingDefaults.KEYS, options);
    assertEquals(SamplingDefaults.KEYS, params);
    // Every Param of the generator is a sampling control, a column, or one of the others here.
    Set<String> notSampling = new HashSet<>();
    for (Param<?> p : new DbrxGenerator().params()) {
      if (!new DbrxGenerator().samplingParams().stream().anyMatch(q -> q.name().equals(p.name()))) {
        notSampling.add(p.name());
      }
    }
    notSampling.removeIf(name -> name.endsWith("Col"));
    notSampling.removeAll(
        Arrays.stream(new DbrxScorer().params()).map(Param::name).collect(Collectors.toSet()));
    assertEquals(Set.of("systemPrompt", "prefixCaching"), notSampling);
  }

  @Test
  void everySamplingOptionReachesTheGeneratorsParam() {
    var generator =
        GenerateJob.generator(
            parse(
                "--n",
                "3",
                "--top-logprobs",
                "5",
                "--presence-penalty",
                "0.5",
                "--frequency-penalty",
                "-0.25",
                "--min-tokens",
                "2",
                "--logit-bias",
                "{\"198\": -100}",
                "--stop-token-ids",
                "11,13"));
    assertEquals(3, generator.getN());
    assertEquals(5, generator.getTopLogprobs());
    assertEquals(0.5, generator.getPresencePenalty());
    assertEquals(-0.25, generator.getFrequencyPenalty());
    assertEquals(2, generator.getMinTokens());
    assertEquals("{\"198\": -100}", generator.getLogitBias());
    assertArrayEquals(new int[] {11, 13}, generator.getStopTokenIds());
    SamplingParams p = generator.samplingDefaults().builder(0).build();
    assertEquals(Map.of(198, -100.0), p.logitBias());
    assertEquals(List.of(11, 13), p.stopTokenIds());
    assertEquals(3, p.n());
  }

  @Test
  void badNewSamplingOptionsAreUsageErrorsNamingThem() {
    for (String[] bad :
        List.of(
            new String[] {"--stop-token-ids", "11,x", "--stop-token-ids: 'x' is not a token id"},
            new String[] {"--logit-bias", "{\"a\": 1}", "logit_bias key 'a' is not a token id"},
            new String[] {"--top-logprobs", "21", "top_logprobs must be in [0, 20], got 21"},
            new String[] {
              "--min-tokens", "200", "min_tokens must be in [0, max_new_tokens 128], got 200"
            })) {
      String err = usageError(bad[0], bad[1]);
      assertTrue(err.contains(bad[2]), err);
    }
  }

  /** The error output of generate with {@code more} options, which must not start Spark. */
  private static String usageError(String... more) {
    String[] args = new String[BASE.length + more.length + 1];
    args[0] = "generate";
    System.arraycopy(BASE, 0, args, 1, BASE.length);
    System.arraycopy(more, 0, args, BASE.length + 1, more.length);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        new DbrxSparkJobs()
            .run(
                args,
                new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                o -> {
                  throw new AssertionError("Spark must not start");
                });
    assertEquals(2, code);
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void badSamplingIsAUsageErrorBeforeSparkStarts() {
    String err = usageError("--top-p", "0");
    assertTrue(err.contains("bad sampling options"), err);
  }
}
