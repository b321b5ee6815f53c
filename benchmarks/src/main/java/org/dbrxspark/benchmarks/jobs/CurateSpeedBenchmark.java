package org.dbrxspark.benchmarks.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.dbrxspark.benchmarks.Median;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;

/**
 * Curate before and after a change, in one run (see BENCHMARKS.md, curate speed): on a {@link
 * CorpusGenerator} corpus (generated or reused, as {@link DataPrepBenchmark} does), curate with its
 * defaults runs in alternating rounds from {@code --baseline-classes} (the compiled module classes
 * of the commit to compare against, put first on the class path) and from this build, each in a JVM
 * of its own ({@link BenchRun}, local[2], the same heap). The machine may be shared, so each run
 * reports its process CPU time (every thread: Spark's tasks and Lingua's pool) besides the wall
 * time, and the ratios are given per round and as medians. With {@code --lid-off}, one more run of
 * this build with {@code --lid false} shows what is left once language identification costs
 * nothing. Writes {@code curate-speed.md} to the work folder. Not a test: run with {@code
 * bin/bench}.
 */
public final class CurateSpeedBenchmark {
  static final OptionSpec<String> BASELINE_CLASSES =
      OptionSpec.path(
          "baseline-classes",
          null,
          "Compiled classes of the baseline: folders separated by the path separator, put first on"
              + " the baseline runs' class path");
  static final OptionSpec<Integer> ROUNDS =
      OptionSpec.integer("rounds", 2, 1, "Rounds of baseline and new, alternating in order");
  static final OptionSpec<Boolean> LID_OFF =
      OptionSpec.bool("lid-off", true, "Also run this build once with --lid false");
  static final OptionSpec<String> CURATE_OPTIONS =
      OptionSpec.string(
          "curate-options", "", "Extra curate options of the new runs, space-separated");

  private CurateSpeedBenchmark() {}

  /** One measured curate run. */
  private record Measured(int round, String code, DataPrepBenchmark.Run run, String load) {
    double cpu() {
      return run.result().get("cpu_seconds").asDouble();
    }
  }

  public static void main(String[] args) throws Exception {
    List<OptionSpec<?>> specs =
        List.of(
            DataPrepBenchmark.WORK,
            DataPrepBenchmark.HEAP,
            BASELINE_CLASSES,
            ROUNDS,
            LID_OFF,
            CURATE_OPTIONS);
    ParsedOptions o =
        DataPrepBenchmark.parse(
            "curate-speed-benchmark",
            specs,
            "Benchmarks curate against a baseline build (see the class comment).",
            args);
    if (o != null) {
      run(o, new DataPrepBenchmark(o), args);
      System.exit(0);
    }
  }

  private static void run(ParsedOptions o, DataPrepBenchmark bench, String[] args)
      throws Exception {
    Path corpusDir = bench.corpusDir();
    String generated = bench.corpus(corpusDir, args);
    Path work = corpusDir.getParent();
    JsonNode manifest = new ObjectMapper().readTree(corpusDir.resolve("manifest.json").toFile());
    double mb = manifest.get("text_bytes").asLong() / 1e6;
    String corpus = corpusDir.resolve("corpus").toString();
    String current = System.getProperty("java.class.path");
    String baseline =
        Arrays.stream(o.get(BASELINE_CLASSES).split(File.pathSeparator))
                .map(folder -> Path.of(folder).toAbsolutePath().toString())
                .collect(Collectors.joining(File.pathSeparator))
            + File.pathSeparator
            + current;
    String started = LocalDateTime.now(ZoneOffset.UTC).toString();

    List<Measured> runs = new ArrayList<>();
    for (int round = 1; round <= o.get(ROUNDS); round++) {
      // Alternate which goes first, so that a drift in the machine's load favours neither.
      List<String> order = round % 2 == 1 ? List.of("baseline", "new") : List.of("new", "baseline");
      for (String code : order) {
        List<String> extra =
            code.equals("new") ? options(o.get(CURATE_OPTIONS)) : List.<String>of();
        runs.add(
            measure(
                bench, work, corpus, round, code, code.equals("new") ? current : baseline, extra));
      }
    }
    if (o.get(LID_OFF)) {
      runs.add(
          measure(bench, work, corpus, 0, "new, --lid false", current, List.of("--lid", "false")));
    }
    bench.closeLoad();

    StringBuilder md = new StringBuilder();
    md.append(
        String.format(
            Locale.ROOT,
            "curate speed, %s UTC; %s; corpus %.1f MB, %d documents (%s); args: %s%n%n",
            started,
            DataPrepBenchmark.machine("4.0.1"),
            mb,
            manifest.get("docs").asLong(),
            generated,
            String.join(" ", args)));
    md.append(
        "| round | code | wall s | CPU s | MB/s (wall) | MB per CPU-s | load (mean, max) | kept / rejected |\n");
    md.append("|---|---|---|---|---|---|---|---|\n");
    for (Measured m : runs) {
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %.1f | %.1f | %.2f | %.2f | %s | %s |%n",
              m.round() == 0 ? "-" : Integer.toString(m.round()),
              m.code(),
              m.run().seconds(),
              m.cpu(),
              mb / m.run().seconds(),
              mb / m.cpu(),
              m.load(),
              counts(m.run().output())));
    }
    List<Double> wall = new ArrayList<>();
    List<Double> cpu = new ArrayList<>();
    for (int round = 1; round <= o.get(ROUNDS); round++) {
      Measured b = find(runs, round, "baseline");
      Measured n = find(runs, round, "new");
      wall.add(b.run().seconds() / n.run().seconds());
      cpu.add(b.cpu() / n.cpu());
      md.append(
          String.format(
              Locale.ROOT,
              "%nround %d: baseline / new = %.2fx wall, %.2fx CPU",
              round,
              wall.get(wall.size() - 1),
              cpu.get(cpu.size() - 1)));
    }
    md.append(
        String.format(
            Locale.ROOT, "%nmedian: %.2fx wall, %.2fx CPU%n", Median.of(wall), Median.of(cpu)));
    Files.writeString(work.resolve("curate-speed.md"), md);
    System.out.println(md);
  }

  private static Measured measure(
      DataPrepBenchmark bench,
      Path work,
      String corpus,
      int round,
      String code,
      String classPath,
      List<String> extra)
      throws Exception {
    String name = "curate-" + code.replaceAll("[^a-z]+", "-") + "-" + round;
    List<String> job = DataPrepBenchmark.curateJob(corpus, work.resolve("out").resolve(name));
    job.addAll(extra);
    DataPrepBenchmark.Run r = bench.child(name, classPath, job, 0);
    if (!r.ok()) {
      throw new IllegalStateException(
          name + " failed: " + r.failure() + "; see " + work.resolve("logs"));
    }
    return new Measured(round, code, r, bench.loadDuring(name));
  }

  private static List<String> options(String text) {
    return text.isBlank() ? List.of() : Arrays.asList(text.strip().split("\\s+"));
  }

  /** The kept and rejected counts of the job's summary. */
  private static String counts(String output) {
    String kept = "?";
    String rejected = "?";
    for (String line : output.split("\n")) {
      String t = line.strip();
      if (t.matches("kept\\s+[0-9,]+")) {
        kept = t.replaceFirst("kept\\s+", "");
      } else if (t.matches("rejected\\s+[0-9,]+")) {
        rejected = t.replaceFirst("rejected\\s+", "");
      }
    }
    return kept + " / " + rejected;
  }

  private static Measured find(List<Measured> runs, int round, String code) {
    return runs.stream()
        .filter(m -> m.round() == round && m.code().equals(code))
        .findFirst()
        .orElseThrow();
  }
}
