package org.dbrxspark.benchmarks.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.dbrxspark.benchmarks.Usage;
import org.dbrxspark.jobs.decontam.Matcher;
import org.dbrxspark.jobs.decontam.NGramTable;

/**
 * The matching alone, without Spark: builds the broadcast path's {@link NGramTable} from a JSONL
 * benchmark set and runs {@link Matcher#verdict} over a corpus folder's {@code *.jsonl.gz} texts in
 * one thread, twice (the first pass warms the JIT), printing MB/s. What the job costs on top of
 * this is reading, shuffling and writing. Usage: {@code MatchThroughput BENCHMARK.jsonl CORPUS_DIR
 * MAX_MB}. Not a test: run with {@code bin/bench}.
 */
public final class MatchThroughput {
  private MatchThroughput() {}

  public static void main(String[] args) throws IOException {
    if (Usage.printedHelp(args, "usage: MatchThroughput BENCHMARK.jsonl CORPUS_DIR MAX_MB")) {
      return;
    }
    ObjectMapper json = new ObjectMapper();
    Matcher matcher = new Matcher(13, 1);
    List<long[]> items = new ArrayList<>();
    long started = System.nanoTime();
    for (String line : Files.readAllLines(Path.of(args[0]))) {
      JsonNode row = json.readTree(line);
      List<String> texts =
          new ArrayList<>(List.of(row.get("question").asText(), row.get("answer").asText()));
      row.get("choices").forEach(c -> texts.add(c.asText()));
      items.add(matcher.distinctHashes(texts));
    }
    NGramTable table = NGramTable.build(items.toArray(long[][]::new));
    System.out.printf(
        Locale.ROOT,
        "table: %,d items, %,d distinct n-grams, %.1f MB, built in %.1f s%n",
        items.size(),
        table.size(),
        table.bytes() / 1e6,
        (System.nanoTime() - started) / 1e9);
    List<String> texts = corpus(Path.of(args[1]), Long.parseLong(args[2]) * 1_000_000L);
    long bytes = texts.stream().mapToLong(t -> t.getBytes(StandardCharsets.UTF_8).length).sum();
    for (int pass = 1; pass <= 2; pass++) {
      long t0 = System.nanoTime();
      int contaminated = 0;
      for (String t : texts) {
        contaminated += matcher.verdict(t, table) == null ? 0 : 1;
      }
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf(
          Locale.ROOT,
          "pass %d: %.1f MB in %.1f s = %.2f MB/s on one thread, %d contaminated%n",
          pass,
          bytes / 1e6,
          s,
          bytes / 1e6 / s,
          contaminated);
    }
  }

  private static List<String> corpus(Path dir, long maxBytes) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<String> out = new ArrayList<>();
    long bytes = 0;
    List<Path> parts;
    try (Stream<Path> files = Files.list(dir)) {
      parts = files.filter(f -> f.toString().endsWith(".jsonl.gz")).sorted().toList();
    }
    for (Path part : parts) {
      try (BufferedReader in =
          new BufferedReader(
              new InputStreamReader(
                  new GZIPInputStream(Files.newInputStream(part)), StandardCharsets.UTF_8))) {
        for (String line = in.readLine(); line != null && bytes < maxBytes; line = in.readLine()) {
          String text = json.readTree(line).get("text").asText();
          out.add(text);
          bytes += text.length();
        }
      }
    }
    return out;
  }
}
