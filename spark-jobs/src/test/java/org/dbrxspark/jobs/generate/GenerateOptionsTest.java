package org.dbrxspark.jobs.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.cli.ParsedOptions;
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
    assertArrayEquals(new String[] {"\n\n", "END", "a\\n"}, generator.getStopStrings());
    assertEquals(0.9, generator.getTopP());
    assertEquals(5, generator.getSeed());
    assertEquals("", generator.getSystemPrompt(), "none: no system prompt");
    assertTrue(
        generator.isDefined(generator.messagesCol()), "prompts go through the chat template");
  }

  @Test
  void badSamplingIsAUsageErrorBeforeSparkStarts() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String[] args = {
      "generate", "--input", "in.jsonl", "--output", "out", "--model", "m", "--top-p", "0"
    };
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
    assertTrue(
        err.toString(StandardCharsets.UTF_8).contains("bad sampling options"), err.toString());
  }
}
