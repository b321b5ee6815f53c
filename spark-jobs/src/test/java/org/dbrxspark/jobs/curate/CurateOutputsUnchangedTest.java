package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.zip.GZIPInputStream;
import org.apache.spark.sql.Row;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.junit.jupiter.api.Test;

/**
 * Curate's whole output on the sample corpus is what commit c5271af's code gave (the word split
 * that keeps combining marks, before the speed-ups of the filters; recorded in
 * resources/curate-golden by {@link #main}): for every document the language, the reasons in order,
 * and a hash of the curated text, the text before the C4 line rules and every signal's exact bits.
 * {@link #main} also prints the record for any JSONL corpus, to compare two builds on a benchmark
 * corpus (BENCHMARKS.md, curate speed).
 */
class CurateOutputsUnchangedTest {
  private static final Path SAMPLE_CORPUS = Path.of("data/sample-corpus/corpus.jsonl.gz");

  /** One document's record: id, language, reasons, and the hash of its texts and signals. */
  static String record(String id, Row curated) {
    StringBuilder hashed = new StringBuilder(curated.getString(0)).append('\0');
    hashed.append(curated.getString(1)).append('\0');
    Row signals = curated.getStruct(3);
    for (int i = 0; i < signals.length(); i++) {
      hashed.append(Double.doubleToRawLongBits(signals.getDouble(i))).append(',');
    }
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest(hashed.toString().getBytes(StandardCharsets.UTF_8));
      return String.join(
          "\t",
          id,
          curated.getString(2),
          String.join(",", (String[]) curated.get(4)),
          HexFormat.of().formatHex(digest, 0, 8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The curator the curate options {@code args} describe. */
  static Curator curator(String... args) {
    List<String> all = new ArrayList<>(List.of("--input", "in", "--output", "out"));
    all.addAll(Arrays.asList(args));
    return CurateJob.curator(
        new DbrxSparkJobs().optionSet(new CurateJob()).parse(all.toArray(String[]::new)));
  }

  /** Every document of the JSONL (or JSONL.gz) files, as {id, text}. */
  static List<String[]> documents(List<Path> corpus) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<String[]> docs = new ArrayList<>();
    for (Path file : corpus) {
      InputStream in = Files.newInputStream(file);
      try (BufferedReader r =
          new BufferedReader(
              new InputStreamReader(
                  file.toString().endsWith(".gz") ? new GZIPInputStream(in) : in,
                  StandardCharsets.UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          JsonNode doc = json.readTree(line);
          docs.add(new String[] {doc.get("id").asText(), doc.get("text").asText()});
        }
      }
    }
    return docs;
  }

  /**
   * The records of {@code docs} curated by {@code curator}; adds the curate calls' CPU time (this
   * thread's, in nanoseconds) to {@code cpu[0]}.
   */
  static List<String> records(Curator curator, List<String[]> docs, long[] cpu) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    List<String> records = new ArrayList<>();
    for (String[] doc : docs) {
      long start = threads.getCurrentThreadCpuTime();
      Row curated = curator.curate(doc[1]);
      cpu[0] += threads.getCurrentThreadCpuTime() - start;
      records.add(record(doc[0], curated));
    }
    return records;
  }

  @Test
  void everyOutputIsAsBefore() throws IOException {
    List<String> before;
    try (InputStream in =
        Objects.requireNonNull(
            getClass().getResourceAsStream("/curate-golden/sample-corpus-outputs-c5271af.tsv"))) {
      before = List.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n"));
    }
    List<String> now =
        records(curator(), documents(List.of(Path.of("..").resolve(SAMPLE_CORPUS))), new long[1]);
    assertEquals(461, before.size());
    for (int i = 0; i < before.size(); i++) {
      assertEquals(before.get(i), now.get(i), "document " + i);
    }
    assertEquals(before.size(), now.size());
  }

  /**
   * Prints the records of the corpus files {@code args[0]} (comma-separated; default the sample
   * corpus) curated with the curate options that follow, one line each, for the classes on the
   * class path: run from the repository root with a baseline's classes first on the class path to
   * record a new baseline, or on a benchmark corpus with each build and compare the two. With
   * {@code -Drounds=N} it curates the corpus N times and prints each round's CPU seconds of the
   * curate calls to stderr (the first rounds warm the JIT up).
   */
  public static void main(String[] args) throws IOException {
    List<Path> corpus =
        args.length == 0
            ? List.of(SAMPLE_CORPUS)
            : Arrays.stream(args[0].split(",")).map(Path::of).toList();
    Curator curator =
        curator(args.length == 0 ? new String[0] : Arrays.copyOfRange(args, 1, args.length));
    List<String[]> docs = documents(corpus);
    List<String> records = List.of();
    for (int round = 0; round < Integer.getInteger("rounds", 1); round++) {
      long[] cpu = {0};
      records = records(curator, docs, cpu);
      System.err.printf(
          Locale.ROOT,
          "round %d: %d documents, curate %.2f CPU s%n",
          round,
          docs.size(),
          cpu[0] / 1e9);
    }
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    records.forEach(out::println);
    out.flush();
  }
}
