package org.dbrxspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbrxspark.runtime.cli.DbrxCli;
import org.junit.jupiter.api.Test;

/**
 * The option reference, docs/options.md, is the {@code --help} text of every job and CLI
 * subcommand, verbatim, so the two cannot drift. After changing an option, refresh it with {@code
 * ./mvnw -B -pl spark-jobs -am test -Dtest=ReadmeReferenceTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Ddocs.update=true}.
 */
class ReadmeReferenceTest {
  private static final Path REFERENCE = Path.of("..", "docs", "options.md");

  /** A marker comment followed by a fenced block: {@code <!-- help: dbrx-spark curate -->}. */
  private static final Pattern BLOCK =
      Pattern.compile("<!-- help: ([^>]+?) -->\n```\n(.*?)```\n", Pattern.DOTALL);

  @Test
  void everyJobAndSubcommandHelpIsInTheReadmeVerbatim() throws IOException {
    Map<String, String> expected = new LinkedHashMap<>();
    for (String job : new DbrxSparkJobs().jobs().keySet()) {
      expected.put(
          "dbrx-spark " + job,
          capture(
              out ->
                  new DbrxSparkJobs()
                      .run(new String[] {job, "--help"}, out, out, options -> null)));
    }
    for (String command : DbrxCli.commandNames()) {
      expected.put(
          "dbrx " + command,
          capture(out -> DbrxCli.run(new String[] {command, "--help"}, out, out)));
    }

    String readme = Files.readString(REFERENCE);
    Matcher m = BLOCK.matcher(readme);
    StringBuilder updated = new StringBuilder();
    Map<String, String> documented = new LinkedHashMap<>();
    while (m.find()) {
      String command = m.group(1);
      documented.put(command, m.group(2));
      String text = expected.getOrDefault(command, m.group(2));
      m.appendReplacement(
          updated,
          Matcher.quoteReplacement("<!-- help: " + command + " -->\n```\n" + text + "```\n"));
    }
    m.appendTail(updated);

    List<String> missing = new ArrayList<>(expected.keySet());
    missing.removeAll(documented.keySet());
    List<String> unknown = new ArrayList<>(documented.keySet());
    unknown.removeAll(expected.keySet());
    assertTrue(
        missing.isEmpty(), "docs/options.md has no '<!-- help: ... -->' block for " + missing);
    assertTrue(
        unknown.isEmpty(), "docs/options.md documents commands that do not exist: " + unknown);
    if (Boolean.getBoolean("docs.update")) {
      Files.writeString(REFERENCE, updated.toString());
      return;
    }
    for (Map.Entry<String, String> e : expected.entrySet()) {
      assertEquals(
          e.getValue(),
          documented.get(e.getKey()),
          "docs/options.md's block for '"
              + e.getKey()
              + "' differs from its --help; refresh it with -Ddocs.update=true");
    }
  }

  private static String capture(Consumer<PrintStream> run) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      run.accept(out);
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
