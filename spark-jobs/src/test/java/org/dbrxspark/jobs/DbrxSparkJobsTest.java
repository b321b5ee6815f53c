package org.dbrxspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.core.Job;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
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
    assertTrue(help.contains("[min words; chinese 40] (default: 50)"), help);
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

  @Test
  void theBashCompletionScriptCompletesEveryJobAndEachOfItsOptions(@TempDir Path dir)
      throws Exception {
    assertEquals(0, run("completion"));
    Path script = dir.resolve("dbrx-spark.bash");
    Files.writeString(script, out.toString(StandardCharsets.UTF_8));
    DbrxSparkJobs entry = new DbrxSparkJobs();
    assertTrue(complete(script, "").containsAll(entry.jobs().keySet()));
    for (Job job : entry.jobs().values()) {
      List<String> offered = complete(script, job.name(), "--");
      for (OptionSpec<?> spec : job.options()) {
        assertTrue(offered.contains("--" + spec.name()), job.name() + " --" + spec.name());
      }
      assertTrue(offered.containsAll(List.of("--config", "--master", "--help")), job.name());
    }
    assertEquals(List.of("jsonl", "parquet"), complete(script, "export", "--format", ""));
  }

  /** What bash completes for {@code dbrx-spark WORDS...} once the script is sourced. */
  private static List<String> complete(Path script, String... words) throws Exception {
    List<String> command =
        new ArrayList<>(
            List.of(
                "bash",
                "-c",
                "source \"$0\"; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1));"
                    + " COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE};"
                    + " _complete_dbrx-spark 2>/dev/null; printf '%s\\n' \"${COMPREPLY[@]}\"",
                script.toString(),
                "dbrx-spark"));
    command.addAll(List.of(words));
    Process bash = new ProcessBuilder(command).redirectErrorStream(false).start();
    String printed = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, bash.waitFor());
    return printed.lines().filter(l -> !l.isBlank()).toList();
  }

  @Test
  void mainExitsWithTheCodeExceptOnDatabricksWhereItReturnsOrThrows() {
    List<Integer> exits = new ArrayList<>();
    DbrxSparkJobs.end(1, "curate", Map.of(), exits::add);
    DbrxSparkJobs.end(0, "curate", Map.of("PATH", "/bin"), exits::add);
    assertEquals(List.of(1, 0), exits);

    Map<String, String> databricks = Map.of(DbrxSparkJobs.DATABRICKS_RUNTIME, "16.4");
    DbrxSparkJobs.end(0, "curate", databricks, exits::add);
    IllegalStateException failed =
        assertThrows(
            IllegalStateException.class,
            () -> DbrxSparkJobs.end(1, "curate", databricks, exits::add));
    assertTrue(failed.getMessage().contains("dbrx-spark curate failed with exit code 1"));
    assertEquals(List.of(1, 0), exits, "System.exit must not be called on Databricks");
  }

  @Test
  void aFailedRunEndsWithWhatFailedAndItsFirstCause() {
    Exception read =
        new RuntimeException(
            "[FAILED_READ_FILE.NO_HINT] Encountered error while reading file"
                + " file:///d/part-2.jsonl.gz.  SQLSTATE: KD001\n\tat somewhere",
            new IllegalStateException(
                "wrapped", new java.io.EOFException("Unexpected end of input stream")));
    assertEquals(
        "dbrx-spark tokenize failed: [FAILED_READ_FILE.NO_HINT] Encountered error while reading"
            + " file file:///d/part-2.jsonl.gz.  SQLSTATE: KD001 (EOFException: Unexpected end of"
            + " input stream)",
        DbrxSparkJobs.failure("tokenize", read));
    assertEquals(
        "dbrx-spark curate failed: NullPointerException",
        DbrxSparkJobs.failure("curate", new NullPointerException()));
  }

  @Test
  @Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aCycleOfCausesEndsAtItsLastNewCause() {
    Exception outer = new RuntimeException("write failed");
    Exception inner = new IllegalStateException("commit conflict");
    outer.initCause(inner);
    inner.initCause(outer);
    assertEquals(
        "dbrx-spark dedup failed: write failed (IllegalStateException: commit conflict)",
        DbrxSparkJobs.failure("dedup", outer));
  }
}
