package org.dbrxspark.jobs.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.io.DeltaTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** dedup --level sentence and paragraph end to end on real Delta tables. */
class SpanDedupJobTest {
  private static final String BANNER =
      "We use cookies to improve your experience on this site. By continuing to browse you "
          + "accept our cookie policy. Read more about how we use cookies.";
  private static final String FOOTER =
      "Copyright 2024 Example Media Group. All rights reserved worldwide. Contact the newsroom "
          + "for corrections.";

  private final SparkSession spark = SharedSpark.get();

  /** Planted boilerplate, in the input's order: the first document by id comes last. */
  private static Map<String, String> docs() {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("g-plain", body(16));
    d.put("f-partial", body(15) + "\n" + BANNER.substring(0, BANNER.indexOf(" Read more")));
    d.put("e-emptied", BANNER);
    d.put("d-short", "Just a few words here.\n" + BANNER + "\n" + FOOTER);
    d.put("c-both", BANNER.toUpperCase() + "\n" + body(13) + "\n" + FOOTER);
    d.put("b-banner", body(12) + "\n" + BANNER);
    d.put("a-first", body(11) + "\n" + BANNER + "\n" + FOOTER);
    return d;
  }

  /** Five sentences of words no other body has. */
  private static String body(int seed) {
    return DedupDocs.base(60, seed);
  }

  private static List<String> sorted(Dataset<Row> table) {
    return table.collectAsList().stream().map(Row::toString).sorted().toList();
  }

  private JobRunner.Result dedup(String input, String output, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "dedup",
                "--input",
                input,
                "--output",
                output,
                "--level",
                "sentence",
                "--span-min-words",
                "20"));
    args.addAll(List.of(more));
    return JobRunner.run(args.toArray(String[]::new));
  }

  @Test
  void repeatedSentenceSpansAreRemovedFromAllButTheFirstDocument(@TempDir Path dir) {
    Map<String, String> docs = docs();
    String input = dir.resolve("docs").toString();
    DedupDocs.frame(spark, docs).coalesce(1).write().parquet(input);
    String out = dir.resolve("deduped").toString();
    JobRunner.Result run = dedup(input, out);
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(run.out().contains("input = kept + rejected: 7 = 5 + 2  [ok]"), run.out());
    assertTrue(
        run.out()
            .contains(
                "spans removed = from kept documents + from rejected documents: 8 = 3 + 5  [ok]"),
        run.out());
    long inputChars = docs.values().stream().mapToLong(String::length).sum();
    assertTrue(
        run.out()
            .contains(
                "input characters = output + removed from kept documents + rejected "
                    + "documents: "
                    + inputChars
                    + " = "),
        run.out());

    Map<String, Row> kept = DedupDocs.byId(DeltaTables.read(spark, out));
    assertEquals(
        List.of("a-first", "b-banner", "c-both", "f-partial", "g-plain"),
        List.copyOf(kept.keySet()));
    assertEquals(
        docs.get("a-first"), kept.get("a-first").getAs("text"), "the first keeps its spans");
    assertEquals(body(12) + "\n", kept.get("b-banner").getAs("text"));
    assertEquals(body(13) + "\n", kept.get("c-both").getAs("text"), "case does not hide a repeat");
    assertEquals(
        docs.get("f-partial"), kept.get("f-partial").getAs("text"), "two sentences are no span");
    assertEquals(docs.get("g-plain"), kept.get("g-plain").getAs("text"));
    assertEquals("test", kept.get("b-banner").getAs("source"), "input columns are kept");

    Map<String, Row> rejected = DedupDocs.byId(DeltaTables.read(spark, out + "_rejects"));
    assertEquals(List.of("d-short", "e-emptied"), List.copyOf(rejected.keySet()));
    assertEquals(
        List.of(SpanDeduplicator.TOO_SHORT),
        rejected.get("d-short").getList(rejected.get("d-short").fieldIndex("reasons")));
    assertEquals(
        List.of(SpanDeduplicator.EMPTIED),
        rejected.get("e-emptied").getList(rejected.get("e-emptied").fieldIndex("reasons")));
    assertEquals(
        docs.get("d-short"), rejected.get("d-short").getAs("text"), "a reject keeps its text");

    Map<String, Integer> spansPerDocument = new TreeMap<>();
    for (Row r : DeltaTables.read(spark, out + "_duplicates").collectAsList()) {
      assertEquals("a-first", r.getAs(SpanDeduplicator.FIRST_ID));
      spansPerDocument.merge(r.getAs("id"), 1, Integer::sum);
    }
    // d-short also holds the spans that run from the banner into the footer, as a-first does.
    assertEquals(
        Map.of("b-banner", 1, "c-both", 2, "d-short", 4, "e-emptied", 1), spansPerDocument);

    // The same rows, over five input files and one or seven shuffle partitions: the same tables.
    String split = dir.resolve("docs-split").toString();
    DedupDocs.frame(spark, docs).repartition(5).write().parquet(split);
    for (String partitions : List.of("1", "7")) {
      String again = dir.resolve("again-" + partitions).toString();
      spark.conf().set("spark.sql.shuffle.partitions", partitions);
      try {
        assertEquals(0, dedup(split, again).code());
      } finally {
        spark.conf().set("spark.sql.shuffle.partitions", "4");
      }
      for (String table : List.of("", "_duplicates", "_rejects")) {
        assertEquals(
            sorted(DeltaTables.read(spark, out + table)),
            sorted(DeltaTables.read(spark, again + table)),
            table + " with " + partitions + " partitions");
      }
    }
  }

  @Test
  void repeatedParagraphsAreRemovedAndTheIndexIsRefused(@TempDir Path dir) throws Exception {
    String shared = "Subscribe to our newsletter\nfor weekly updates.";
    Map<String, String> docs = new LinkedHashMap<>();
    docs.put("p1", body(21) + "\n\n" + shared + "\n\n" + body(22));
    docs.put("p2", body(23) + "\n\n" + shared.toLowerCase() + "!\n\n" + body(24));
    docs.put("p3", body(25) + "\n" + shared);
    String input = dir.resolve("docs").toString();
    DedupDocs.frame(spark, docs).write().parquet(input);
    String out = dir.resolve("deduped").toString();
    JobRunner.Result run =
        JobRunner.run("dedup", "--input", input, "--output", out, "--level", "paragraph");
    assertEquals(0, run.code(), run.err() + run.out());
    Map<String, Row> kept = DedupDocs.byId(DeltaTables.read(spark, out));
    assertEquals(docs.get("p1"), kept.get("p1").getAs("text"));
    assertEquals(body(23) + "\n\n" + body(24), kept.get("p2").getAs("text"));
    assertEquals(
        docs.get("p3"), kept.get("p3").getAs("text"), "a paragraph is the unit, not a line");

    Path stats = dir.resolve("stats.json");
    JobRunner.Result refused =
        JobRunner.run(
            "dedup",
            "--input",
            input,
            "--output",
            out,
            "--level",
            "paragraph",
            "--index",
            dir.resolve("i").toString(),
            "--stats-output",
            stats.toString());
    assertEquals(2, refused.code());
    assertTrue(refused.err().contains("--level document only"), refused.err());
    assertTrue(!Files.exists(stats), "a refused run writes no stats");
  }
}
