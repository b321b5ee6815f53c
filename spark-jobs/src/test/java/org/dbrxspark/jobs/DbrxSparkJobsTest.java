package org.dbrxspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.core.Job;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The entry point's command-line behaviour; none of these runs reaches Spark. */
class DbrxSparkJobsTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return new DbrxSparkJobs()
        .run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            o -> {
              throw new AssertionError("Spark must not start for " + String.join(" ", args));
            });
  }

  @Test
  void everyJobsHelpListsEveryOptionWithItsDefault() {
    DbrxSparkJobs entry = new DbrxSparkJobs();
    for (Job job : entry.jobs().values()) {
      out.reset();
      assertEquals(0, run(job.name(), "--help"));
      String help = out.toString(StandardCharsets.UTF_8);
      for (OptionSpec<?> spec : job.options()) {
        assertTrue(help.contains("--" + spec.name()), job.name() + " help lacks --" + spec.name());
        if (!spec.required() && !spec.isFlag()) {
          String def = spec.defaultText().isEmpty() ? "none" : spec.defaultText();
          assertTrue(help.contains("(default: " + def + ")"), job.name() + " --" + spec.name());
        }
      }
      assertTrue(help.contains("--master"), "common options listed");
      assertTrue(help.contains("--stats-output PATH"), job.name() + " offers --stats-output");
    }
  }

  @Test
  void curateHelpShowsFilterDefaults() {
    assertEquals(0, run("curate", "--help"));
    String help = out.toString(StandardCharsets.UTF_8);
    assertTrue(help.contains("--gopher-min-words NUM|off"), help);
    assertTrue(help.contains("[min words] (default: 50)"), help);
    assertTrue(help.contains("--fineweb-max-char-dup NUM|off"), help);
  }

  @Test
  void unknownOptionAndUnknownJobAreUsageErrors() {
    assertEquals(2, run("curate", "--input", "x", "--output", "y", "--gopher-min-wrds", "3"));
    assertTrue(
        err.toString(StandardCharsets.UTF_8).contains("unknown option --gopher-min-wrds"),
        err.toString());
    err.reset();
    assertEquals(2, run("curat", "--input", "x"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown job 'curat'"));
  }

  @Test
  void optionsAreValidatedBeforeSparkStarts(@TempDir Path dir) throws Exception {
    Path yaml = dir.resolve("pipeline.yaml");
    Files.writeString(yaml, "input: in.jsonl\ncurate:\n  output: out\n  languages: [en, xx]\n");
    assertEquals(2, run("curate", "--config", yaml.toString()));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("'xx'"), err.toString());
    err.reset();
    assertEquals(
        2, run("curate", "--config", yaml.toString(), "--languages", "en", "--lid", "false"));
    assertTrue(
        err.toString(StandardCharsets.UTF_8).contains("--languages needs --lid true"),
        err.toString());
    err.reset();
    assertEquals(
        2, run("curate", "--config", yaml.toString(), "--output", "o", "--rejects-output", "o"));
  }
}
