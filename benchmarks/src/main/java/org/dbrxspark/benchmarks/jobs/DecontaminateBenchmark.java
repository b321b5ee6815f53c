package org.dbrxspark.benchmarks.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.core.SparkSessions;
import org.dbrxspark.jobs.io.DeltaTables;

/**
 * The decontamination benchmark (see BENCHMARKS.md): a {@link CorpusGenerator} corpus (generated or
 * reused, as {@link DataPrepBenchmark} does) against a benchmark set built from it, with {@code
 * decontaminate} run in a JVM of its own ({@link BenchRun}) once per match path; reports corpus
 * MB/s per core and peak memory, and checks that every document a benchmark item was copied from is
 * rejected. The floor run shows what the job costs without the benchmark set.
 *
 * <p>The benchmark set is JSONL items (id, question, choices, answer) of 40-word windows of the
 * corpus's documents plus four 4-word choices, until their text reaches {@code --benchmark-mb}. One
 * item in {@code --copy-every} keeps its window as written (contaminating that document and its
 * planted near-duplicates); the others have the window's words shuffled, so their vocabulary is the
 * corpus's but no 13-gram of theirs is in it (bar chance, about 10^-25 per pair). Not a test: run
 * with {@code bin/bench}.
 */
public final class DecontaminateBenchmark {
  static final OptionSpec<Integer> BENCHMARK_MB =
      OptionSpec.integer("benchmark-mb", 50, 1, "Text of the benchmark set, in MB");
  static final OptionSpec<Integer> COPY_EVERY =
      OptionSpec.integer(
          "copy-every",
          1000,
          1,
          "One benchmark item in this many is copied verbatim from a corpus document");
  static final OptionSpec<List<String>> PATHS =
      OptionSpec.list(
          "paths",
          "broadcast,join,floor",
          "Runs to measure: broadcast (the default limit), join (--broadcast-max-mb 0), floor (a one-item "
              + "benchmark set: reading, normalising and hashing every document and writing the tables, with "
              + "nothing to look up)");
  private static final int WINDOW = 40;

  private DecontaminateBenchmark() {}

  public static void main(String[] args) throws Exception {
    List<OptionSpec<?>> specs =
        new ArrayList<>(
            List.of(
                DataPrepBenchmark.WORK, DataPrepBenchmark.HEAP, BENCHMARK_MB, COPY_EVERY, PATHS));
    ParsedOptions o =
        DataPrepBenchmark.parse(
            "decontaminate-benchmark",
            specs,
            "Benchmarks decontaminate (see the class comment).",
            args);
    if (o == null) {
      return;
    }
    run(o, args);
    System.exit(0);
  }

  private static void run(ParsedOptions o, String[] args) throws Exception {
    DataPrepBenchmark bench = new DataPrepBenchmark(o);
    Path work = Path.of(o.get(DataPrepBenchmark.WORK)).toAbsolutePath();
    Path corpusDir = bench.corpusDir();
    String generated = bench.corpus(corpusDir, args);
    ObjectMapper json = new ObjectMapper();
    JsonNode manifest = json.readTree(corpusDir.resolve("manifest.json").toFile());
    double mb = manifest.get("text_bytes").asLong() / 1e6;
    Path benchmark =
        work.resolve(
            "benchmark-" + o.get(BENCHMARK_MB) + "mb-every" + o.get(COPY_EVERY) + ".jsonl");
    Path sources =
        work.resolve(
            "benchmark-" + o.get(BENCHMARK_MB) + "mb-every" + o.get(COPY_EVERY) + ".sources");
    if (!Files.exists(sources)) {
      writeBenchmark(
          corpusDir.resolve("corpus"),
          benchmark,
          sources,
          o.get(BENCHMARK_MB) * 1_000_000L,
          o.get(COPY_EVERY),
          o.get(CorpusGenerator.SEED));
    }
    Set<String> copiedFrom = new TreeSet<>(Files.readAllLines(sources));
    Path oneItem = work.resolve("benchmark-one-item.jsonl");
    Files.writeString(oneItem, Files.readAllLines(benchmark).get(1) + "\n");

    StringBuilder report = new StringBuilder();
    ObjectNode results = json.createObjectNode();
    SparkSession spark = null;
    for (String path : o.get(PATHS)) {
      Path out = work.resolve("out-" + path);
      Path set = path.equals("floor") ? oneItem : benchmark;
      double benchmarkMb = Files.size(set) / 1e6;
      List<String> job =
          new ArrayList<>(
              List.of(
                  "job",
                  "decontaminate",
                  "--input",
                  corpusDir.resolve("corpus").toString(),
                  "--benchmarks",
                  set.toString(),
                  "--output",
                  out.toString()));
      if (path.equals("join")) {
        job.addAll(List.of("--broadcast-max-mb", "0"));
      }
      DataPrepBenchmark.Run r = bench.child("decontaminate-" + path, job, 0);
      if (!r.ok()) {
        throw new IllegalStateException(
            r.name() + " failed: " + r.failure() + "; see " + work.resolve("logs"));
      }
      if (spark == null) {
        spark = SparkSessions.create("bench check", "local[2]", 0);
      }
      Set<String> rejected =
          new TreeSet<>(
              DeltaTables.read(spark, out + "_rejects")
                  .select("id")
                  .as(Encoders.STRING())
                  .collectAsList());
      // The floor's one item is shuffled: it was copied from no document.
      Set<String> expected = path.equals("floor") ? Set.of() : copiedFrom;
      long missed = expected.stream().filter(id -> !rejected.contains(id)).count();
      JsonNode m = r.memory();
      String line =
          String.format(
              Locale.ROOT,
              "| %s | %.1f | %.1f | %.2f | %.2f | %d | %d | %d | %s | %.0f | " + "%.0f | %.0f |",
              path,
              mb,
              benchmarkMb,
              r.seconds(),
              mb / r.seconds() / 2,
              rejected.size(),
              expected.size(),
              missed,
              bench.loadDuring(r.name()),
              m.path("live_heap_mib").asDouble(),
              m.path("heap_used_mib").asDouble(),
              m.path("rss_mib").asDouble());
      report.append(line).append('\n');
      results.set(
          path,
          json.createObjectNode()
              .put("seconds", r.seconds())
              .put("corpus_mb", mb)
              .put("benchmark_mb", benchmarkMb)
              .put("mb_per_s_per_core", mb / r.seconds() / 2)
              .put("rejected", rejected.size())
              .put("copied_from", expected.size())
              .put("missed", missed)
              .set("memory", m));
      System.out.println(r.output());
    }
    String header =
        "machine: "
            + DataPrepBenchmark.machine(spark == null ? "?" : spark.version())
            + "\n"
            + "corpus: "
            + generated
            + "\n\n"
            + "| path | corpus MB | benchmark MB | time (s) | MB/s per core | rejected | copied from | missed "
            + "| load (mean, max) | live heap (MiB) | heap used (MiB) | RSS (MiB) |\n"
            + "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n";
    Files.writeString(work.resolve("decontaminate-results.md"), header + report);
    json.writerWithDefaultPrettyPrinter()
        .writeValue(work.resolve("decontaminate-results.json").toFile(), results);
    System.out.println(header + report);
    if (spark != null) {
      spark.stop();
    }
    bench.closeLoad();
  }

  /**
   * Writes the benchmark set (see the class comment), cycling over the corpus's documents in file
   * order, one window further into each document per cycle, and the ids of the documents the
   * verbatim items came from.
   */
  private static void writeBenchmark(
      Path corpus, Path out, Path sources, long targetBytes, int copyEvery, long seed)
      throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<Path> parts;
    try (Stream<Path> files = Files.list(corpus)) {
      parts = files.filter(f -> f.getFileName().toString().endsWith(".jsonl.gz")).sorted().toList();
    }
    SplittableRandom random = new SplittableRandom(seed);
    List<String> copied = new ArrayList<>();
    long bytes = 0;
    long item = 0;
    try (Writer w = Files.newBufferedWriter(out)) {
      for (int cycle = 0; bytes < targetBytes; cycle++) {
        long before = bytes;
        for (Path part : parts) {
          try (BufferedReader in =
              new BufferedReader(
                  new InputStreamReader(
                      new GZIPInputStream(Files.newInputStream(part)), StandardCharsets.UTF_8))) {
            for (String line = in.readLine();
                line != null && bytes < targetBytes;
                line = in.readLine()) {
              JsonNode doc = json.readTree(line);
              String[] words = doc.get("text").asText().split("\\s+");
              int from = cycle * (WINDOW + 16);
              if (from + WINDOW + 16 > words.length) {
                continue;
              }
              List<String> window =
                  new ArrayList<>(Arrays.asList(words).subList(from, from + WINDOW));
              boolean verbatim = item % copyEvery == 0;
              if (verbatim) {
                copied.add(doc.get("id").asText());
              } else {
                Collections.shuffle(window, new java.util.Random(random.nextLong()));
              }
              List<String> rest =
                  new ArrayList<>(Arrays.asList(words).subList(from + WINDOW, from + WINDOW + 16));
              Collections.shuffle(rest, new java.util.Random(random.nextLong()));
              List<String> choices = new ArrayList<>();
              for (int c = 0; c < 4; c++) {
                choices.add(String.join(" ", rest.subList(4 * c, 4 * c + 4)));
              }
              ObjectNode row =
                  json.createObjectNode()
                      .put("id", "item-" + item)
                      .put("question", String.join(" ", window));
              choices.forEach(row.putArray("choices")::add);
              row.put("answer", choices.get(random.nextInt(4)));
              String text = json.writeValueAsString(row);
              w.write(text);
              w.write('\n');
              bytes += text.getBytes(StandardCharsets.UTF_8).length;
              item++;
            }
          }
        }
        if (bytes == before) {
          throw new IllegalStateException("the corpus is too small for --benchmark-mb");
        }
      }
    }
    Files.write(sources, copied);
  }
}
