package org.dbrxspark.jobs.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.delta.tables.DeltaTable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.BlockedTable;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.cli.OptionSet;
import org.dbrxspark.jobs.io.BadInput;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.jobs.text.Words;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * dedup end to end on real Delta tables. The runs use a high-recall banding (20 bands x 6 rows) so
 * that no planted pair hinges on LSH luck; Jaccard verification keeps the precision. {@link
 * MinHasherTest} checks the default banding's recall and precision statistically.
 */
class DedupJobTest {
  private static final MinHasher DEFAULT = new MinHasher(5, 128, 42, LshParams.optimal(0.8, 128));
  private final SparkSession spark = SharedSpark.get();

  /** Batch 1 by id. Near variants are built by substituting spread-out words. */
  private static Map<String, String> batch1() {
    Map<String, String> d = new LinkedHashMap<>();
    String a = DedupDocs.base(200, 1);
    d.put("a", a);
    d.put("a-copy", a.toUpperCase());
    d.put("a-near", DedupDocs.substitute(a, 2, 7));
    d.put("a-far", DedupDocs.substitute(a, 13, 3));
    d.put("b", DedupDocs.base(150, 2));
    String c1 = DedupDocs.base(250, 3);
    String c2 = DedupDocs.substitute(c1, 3, 5);
    d.put("c1", c1);
    d.put("c2", c2);
    d.put("c3", DedupDocs.substitute(c2, 3, 40));
    d.put("e", DedupDocs.base(120, 4));
    return d;
  }

  /** Batch 2: duplicates of batch 1's survivors and a new pair. */
  private static Map<String, String> batch2() {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("a-near-2", DedupDocs.substitute(batch1().get("a"), 2, 60));
    d.put("b-copy", batch1().get("b"));
    d.put("f", DedupDocs.base(180, 5));
    d.put("f-copy", DedupDocs.base(180, 5));
    return d;
  }

  @Test
  void defaultBandingDependsOnVerification() {
    DbrxSparkJobs entry = new DbrxSparkJobs();
    OptionSet options = entry.optionSet(entry.jobs().get("dedup"));
    LshParams verified =
        DedupJob.deduplicator(options.parse(new String[] {"--input", "in", "--output", "out"}))
            .hasher()
            .lsh();
    assertEquals(LshParams.forRecall(0.8, 128, LshParams.RECALL_AT_THRESHOLD), verified);
    assertEquals(new LshParams(13, 7), verified, "the banding the README quotes");
    LshParams unverified =
        DedupJob.deduplicator(
                options.parse(
                    new String[] {"--input", "in", "--output", "out", "--verify", "false"}))
            .hasher()
            .lsh();
    assertEquals(LshParams.optimal(0.8, 128), unverified);
    assertEquals(new LshParams(9, 13), unverified, "the banding the README quotes");
  }

  @Test
  void plantedSimilaritiesAreAsDesigned() {
    Map<String, String> d = batch1();
    assertEquals(0.9, DedupDocs.jaccard(DEFAULT, d.get("a"), d.get("a-near")), 0.02);
    assertEquals(0.5, DedupDocs.jaccard(DEFAULT, d.get("a"), d.get("a-far")), 0.06);
    assertTrue(DedupDocs.jaccard(DEFAULT, d.get("c1"), d.get("c2")) > 0.85);
    assertTrue(DedupDocs.jaccard(DEFAULT, d.get("c2"), d.get("c3")) > 0.85);
    assertTrue(
        DedupDocs.jaccard(DEFAULT, d.get("c1"), d.get("c3")) < 0.8,
        "c1 and c3 meet only through c2");
  }

  @Test
  void exactNearTransitiveAndIncremental(@TempDir Path dir) {
    String input1 = dir.resolve("batch1").toString();
    DedupDocs.frame(spark, batch1()).coalesce(1).write().parquet(input1);
    String index = dir.resolve("index").toString();
    String out = dir.resolve("deduped").toString();
    JobRunner.Result run =
        JobRunner.run(
            "dedup",
            "--input",
            input1,
            "--output",
            out,
            "--index",
            index,
            "--bands",
            "20",
            "--rows",
            "6");
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(
        run.out().contains("input = kept + duplicates + rejected: 9 = 5 + 4 + 0  [ok]"), run.out());

    Map<String, Row> kept = DedupDocs.byId(DeltaTables.read(spark, out));
    Map<String, Row> dups = DedupDocs.byId(DeltaTables.read(spark, out + "_duplicates"));
    assertEquals(List.of("a", "a-far", "b", "c1", "e"), new ArrayList<>(kept.keySet()));
    assertEquals(List.of("a-copy", "a-near", "c2", "c3"), new ArrayList<>(dups.keySet()));
    // a and a-copy tie on length (the smaller id wins); substitutions make a-near shorter.
    assertEquals("a", dups.get("a-copy").getAs("duplicate_of"));
    assertEquals(1.0, (double) dups.get("a-copy").getAs("similarity"));
    assertEquals("a", dups.get("a-near").getAs("duplicate_of"));
    assertEquals(0.9, (double) dups.get("a-near").getAs("similarity"), 0.02);
    assertEquals("a", dups.get("a-near").getAs("cluster_id"));
    for (String c : List.of("c2", "c3")) {
      assertEquals("c1", dups.get(c).getAs("cluster_id"), "c1, c2, c3 form one cluster");
      assertEquals("c1", dups.get(c).getAs("duplicate_of"), "the longest text survives");
    }
    assertTrue((double) dups.get("c3").getAs("similarity") < 0.8, "c3 joined through c2 only");
    assertEquals("test", dups.get("c3").getAs("source"), "input columns are kept");

    // Same batch again, split into more files and shuffled over more partitions, against
    // the index that now holds it: the same tables come out.
    String input1b = dir.resolve("batch1-split").toString();
    DedupDocs.frame(spark, batch1()).repartition(5).write().parquet(input1b);
    String out2 = dir.resolve("deduped-again").toString();
    spark.conf().set("spark.sql.shuffle.partitions", "9");
    try {
      JobRunner.Result again =
          JobRunner.run(
              "dedup",
              "--input",
              input1b,
              "--output",
              out2,
              "--index",
              index,
              "--bands",
              "20",
              "--rows",
              "6");
      assertEquals(0, again.code(), again.err());
    } finally {
      spark.conf().set("spark.sql.shuffle.partitions", "4");
    }
    assertEquals(kept.toString(), DedupDocs.byId(DeltaTables.read(spark, out2)).toString());
    assertEquals(
        dups.toString(), DedupDocs.byId(DeltaTables.read(spark, out2 + "_duplicates")).toString());
    assertEquals(5, DeltaTables.read(spark, index).count(), "re-running does not grow the index");

    // Batch 2 against the index, without reading batch 1.
    String input2 = dir.resolve("batch2").toString();
    DedupDocs.frame(spark, batch2()).write().parquet(input2);
    String out3 = dir.resolve("deduped-2").toString();
    JobRunner.Result incremental =
        JobRunner.run(
            "dedup",
            "--input",
            input2,
            "--output",
            out3,
            "--index",
            index,
            "--bands",
            "20",
            "--rows",
            "6");
    assertEquals(0, incremental.code(), incremental.err());
    assertTrue(
        incremental.out().contains("input = kept + duplicates + rejected: 4 = 1 + 3 + 0  [ok]"),
        incremental.out());
    assertEquals(
        List.of("f"), new ArrayList<>(DedupDocs.byId(DeltaTables.read(spark, out3)).keySet()));
    Map<String, Row> dups2 = DedupDocs.byId(DeltaTables.read(spark, out3 + "_duplicates"));
    assertEquals("a", dups2.get("a-near-2").getAs("duplicate_of"));
    assertEquals("b", dups2.get("b-copy").getAs("duplicate_of"));
    assertEquals("f", dups2.get("f-copy").getAs("duplicate_of"));
    assertEquals(
        List.of("a", "a-far", "b", "c1", "e", "f"),
        new ArrayList<>(DedupDocs.byId(DeltaTables.read(spark, index).select("id")).keySet()));
  }

  /**
   * Runs that fail part-way, each with a file where one of its tables goes: batch 1 at the new
   * index, after its output, duplicates and rejects are written; batch 2 at its rejects, after its
   * output and duplicates and before the index merge. A failed run puts back what it wrote. Re-run,
   * they leave the index that clean runs leave, and batch 2 against the resumed index comes out as
   * against the clean one.
   */
  @Test
  void rerunsAfterFailedRunsGiveTheCleanIndex(@TempDir Path dir) throws Exception {
    String input1 = parquet(dir.resolve("batch1"), batch1());
    String input2 = parquet(dir.resolve("batch2"), batch2());
    String clean = dir.resolve("clean-index").toString();
    String clean2 = dir.resolve("clean-2").toString();
    dedup(input1, dir.resolve("clean-1").toString(), clean);
    dedup(input2, clean2, clean);

    String index = dir.resolve("index").toString();
    String out1 = dir.resolve("resumed-1").toString();
    BlockedTable.failsAt(Path.of(index), () -> dedup(input1, out1, index));
    for (String table : List.of(out1, out1 + "_duplicates", out1 + "_rejects")) {
      assertFalse(
          DeltaTables.exists(spark, table), "the failed run's " + table + " is rolled back");
    }
    dedup(input1, out1, index);

    String out2 = dir.resolve("resumed-2").toString();
    long indexVersion = DeltaTables.version(spark, index);
    BlockedTable.failsAt(Path.of(out2 + "_rejects"), () -> dedup(input2, out2, index));
    assertFalse(
        DeltaTables.exists(spark, out2), "the output written before the failure is rolled back");
    assertFalse(DeltaTables.exists(spark, out2 + "_duplicates"));
    assertEquals(
        indexVersion, DeltaTables.version(spark, index), "the failed run did not merge the index");
    dedup(input2, out2, index);

    Dataset<Row> resumed = DeltaTables.read(spark, index);
    assertEquals(6, resumed.select("id").distinct().count());
    assertEquals(6, resumed.count(), "each document is indexed once");
    assertEquals(
        DedupDocs.byId(DeltaTables.read(spark, clean)).toString(),
        DedupDocs.byId(resumed).toString());
    for (String table : List.of("", "_duplicates", "_rejects")) {
      assertEquals(
          DedupDocs.byId(DeltaTables.read(spark, clean2 + table)).toString(),
          DedupDocs.byId(DeltaTables.read(spark, out2 + table)).toString(),
          out2 + table);
    }
  }

  private String parquet(Path path, Map<String, String> docs) {
    DedupDocs.frame(spark, docs).write().parquet(path.toString());
    return path.toString();
  }

  private static void dedup(String input, String output, String index) {
    JobRunner.Result run =
        JobRunner.run(
            "dedup",
            "--input",
            input,
            "--output",
            output,
            "--index",
            index,
            "--bands",
            "20",
            "--rows",
            "6");
    assertEquals(0, run.code(), run.err() + run.out());
  }

  @Test
  void hostileDocumentsAreKeptAsDocuments(@TempDir Path dir) throws Exception {
    String out = dir.resolve("deduped").toString();
    JobRunner.Result run =
        JobRunner.run("dedup", "--input", BadInput.writeHostile(dir), "--output", out);
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(
        run.out().contains("input = kept + duplicates + rejected: 5 = 5 + 0 + 0  [ok]"), run.out());
    assertEquals(BadInput.HOSTILE.keySet(), DedupDocs.byId(DeltaTables.read(spark, out)).keySet());
  }

  @Test
  void linesThatAreNotDocumentsAreRejectedWithTheirReasons(@TempDir Path dir) throws Exception {
    String out = dir.resolve("deduped").toString();
    JobRunner.Result run = JobRunner.run("dedup", "--input", BadInput.write(dir), "--output", out);
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(
        run.out().contains("input = kept + duplicates + rejected: 10 = 3 + 0 + 7  [ok]"),
        run.out());
    assertEquals(
        List.of("good-1", "good-2", "good-3"),
        new ArrayList<>(DedupDocs.byId(DeltaTables.read(spark, out)).keySet()));
    Map<String, String> reasons = BadInput.reasonsById(DeltaTables.read(spark, out + "_rejects"));
    assertEquals("null-text", reasons.get("text-null"));
    assertEquals("null-text", reasons.get("text-missing"));
    assertEquals("text-not-a-string: a number" + BadInput.at(dir, 7), reasons.get("text-number"));
    assertEquals("text-not-a-string: an array" + BadInput.at(dir, 10), reasons.get("text-array"));
    assertEquals(
        List.of("malformed-json", "not-an-object", "not-an-object"),
        reasons.values().stream()
            .filter(r -> r.startsWith("malformed") || r.startsWith("not-an"))
            .map(r -> r.substring(0, r.indexOf(':')))
            .sorted()
            .toList());
  }

  @Test
  void anIndexOfAnotherWordSplitIsRefusedByName(@TempDir Path dir) {
    String input = dir.resolve("batch2").toString();
    DedupDocs.frame(spark, batch2()).coalesce(1).write().parquet(input);
    String index = dir.resolve("index").toString();
    String[] args = {
      "dedup", "--input", input, "--output", dir.resolve("out").toString(), "--index", index
    };
    JobRunner.Result first = JobRunner.run(args);
    assertEquals(0, first.code(), first.err() + first.out());
    String stored = DeltaTables.read(spark, index).select(Deduplicator.PARAMS).first().getString(0);
    assertTrue(stored.endsWith(",words=" + Words.SPLIT_VERSION), stored);
    // What an index written before combining marks stayed inside words holds.
    String old = stored.substring(0, stored.lastIndexOf(",words="));
    DeltaTable.forPath(spark, index).updateExpr(Map.of(Deduplicator.PARAMS, "'" + old + "'"));

    JobRunner.Result again = JobRunner.run(args);
    assertEquals(2, again.code(), again.out());
    assertTrue(again.err().contains("--index " + index + " was built with " + old), again.err());
    assertTrue(again.err().contains("this run uses " + stored), again.err());
  }
}
