package org.dbrxspark.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * BENCHMARKS.md's commands run as written on a fresh clone: each benchmark is started through
 * {@code bin/bench}, which builds what it needs; each name it gives is a benchmark that exists and
 * answers {@code --help}; nothing depends on a classpath built by hand, on an installed artifact or
 * on a path outside the clone.
 */
class BenchmarksDocTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Path SOURCES = ROOT.resolve("benchmarks/src/main/java");
  private static final Pattern BENCH =
      Pattern.compile("^((?:[A-Z_]+=\\S+ )*)bin/bench(?: (\\S+))?(.*)$");
  private static final Pattern MAIN =
      Pattern.compile(
          "(?m)^public (final )?class (\\w+).*?public static void main\\(", Pattern.DOTALL);

  /** The commands of BENCHMARKS.md's code blocks, by block: continuations joined, comments cut. */
  static List<List<String>> codeBlocks(String markdown) {
    List<List<String>> blocks = new ArrayList<>();
    List<String> block = null;
    StringBuilder pending = new StringBuilder();
    for (String line : markdown.split("\n", -1)) {
      if (line.startsWith("```")) {
        block = block == null ? new ArrayList<>() : null;
        if (block != null) {
          blocks.add(block);
        }
        continue;
      }
      if (block == null) {
        continue;
      }
      String code = line.replaceAll("(^|\\s)#.*$", "").strip();
      if (code.endsWith("\\")) {
        pending.append(code, 0, code.length() - 1).append(' ');
        continue;
      }
      String command = (pending + code).replaceAll("\\s+", " ").strip();
      pending.setLength(0);
      if (!command.isEmpty()) {
        block.add(command);
      }
    }
    return blocks;
  }

  /** The benchmarks: public classes of the module with a main, by simple name. */
  static Map<String, String> benchmarks() throws IOException {
    Map<String, String> found = new TreeMap<>();
    try (Stream<Path> files = Files.walk(SOURCES)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        Matcher m = MAIN.matcher(Files.readString(file));
        if (m.find()) {
          String relative = SOURCES.relativize(file).toString();
          found.put(
              m.group(2),
              relative.substring(0, relative.length() - ".java".length()).replace('/', '.'));
        }
      }
    }
    return found;
  }

  @Test
  void everyCommandUsesTheEntryPointOnABenchmarkThatExists() throws IOException {
    Map<String, String> benchmarks = benchmarks();
    String markdown = Files.readString(ROOT.resolve("BENCHMARKS.md"));
    List<String> problems = new ArrayList<>();
    int benchCommands = 0;
    for (List<String> block : codeBlocks(markdown)) {
      boolean built = false;
      for (String command : block) {
        if (command.matches("^(java|cd) .*") || command.contains(" java ")) {
          problems.add("runs a JVM or changes folder by hand (use bin/bench): " + command);
        }
        if (command.contains("dependency:build-classpath") || command.contains("test-classes")) {
          problems.add("builds a classpath by hand (use bin/bench): " + command);
        }
        if (command.matches(".*\\binstall\\b.*") || command.contains("../")) {
          problems.add("needs something outside a fresh clone: " + command);
        }
        if (command.startsWith("./mvnw")) {
          if (command.contains("-pl ") && !command.contains("-am")) {
            problems.add("builds one module without the modules it depends on (-am): " + command);
          }
          built |= command.contains("compile") || command.contains("package");
        }
        if (command.startsWith("bin/dbrx ") && !built) {
          problems.add("runs bin/dbrx before a ./mvnw compile in its block: " + command);
        }
        Matcher m = BENCH.matcher(command);
        if (m.matches()) {
          built = true;
          benchCommands++;
          if (m.group(2) != null && !benchmarks.containsKey(m.group(2))) {
            problems.add("no benchmark named " + m.group(2) + ": " + command);
          }
        }
      }
    }
    assertEquals(List.of(), problems);
    assertTrue(benchCommands >= benchmarks.size() - 1, benchCommands + " bin/bench commands");
    for (String name : benchmarks.keySet()) {
      assertTrue(markdown.contains(name), name + " is not described in BENCHMARKS.md");
    }
  }

  @Test
  void binBenchListsTheBenchmarks() throws Exception {
    Process p =
        new ProcessBuilder(ROOT.resolve("bin/bench").toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    List<String> listed =
        out.lines().filter(l -> l.startsWith("  ")).map(String::strip).sorted().toList();
    assertEquals(List.copyOf(benchmarks().keySet()), listed);
  }

  @Test
  void everyBenchmarkAnswersHelpWithoutMeasuring() throws Exception {
    Map<String, String> benchmarks = benchmarks();
    assertTrue(benchmarks.size() >= 9, "benchmarks found: " + benchmarks);
    PrintStream stdout = System.out;
    for (Map.Entry<String, String> benchmark : benchmarks.entrySet()) {
      Method main = Class.forName(benchmark.getValue()).getMethod("main", String[].class);
      assertTrue(Modifier.isStatic(main.getModifiers()));
      ByteArrayOutputStream captured = new ByteArrayOutputStream();
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      try {
        main.invoke(null, (Object) new String[] {"--help"});
      } catch (ReflectiveOperationException e) {
        fail(benchmark.getKey() + " --help failed", e.getCause());
      } finally {
        System.setOut(stdout);
      }
      String help = captured.toString(StandardCharsets.UTF_8);
      assertTrue(
          help.startsWith("usage: " + benchmark.getKey()) || help.contains("\nOptions:\n"),
          benchmark.getKey() + " --help printed: " + help);
    }
  }
}
