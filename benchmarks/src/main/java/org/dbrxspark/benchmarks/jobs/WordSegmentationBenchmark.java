package org.dbrxspark.benchmarks.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import org.dbrxspark.benchmarks.Usage;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.curate.CurateJob;
import org.dbrxspark.jobs.curate.Curator;
import org.dbrxspark.jobs.text.Words;

/**
 * Curate's per-document work (language identification off: it is not the word split) and the word
 * split dedup and decontaminate use, on one thread, in MB of UTF-8 text per CPU second: thread CPU
 * time, not wall clock, so that a loaded machine slows the rounds less. Arguments: JSONL or
 * JSONL.gz files with a {@code text} field (comma-separated), then the number of rounds (the first
 * warms the JIT). See BENCHMARKS.md, "curate: word segmentation". Not a test: run with {@code
 * bin/bench}.
 */
public final class WordSegmentationBenchmark {
  private WordSegmentationBenchmark() {}

  public static void main(String[] args) throws IOException {
    if (Usage.printedHelp(args, "usage: WordSegmentationBenchmark JSONL[,JSONL...] ROUNDS")) {
      return;
    }
    List<String> docs = read(args[0]);
    long bytes = docs.stream().mapToLong(d -> d.getBytes(StandardCharsets.UTF_8).length).sum();
    Curator curator =
        CurateJob.curator(
            new DbrxSparkJobs()
                .optionSet(new CurateJob())
                .parse(new String[] {"--input", "unused", "--output", "unused", "--lid", "false"}));
    ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
    long sink = 0;
    for (int round = 0; round < Integer.parseInt(args[1]); round++) {
      long t0 = cpu.getCurrentThreadCpuTime();
      for (String d : docs) {
        sink += curator.curate(d).getString(0).length();
      }
      long t1 = cpu.getCurrentThreadCpuTime();
      for (String d : docs) {
        sink += Words.of(d).count();
      }
      long t2 = cpu.getCurrentThreadCpuTime();
      System.out.printf(
          Locale.ROOT,
          "round %d: %d documents, %.1f MB: curate %.2f MB/s, words %.1f MB/s%n",
          round,
          docs.size(),
          bytes / 1e6,
          bytes * 1e3 / (t1 - t0),
          bytes * 1e3 / (t2 - t1));
    }
    System.out.println("(checksum " + sink + ")");
  }

  private static List<String> read(String paths) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<String> docs = new ArrayList<>();
    for (String path : paths.split(",")) {
      InputStream in = Files.newInputStream(Path.of(path));
      try (BufferedReader r =
          new BufferedReader(
              new InputStreamReader(
                  path.endsWith(".gz") ? new GZIPInputStream(in) : in, StandardCharsets.UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          JsonNode text = json.readTree(line).get("text");
          if (text != null && text.isTextual()) {
            docs.add(text.asText());
          }
        }
      }
    }
    return docs;
  }
}
