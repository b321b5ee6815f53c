package org.dbrxspark.jobs.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shards written, uploaded and searched with Lucene alone (no Spark, no model). */
class RagIndexTest {
  private static final int DIM = 1536; // above Lucene's default limit of 1024

  @Test
  void fansOutOverShardsAndFusesModes(@TempDir Path dir) throws Exception {
    IndexStore store = new IndexStore(dir.resolve("index").toString(), new Configuration());
    IndexManifest.Hnsw hnsw = new IndexManifest.Hnsw(16, 100);
    Random random = new Random(1);
    List<float[]> vectors = new ArrayList<>();
    List<IndexManifest.Shard> shards = new ArrayList<>();
    for (int shard = 0; shard < 2; shard++) {
      Path local = dir.resolve("build-" + shard);
      int chunks;
      try (ShardWriter writer = ShardWriter.create(local, hnsw)) {
        for (int i = shard; i < 40; i += 2) {
          float[] v = RagIndex.normalised(gaussian(random));
          vectors.add(v);
          String text =
              i == 7 ? "the quokka protocol ends the meeting" : "ordinary words number " + i;
          writer.add(chunk("doc" + i, 0, text, i % 3 == 0 ? "even-ish" : "other"), v);
        }
        chunks = writer.commit();
      }
      String path = IndexStore.shardPath(shard, 1);
      shards.add(new IndexManifest.Shard(shard, path, chunks, store.upload(local, path)));
    }
    store.writeManifest(manifest(shards, hnsw));

    try (RagIndex index = RagIndex.open(store.root(), new Configuration(), dir.resolve("cache"))) {
      assertEquals(40, index.chunkCount());
      float[] doc7 = vectors.get(20 + 3); // shard 1 holds 1, 3, 5, 7, ...
      List<Hit> exact = index.vector(doc7, 5, 20, Map.of());
      assertEquals("doc7#0", exact.get(0).chunk().chunkId());
      assertEquals(1.0, exact.get(0).score(), 1e-5, "(1 + cos) / 2 of a vector with itself");
      assertEquals(5, exact.size());

      List<Hit> text = index.bm25("Quokka protocol?", 3, Map.of());
      assertEquals("doc7#0", text.get(0).chunk().chunkId());
      assertEquals(1, text.size(), "only one chunk has the terms");
      assertEquals("the quokka protocol ends the meeting", text.get(0).chunk().text());
      assertEquals(Map.of("kind", "other"), text.get(0).chunk().metadata());

      List<Hit> filtered = index.vector(doc7, 5, 20, Map.of("kind", "even-ish"));
      assertEquals(5, filtered.size(), "pre-filtered kNN still fills k");
      filtered.forEach(h -> assertEquals("even-ish", h.chunk().metadata().get("kind")));
      assertEquals(List.of(), index.bm25("quokka", 3, Map.of("kind", "even-ish")));

      List<Hit> hybrid = index.hybrid(doc7, "quokka", 3, 10, 60, Map.of());
      assertEquals("doc7#0", hybrid.get(0).chunk().chunkId());
      assertEquals(1, hybrid.get(0).vectorRank());
      assertEquals(1, hybrid.get(0).bm25Rank());
      assertEquals(2.0 / 61, hybrid.get(0).score(), 1e-12);
      assertNull(hybrid.get(1).bm25Rank());

      IllegalArgumentException bad =
          assertThrows(
              IllegalArgumentException.class, () -> index.bm25("x", 3, Map.of("colour", "red")));
      assertTrue(bad.getMessage().contains("[chunk_id, kind, source_id]"), bad.getMessage());
      assertThrows(
          IllegalArgumentException.class, () -> index.vector(new float[3], 3, 3, Map.of()));
    }

    // A new generation of shard 1 from a copy of the old one: doc7 replaced, doc9 deleted.
    Path copy = dir.resolve("copy");
    store.download(IndexStore.shardPath(1, 1), copy);
    int chunks;
    try (ShardWriter writer = ShardWriter.append(copy, hnsw)) {
      writer.deleteSource("doc7");
      writer.deleteSource("doc9");
      writer.add(chunk("doc7", 0, "a brand new wombat passage", "other"), vectors.get(0));
      chunks = writer.commit();
    }
    assertEquals(19, chunks);
    String path = IndexStore.shardPath(1, 2);
    List<IndexManifest.Shard> next =
        List.of(shards.get(0), new IndexManifest.Shard(1, path, chunks, store.upload(copy, path)));
    store.writeManifest(manifest(next, hnsw));
    assertEquals(
        List.of(),
        store.deleteUnreferenced(Set.of(shards.get(0).path(), shards.get(1).path(), path)));
    try (RagIndex index = RagIndex.open(store.root(), new Configuration(), dir.resolve("cache"))) {
      assertEquals(39, index.chunkCount());
      assertEquals(List.of(), index.bm25("quokka", 3, Map.of()));
      assertEquals("doc7#0", index.bm25("wombat", 3, Map.of()).get(0).chunk().chunkId());
      assertEquals(List.of(), index.bm25("ordinary number 9", 40, Map.of("source_id", "doc9")));
    }
    assertEquals(
        List.of(shards.get(1).path()),
        store.deleteUnreferenced(Set.of(shards.get(0).path(), path)));
  }

  private static IndexManifest manifest(List<IndexManifest.Shard> shards, IndexManifest.Hnsw hnsw) {
    return new IndexManifest(
        IndexManifest.FORMAT_VERSION,
        1,
        "t0",
        "t0",
        new IndexManifest.Source("in", "delta", "id", "text", "", "source", 0L),
        "chunks",
        new IndexManifest.Model("model", "mean", DIM),
        "dot_product",
        "standard",
        new IndexManifest.Chunking(64, 8, "dbrx"),
        hnsw,
        List.of("kind"),
        2,
        shards,
        shards.stream().mapToLong(IndexManifest.Shard::chunks).sum());
  }

  private static IndexedChunk chunk(String source, int index, String text, String kind) {
    return new IndexedChunk(
        IndexedChunk.chunkId(source, index),
        source,
        index,
        0,
        text.length(),
        text.split(" ").length,
        text,
        Map.of("kind", kind));
  }

  private static float[] gaussian(Random random) {
    float[] v = new float[DIM];
    for (int i = 0; i < DIM; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }
}
