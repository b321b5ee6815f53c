package org.dbrxspark.jobs.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.MultiBits;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.Bits;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.BlockedTable;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.runtime.checkpoint.CheckpointWriter;
import org.dbrxspark.runtime.checkpoint.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * rag-index re-run after a failed build. A plain file where the rejects table goes fails a run at
 * its last write before the manifest: a full build after it has written the chunks table, an
 * incremental one after it has rebuilt shards and merged the chunks table. The re-run must leave
 * the chunks table, shards and manifest of a clean run.
 */
class RagResumeTest {
  private final SparkSession spark = SharedSpark.get();

  @Test
  void rerunsAfterFailedBuildsGiveTheCleanIndex(@TempDir Path dir) throws Exception {
    String model = dir.resolve("model").toString();
    CheckpointWriter.writeRandom(Path.of(model), RagJobsTest.SMALLER_THAN_TINY, 7, DType.BF16, 1);
    String source = dir.resolve("docs").toString();
    List<Row> docs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      docs.add(RowFactory.create("d" + i, "weather", RagJobsTest.filler(i)));
    }
    DeltaTables.overwrite(spark.createDataFrame(docs, RagJobsTest.SOURCE), source);
    spark.sql(
        "ALTER TABLE delta.`" + source + "` SET TBLPROPERTIES (delta.enableChangeDataFeed = true)");
    String clean = dir.resolve("clean").toString();
    String resumed = dir.resolve("resumed").toString();
    Path rejects = Path.of(resumed, "rejects");

    index(source, clean, "--model", model);
    BlockedTable.failsAt(rejects, () -> index(source, resumed, "--model", model));
    assertTrue(
        DeltaTables.read(spark, resumed + "/chunks").count() > 0,
        "the failed build wrote its chunks");
    assertFalse(Files.exists(Path.of(resumed, "manifest.json")), "and no manifest");
    index(source, resumed, "--model", model);
    assertSameIndex(clean, resumed, 1);

    spark.sql(
        "UPDATE delta.`"
            + source
            + "` SET text = 'A wombat guards the silver bridge.' WHERE id = 'd1'");
    spark.sql("DELETE FROM delta.`" + source + "` WHERE id = 'd2'");
    spark.sql(
        "INSERT INTO delta.`"
            + source
            + "` VALUES ('d9', 'animals', '"
            + RagJobsTest.filler(9)
            + "')");
    index(source, clean, "--incremental");
    long chunksVersion = DeltaTables.version(spark, resumed + "/chunks");
    // Each run overwrites the rejects table, so the file may take the place of the last one.
    IndexStore.deleteLocal(rejects);
    BlockedTable.failsAt(rejects, () -> index(source, resumed, "--incremental"));
    assertEquals(1, manifest(resumed).version(), "the failed run committed no manifest");
    assertEquals(
        chunksVersion + 1,
        DeltaTables.version(spark, resumed + "/chunks"),
        "but merged the chunks");
    try (Stream<Path> shards = Files.list(Path.of(resumed, "shards"))) {
      assertTrue(shards.anyMatch(s -> Files.isDirectory(s.resolve("v000002"))), "and built shards");
    }
    index(source, resumed, "--incremental");
    assertSameIndex(clean, resumed, 2);
  }

  private void assertSameIndex(String clean, String resumed, long version) throws IOException {
    IndexManifest want = manifest(clean);
    IndexManifest got = manifest(resumed);
    assertEquals(version, got.version());
    assertEquals(want.version(), got.version());
    assertEquals(want.source().version(), got.source().version());
    assertEquals(want.chunks(), got.chunks());
    assertEquals(shardChunks(want, clean), shardChunks(got, resumed));
    Dataset<Row> table = DeltaTables.read(spark, resumed + "/chunks");
    assertEquals(got.chunks(), table.count());
    assertEquals(got.chunks(), table.select("chunk_id").distinct().count(), "no chunk twice");
    assertEquals(rows(clean + "/chunks"), rows(resumed + "/chunks"));
    Map<Integer, List<String>> byShard = new TreeMap<>();
    table
        .orderBy("chunk_id")
        .collectAsList()
        .forEach(
            r ->
                byShard
                    .computeIfAbsent(r.getAs("shard"), s -> new ArrayList<>())
                    .add(r.getAs("chunk_id")));
    assertEquals(byShard, shardChunks(got, resumed), "the shards hold the chunks table's chunks");
  }

  /** Every row of a chunks table, embeddings included, in chunk id order. */
  private String rows(String table) {
    return DeltaTables.read(spark, table).orderBy("chunk_id").collectAsList().toString();
  }

  /** The chunk ids of the live documents of each shard the manifest names, sorted. */
  private static Map<Integer, List<String>> shardChunks(IndexManifest manifest, String index)
      throws IOException {
    Map<Integer, List<String>> out = new TreeMap<>();
    for (IndexManifest.Shard s : manifest.shards()) {
      List<String> ids = new ArrayList<>();
      try (DirectoryReader reader =
          DirectoryReader.open(FSDirectory.open(Path.of(index, s.path())))) {
        Bits live = MultiBits.getLiveDocs(reader);
        for (int d = 0; d < reader.maxDoc(); d++) {
          if (live == null || live.get(d)) {
            ids.add(reader.storedFields().document(d).get(IndexedChunk.CHUNK_ID));
          }
        }
      }
      ids.sort(null);
      assertEquals(s.chunks(), ids.size(), s.path());
      out.put(s.id(), ids);
    }
    return out;
  }

  private static IndexManifest manifest(String index) {
    return new IndexStore(index, new Configuration()).readManifest().orElseThrow();
  }

  private static void index(String source, String index, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "rag-index",
                "--input",
                source,
                "--index",
                index,
                "--chunk-size",
                "48",
                "--chunk-overlap",
                "8",
                "--shards",
                "2"));
    args.addAll(List.of(more));
    JobRunner.Result run = JobRunner.run(args.toArray(String[]::new));
    assertEquals(0, run.code(), run.err() + run.out());
  }
}
