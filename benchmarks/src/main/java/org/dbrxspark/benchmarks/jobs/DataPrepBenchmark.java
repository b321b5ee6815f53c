package org.dbrxspark.benchmarks.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.cli.OptionSet;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.core.SparkSessions;
import org.dbrxspark.jobs.dedup.DedupJob;
import org.dbrxspark.jobs.dedup.Deduplicator;

/**
 * The data-preparation benchmark, in one run (see BENCHMARKS.md, data preparation): generates (or
 * reuses) a {@link CorpusGenerator} corpus, then runs curate, dedup and the {@link MllibBaseline}
 * on it, each in a JVM of its own ({@link BenchRun}) with the same heap, on local[2]; measures
 * their time and peak memory; scores dedup (and the baseline's pairs) against the ground truth with
 * {@link DedupQuality}; and writes {@code results.md} and {@code results.json} to the work folder.
 * The baseline is stopped once it has run {@code --mllib-limit} times as long as dedup (or {@code
 * --mllib-max-seconds}), or once its shuffle and spill files pass {@code --mllib-max-spill-gib}; a
 * run that fails (an OutOfMemoryError, say) is reported as failed with its time and memory, never
 * as stopped. In local mode the executors are threads of the one JVM, so its peak heap is the
 * driver's and the executors' together. Not a test: run with {@code bin/bench}.
 */
public final class DataPrepBenchmark {
  static final OptionSpec<String> WORK =
      OptionSpec.path(
          "work",
          "target/dataprep-bench",
          "Folder for the corpus, the job outputs, logs and results");
  static final OptionSpec<String> HEAP =
      OptionSpec.string("heap", "4g", "-Xmx of each measured JVM");
  static final OptionSpec<Double> MLLIB_LIMIT =
      OptionSpec.decimal(
          "mllib-limit",
          10,
          0,
          1000,
          "Stop the MLlib baseline after this many times dedup's time; 0: do not run it");
  static final OptionSpec<Integer> MLLIB_MAX_SECONDS =
      OptionSpec.integer(
          "mllib-max-seconds",
          900,
          1,
          "Stop the MLlib baseline after this many seconds at most, whatever --mllib-limit allows");
  static final OptionSpec<Integer> MLLIB_MAX_SPILL_GIB =
      OptionSpec.integer(
          "mllib-max-spill-gib",
          40,
          0,
          "Stop the MLlib baseline once its shuffle and spill files pass this many GiB; 0: no limit");
  static final OptionSpec<Boolean> CURATE = OptionSpec.bool("curate", true, "Measure curate");
  static final OptionSpec<String> DEDUP_OPTIONS =
      OptionSpec.string(
          "dedup-options", "", "Extra dedup options, space-separated (e.g. '--bands 14 --rows 8')");
  static final OptionSpec<Integer> NUM_PERM =
      OptionSpec.integer("num-perm", 128, 2, "dedup --num-perm and the baseline's numHashTables");
  static final OptionSpec<Double> THRESHOLD =
      OptionSpec.decimal("threshold", 0.8, 0.01, 1, "Jaccard threshold of dedup and the baseline");

  private final ParsedOptions options;
  private final Path work;
  private final LoadMonitor load = new LoadMonitor();
  private final ObjectMapper json = new ObjectMapper();

  DataPrepBenchmark(ParsedOptions options) {
    this.options = options;
    this.work = Path.of(options.get(WORK)).toAbsolutePath();
  }

  /** What a measured JVM reported. */
  record Run(
      String name,
      double seconds,
      int exitCode,
      boolean stopped,
      JsonNode memory,
      JsonNode result,
      String output,
      String failure) {
    /** Finished on its own with exit code 0. */
    boolean ok() {
      return exitCode == 0 && !stopped && failure == null;
    }

    /** Which limit stopped the run (the child's time or disk limit). */
    String stopReason() {
      return result == null ? "time limit" : result.path("stop_reason").asText("time limit");
    }
  }

  public static void main(String[] args) throws Exception {
    List<OptionSpec<?>> specs =
        new ArrayList<>(
            List.of(
                WORK,
                HEAP,
                MLLIB_LIMIT,
                MLLIB_MAX_SECONDS,
                MLLIB_MAX_SPILL_GIB,
                CURATE,
                DEDUP_OPTIONS,
                NUM_PERM,
                THRESHOLD));
    ParsedOptions o =
        parse(
            "dataprep-benchmark",
            specs,
            "Benchmarks curate and dedup against MLlib MinHashLSH (see the class comment).",
            args);
    if (o == null) {
      return;
    }
    new DataPrepBenchmark(o).run(args);
    System.exit(0);
  }

  /**
   * Parses a benchmark's arguments: its own options {@code specs} and the corpus generator's.
   * Prints the help and returns null when it was asked for.
   */
  static ParsedOptions parse(
      String name, List<OptionSpec<?>> specs, String description, String[] args) {
    List<OptionSpec<?>> all = new ArrayList<>(specs);
    CorpusGenerator.OPTIONS.stream().filter(s -> s != CorpusGenerator.OUTPUT).forEach(all::add);
    OptionSet set = new OptionSet(name, all);
    ParsedOptions o = set.parse(args);
    if (o.helpRequested()) {
      System.out.print(set.help(description));
      return null;
    }
    return o;
  }

  /** The {@link BenchRun} arguments of curate with its defaults. */
  static List<String> curateJob(String corpus, Path output) {
    return new ArrayList<>(
        List.of("job", "curate", "--input", corpus, "--output", output.toString()));
  }

  /** The folder of the corpus the options describe (see {@link #corpus}). */
  Path corpusDir() {
    return work.resolve(
        "corpus-"
            + options.get(CorpusGenerator.SIZE_MB)
            + "mb-seed"
            + options.get(CorpusGenerator.SEED));
  }

  private void run(String[] args) throws Exception {
    String before = String.format(Locale.ROOT, "%.1f", LoadMonitor.now());
    Path corpusDir = corpusDir();
    String generated = corpus(corpusDir, args);
    JsonNode manifest = json.readTree(corpusDir.resolve("manifest.json").toFile());
    String corpus = corpusDir.resolve("corpus").toString();
    Path out = work.resolve("out");
    double mb = manifest.get("text_bytes").asLong() / 1e6;
    long docs = manifest.get("docs").asLong();

    List<Run> runs = new ArrayList<>();
    if (options.get(CURATE)) {
      runs.add(child("curate", curateJob(corpus, out.resolve("curated")), 0));
    }
    List<String> dedupArgs = dedupArgs(corpus, out);
    List<String> dedupChild = new ArrayList<>(List.of("job"));
    dedupChild.addAll(dedupArgs);
    Run dedup = child("dedup", dedupChild, 0);
    runs.add(dedup);
    Run mllib = null;
    if (options.get(MLLIB_LIMIT) > 0) {
      double limit =
          Math.min(options.get(MLLIB_LIMIT) * dedup.seconds(), options.get(MLLIB_MAX_SECONDS));
      mllib =
          child(
              "mllib",
              List.of(
                  "mllib",
                  corpus,
                  out.resolve("mllib-pairs").toString(),
                  Integer.toString(options.get(NUM_PERM)),
                  Double.toString(options.get(THRESHOLD)),
                  "42",
                  String.format(Locale.ROOT, "%.1f", limit),
                  Integer.toString(options.get(MLLIB_MAX_SPILL_GIB))),
              limit);
      runs.add(mllib);
    }
    for (Run r : runs) {
      if (r != mllib && !r.ok()) {
        throw new IllegalStateException(
            r.name() + " failed (exit " + r.exitCode() + "); see " + work.resolve("logs"));
      }
    }

    load.phase("quality");
    DbrxSparkJobs entry = new DbrxSparkJobs();
    ParsedOptions dedupOptions =
        entry
            .optionSet(entry.jobs().get("dedup"))
            .parse(dedupArgs.subList(1, dedupArgs.size()).toArray(String[]::new));
    Deduplicator deduplicator = DedupJob.deduplicator(dedupOptions);
    SparkSession spark = SparkSessions.create("bench quality", "local[2]", 0);
    DedupQuality.Report quality =
        DedupQuality.evaluate(
            spark,
            corpus,
            DedupQuality.readTruth(corpusDir.resolve("truth.tsv")),
            out.resolve("deduped_duplicates").toString(),
            mllib != null && mllib.ok() ? out.resolve("mllib-pairs").toString() : null,
            deduplicator);
    load.phase("end");

    String report =
        Report.markdown(
            new Report.Context(
                LocalDate.now().toString(),
                machine(spark.version()),
                String.join(" ", args),
                generated,
                manifest,
                mb,
                docs,
                before,
                load,
                runs,
                dedup,
                mllib,
                String.join(" ", dedupArgs.subList(1, dedupArgs.size())),
                quality));
    Files.writeString(work.resolve("results.md"), report);
    json.writerWithDefaultPrettyPrinter()
        .writeValue(
            work.resolve("results.json").toFile(), Report.json(json, manifest, runs, quality));
    System.out.println(report);
    spark.stop();
    load.close();
  }

  private List<String> dedupArgs(String corpus, Path out) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "dedup",
                "--input",
                corpus,
                "--output",
                out.resolve("deduped").toString(),
                "--threshold",
                Double.toString(options.get(THRESHOLD)),
                "--num-perm",
                Integer.toString(options.get(NUM_PERM))));
    String extra = options.get(DEDUP_OPTIONS).strip();
    if (!extra.isEmpty()) {
      a.addAll(Arrays.asList(extra.split("\\s+")));
    }
    return a;
  }

  /** Generates the corpus unless a manifest with the same options is there; says which. */
  String corpus(Path dir, String[] args) throws IOException {
    Path manifest = dir.resolve("manifest.json");
    if (Files.exists(manifest)) {
      JsonNode m = json.readTree(manifest.toFile());
      boolean same =
          CorpusGenerator.OPTIONS.stream()
              .filter(s -> s != CorpusGenerator.OUTPUT)
              .allMatch(s -> String.valueOf(options.get(s)).equals(m.path(s.name()).asText()));
      if (same) {
        return "reused (generated earlier with the same options)";
      }
    }
    load.phase("generate");
    List<String> genArgs = new ArrayList<>(List.of("--output", dir.toString()));
    for (OptionSpec<?> s : CorpusGenerator.OPTIONS) {
      if (s != CorpusGenerator.OUTPUT) {
        genArgs.addAll(List.of("--" + s.name(), String.valueOf(options.get(s))));
      }
    }
    long t = System.nanoTime();
    CorpusGenerator.generate(
        new OptionSet("corpus-generator", CorpusGenerator.OPTIONS)
            .parse(genArgs.toArray(String[]::new)));
    return String.format(
        Locale.ROOT,
        "generated in %.0f s (load %s)",
        (System.nanoTime() - t) / 1e9,
        load.summary("generate"));
  }

  /**
   * Runs {@link BenchRun} with {@code args} in a new JVM, killed {@code limit} + 120 s after its
   * start.
   */
  Run child(String name, List<String> args, double limit) throws IOException, InterruptedException {
    return child(name, System.getProperty("java.class.path"), args, limit);
  }

  /** As {@link #child(String, List, double)}, with the JVM's class path {@code classPath}. */
  Run child(String name, String classPath, List<String> args, double limit)
      throws IOException, InterruptedException {
    load.phase(name);
    Path logs = Files.createDirectories(work.resolve("logs"));
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + options.get(HEAP),
                "-Dspark.ui.enabled=false",
                "-Dspark.driver.host=127.0.0.1",
                "-Dspark.local.dir=" + Files.createDirectories(work.resolve("spark-tmp"))));
    // The module flags this JVM was started with (--add-modules=jdk.incubator.vector), for the same
    // code paths.
    java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--add-"))
        .forEach(cmd::add);
    String log4j = System.getProperty("log4j2.configurationFile");
    if (log4j != null) {
      cmd.add("-Dlog4j2.configurationFile=" + log4j);
    }
    cmd.addAll(List.of("-cp", classPath, BenchRun.class.getName()));
    cmd.addAll(args);
    System.out.println("running " + name + " (log: " + logs.resolve(name + ".err") + ")");
    long t0 = System.nanoTime();
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(logs.resolve(name + ".out").toFile())
            .redirectError(logs.resolve(name + ".err").toFile())
            .start();
    boolean killed = false;
    if (!p.waitFor(limit > 0 ? (long) limit + 120 : Long.MAX_VALUE / 2, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
      killed = true;
    }
    // Wall time of the whole child JVM, start-up included: used only when the run printed no
    // result.
    double wall = (System.nanoTime() - t0) / 1e9;
    int exit = p.exitValue();
    List<String> lines = Files.readAllLines(logs.resolve(name + ".out"));
    boolean oom = Files.readString(logs.resolve(name + ".err")).contains("OutOfMemoryError");
    JsonNode result = null;
    JsonNode memory = null;
    StringBuilder output = new StringBuilder();
    for (String line : lines) {
      if (line.startsWith("RESULT ")) {
        result = json.readTree(line.substring(7));
        memory = result.get("memory");
      } else if (line.startsWith("MEMORY ")) {
        memory = json.readTree(line.substring(7));
      } else {
        output.append(line).append('\n');
      }
    }
    Run run;
    if (result == null) {
      String failure =
          killed
              ? "killed by the benchmark after " + (long) wall + " s"
              : (oom ? "OutOfMemoryError (-Xmx" + options.get(HEAP) + "), " : "")
                  + "JVM exited with code "
                  + exit
                  + " without a result";
      run =
          new Run(
              name, wall, exit == 0 ? -1 : exit, killed, memory, null, output.toString(), failure);
    } else {
      boolean stopped = result.get("stopped").asBoolean();
      String failure = null;
      if (result.has("error")) {
        failure =
            (oom ? "OutOfMemoryError (-Xmx" + options.get(HEAP) + "): " : "")
                + result.get("error").asText();
      } else if (result.get("exit_code").asInt() != 0) {
        failure = "exit code " + result.get("exit_code").asInt();
      }
      run =
          new Run(
              name,
              result.get("seconds").asDouble(),
              result.get("exit_code").asInt(),
              stopped,
              memory,
              result,
              output.toString(),
              failure);
    }
    System.out.printf(
        Locale.ROOT,
        "%s: %.1f s%s%s, exit %d, memory %s%n",
        name,
        run.seconds(),
        run.stopped() ? " (stopped at the " + run.stopReason() + ")" : "",
        run.failure() == null ? "" : " FAILED: " + run.failure(),
        run.exitCode(),
        memory);
    return run;
  }

  /** The load average over the phase {@code name} (a child run is a phase named after it). */
  String loadDuring(String name) {
    return load.summary(name);
  }

  /** Stops sampling the load. */
  void closeLoad() {
    load.close();
  }

  static String machine(String sparkVersion) {
    String cpu = "unknown CPU";
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      cpu =
          lines
              .filter(l -> l.startsWith("model name"))
              .findFirst()
              .map(l -> l.replaceFirst(".*:\\s*", ""))
              .orElse(cpu);
    } catch (IOException e) {
      // not Linux: the CPU stays unnamed
    }
    return String.format(
        Locale.ROOT,
        "%d cores (%s), %s, JDK %s, Spark %s local[2]",
        Runtime.getRuntime().availableProcessors(),
        cpu,
        System.getProperty("os.name"),
        System.getProperty("java.version"),
        sparkVersion);
  }
}
