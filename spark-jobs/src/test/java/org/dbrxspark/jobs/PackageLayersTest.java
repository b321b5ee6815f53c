package org.dbrxspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The layers of spark-jobs, checked on its sources: a job package imports the shared packages (cli,
 * core, io, text, inference) but never another job package, and the shared packages import no job
 * package. The pipeline is the one exception: it composes the other jobs from their typed options,
 * as the launcher ({@link DbrxSparkJobs}) runs them.
 */
class PackageLayersTest {
  private static final Path ROOT = Path.of("src/main/java/org/dbrxspark/jobs");
  private static final Set<String> SHARED = Set.of("cli", "core", "io", "text", "inference");
  private static final String COMPOSER = "pipeline";
  private static final Pattern IMPORT =
      Pattern.compile("^import (?:static )?org\\.dbrxspark\\.jobs\\.(\\w+)\\.", Pattern.MULTILINE);

  @Test
  void noJobPackageImportsAnother() throws IOException {
    Set<String> jobPackages = new TreeSet<>();
    try (Stream<Path> dirs = Files.list(ROOT)) {
      dirs.filter(Files::isDirectory)
          .map(d -> d.getFileName().toString())
          .filter(name -> !SHARED.contains(name))
          .forEach(jobPackages::add);
    }
    assertTrue(jobPackages.containsAll(Set.of("curate", "dedup", "generate", "rag", COMPOSER)));

    List<String> crossings = new ArrayList<>();
    try (Stream<Path> files = Files.walk(ROOT)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        Path relative = ROOT.relativize(file);
        if (relative.getNameCount() < 2) {
          continue; // the launcher, which runs every job
        }
        String from = relative.getName(0).toString();
        Matcher m = IMPORT.matcher(Files.readString(file));
        while (m.find()) {
          String to = m.group(1);
          boolean crosses = jobPackages.contains(to) && !to.equals(from) && !from.equals(COMPOSER);
          if (crosses) {
            crossings.add(relative + " imports jobs." + to);
          }
        }
      }
    }
    assertEquals(List.of(), crossings);
  }
}
