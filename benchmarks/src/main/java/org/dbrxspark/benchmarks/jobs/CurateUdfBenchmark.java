package org.dbrxspark.benchmarks.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.spark.sql.Row;
import org.dbrxspark.benchmarks.Median;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.cli.OptionSet;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.curate.CurateJob;
import org.dbrxspark.jobs.curate.Curator;

/**
 * The curate UDF alone, before and after a change (BENCHMARKS.md, curate speed): one thread curates
 * every document of a JSONL corpus, round after round, and the curate calls are timed by that
 * thread's CPU time, so that other work on a shared machine does not count. Each build runs in JVMs
 * of its own, alternating with the baseline ({@code --baseline-classes}, put first on the class
 * path); a JVM's first round warms the JIT up and is not counted. Prints every round (the curate
 * calls' thread CPU time and the process's, which includes Lingua's pool, the JIT and the GC), each
 * build's median and their ratio, and whether the two builds gave the same output (language,
 * reasons, signals and text) for every document. Not a test: run with {@code bin/bench}.
 */
public final class CurateUdfBenchmark {
  static final OptionSpec<String> CORPUS =
      OptionSpec.path(
          "corpus", null, "JSONL or JSONL.gz files of {id, text} documents, comma-separated");
  static final OptionSpec<Integer> ROUNDS =
      OptionSpec.integer(
          "rounds", 4, 2, "Rounds in each JVM; the first warms the JIT up and is not counted");
  static final OptionSpec<Integer> JVMS =
      OptionSpec.integer("jvms", 2, 1, "JVMs of each build, alternating with the baseline's");

  private CurateUdfBenchmark() {}

  public static void main(String[] args) throws Exception {
    OptionSet set =
        new OptionSet(
            "curate-udf-benchmark",
            List.of(CORPUS, CurateSpeedBenchmark.BASELINE_CLASSES, ROUNDS, JVMS));
    ParsedOptions o = set.parse(args);
    if (o.helpRequested()) {
      System.out.print(set.help("Benchmarks the curate UDF against a baseline build."));
      return;
    }
    String current = System.getProperty("java.class.path");
    Map<String, String> classPaths = new LinkedHashMap<>();
    classPaths.put(
        "baseline", o.get(CurateSpeedBenchmark.BASELINE_CLASSES) + File.pathSeparator + current);
    classPaths.put("new", current);
    // Per build: the curate calls' thread CPU seconds, and the process's (Lingua runs part of its
    // work on the common fork-join pool, which the calling thread's time leaves out).
    Map<String, List<Double>> thread = new LinkedHashMap<>();
    Map<String, List<Double>> process = new LinkedHashMap<>();
    Map<String, String> records = new LinkedHashMap<>();
    for (int jvm = 1; jvm <= o.get(JVMS); jvm++) {
      // Alternate which build goes first, so that a drift in the machine's load favours neither.
      List<String> order = jvm % 2 == 1 ? List.of("baseline", "new") : List.of("new", "baseline");
      for (String build : order) {
        List<double[]> rounds =
            worker(classPaths.get(build), o.get(CORPUS), o.get(ROUNDS), records, build);
        StringBuilder line = new StringBuilder();
        for (double[] r : rounds) {
          line.append(String.format(Locale.ROOT, " %.2f/%.2f", r[0], r[1]));
          thread.computeIfAbsent(build, k -> new ArrayList<>()).add(r[0]);
          process.computeIfAbsent(build, k -> new ArrayList<>()).add(r[1]);
        }
        System.out.printf(Locale.ROOT, "%s, JVM %d, CPU s thread/process:%s%n", build, jvm, line);
      }
    }
    printMedians("thread", thread);
    printMedians("process", process);
    System.out.println(
        "outputs " + (records.get("baseline").equals(records.get("new")) ? "identical" : "DIFFER"));
  }

  private static void printMedians(String clock, Map<String, List<Double>> cpu) {
    double base = Median.of(cpu.get("baseline"));
    double now = Median.of(cpu.get("new"));
    System.out.printf(
        Locale.ROOT,
        "median %s CPU s: baseline %.2f, new %.2f: %.2fx%n",
        clock,
        base,
        now,
        base / now);
  }

  /**
   * Runs {@link Worker} on {@code classPath}; returns the counted rounds' thread and process CPU
   * seconds.
   */
  private static List<double[]> worker(
      String classPath, String corpus, int rounds, Map<String, String> records, String build)
      throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.addAll(List.of("-cp", classPath, Worker.class.getName(), corpus, Integer.toString(rounds)));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    List<double[]> counted = new ArrayList<>();
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = out.readLine(); line != null; line = out.readLine()) {
        String[] f = line.split(" ");
        if (f[0].equals("ROUND") && !f[1].equals("0")) {
          counted.add(new double[] {Double.parseDouble(f[2]), Double.parseDouble(f[3])});
        } else if (f[0].equals("RECORDS")) {
          records.put(build, f[1]);
        }
      }
    }
    if (p.waitFor() != 0) {
      throw new IllegalStateException(build + " worker exited with " + p.exitValue());
    }
    return counted;
  }

  /**
   * One build's JVM: curates the corpus {@code args[0]} {@code args[1]} times with curate's
   * defaults, printing each round's CPU seconds and a digest of every output row.
   */
  public static final class Worker {
    private Worker() {}

    public static void main(String[] args) throws Exception {
      // By reflection: older builds, the baselines, kept these methods package-private.
      Method curatorOf = CurateJob.class.getDeclaredMethod("curator", ParsedOptions.class);
      Method curate = Curator.class.getDeclaredMethod("curate", String.class);
      curatorOf.setAccessible(true);
      curate.setAccessible(true);
      Object curator =
          curatorOf.invoke(
              null,
              new DbrxSparkJobs()
                  .optionSet(new CurateJob())
                  .parse(new String[] {"--input", "in", "--output", "out"}));
      List<String> texts = new ArrayList<>();
      ObjectMapper json = new ObjectMapper();
      for (String file : args[0].split(",")) {
        InputStream in = Files.newInputStream(Path.of(file));
        try (MappingIterator<JsonNode> docs =
            json.readerFor(JsonNode.class)
                .readValues(file.endsWith(".gz") ? new GZIPInputStream(in) : in)) {
          docs.forEachRemaining(d -> texts.add(d.get("text").asText()));
        }
      }
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      com.sun.management.OperatingSystemMXBean os =
          (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      for (int round = 0; round < Integer.parseInt(args[1]); round++) {
        long nanos = 0;
        long processStart = os.getProcessCpuTime();
        digest.reset();
        for (String text : texts) {
          long start = threads.getCurrentThreadCpuTime();
          Row row = (Row) curate.invoke(curator, text);
          nanos += threads.getCurrentThreadCpuTime() - start;
          digest.update(render(row).getBytes(StandardCharsets.UTF_8));
        }
        System.out.printf(
            Locale.ROOT,
            "ROUND %d %.3f %.3f%n",
            round,
            nanos / 1e9,
            (os.getProcessCpuTime() - processStart) / 1e9);
      }
      System.out.println("RECORDS " + HexFormat.of().formatHex(digest.digest()));
    }

    /** Every field's value, arrays and nested rows included (their toString is an identity). */
    private static String render(Row row) {
      StringBuilder out = new StringBuilder("[");
      for (int i = 0; i < row.size(); i++) {
        Object v = row.get(i);
        out.append(
                v instanceof Row r
                    ? render(r)
                    : v instanceof Object[] a ? Arrays.deepToString(a) : String.valueOf(v))
            .append(i + 1 < row.size() ? "," : "]");
      }
      return out.toString();
    }
  }
}
