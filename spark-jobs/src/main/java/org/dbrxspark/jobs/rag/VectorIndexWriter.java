package org.dbrxspark.jobs.rag;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * Writes a one-shard, vector-only index from vectors held in memory, with the same shard writer and
 * manifest as {@code rag-index}, so that {@link RagIndex#open} reads it like any other. For vectors
 * that were not embedded by the job (precomputed embeddings, the ANN benchmark's synthetic sets):
 * vector {@code i} becomes the chunk of source {@code "v" + i}, with that id as its text.
 */
public final class VectorIndexWriter {
  private VectorIndexWriter() {}

  /**
   * What was written.
   *
   * @param chunks vectors in the shard
   * @param bytes the shard's size in the index
   * @param buildNanos the time to build the shard's graph (before it is copied into the index)
   */
  public record Written(int chunks, long bytes, long buildNanos) {}

  /**
   * Writes {@code vectors} to a new index at {@code index} (any Hadoop file system path), building
   * the shard's graph with {@code hnsw}. The vectors must be of unit length (see {@link
   * RagIndex#normalised}): the index scores by dot product.
   */
  public static Written write(String index, float[][] vectors, IndexManifest.Hnsw hnsw)
      throws IOException {
    if (vectors.length == 0) {
      throw new IllegalArgumentException("no vectors to index");
    }
    int dim = vectors[0].length;
    Path build = Files.createTempDirectory("vector-index");
    try {
      long started = System.nanoTime();
      int chunks;
      try (ShardWriter writer = ShardWriter.create(build, hnsw)) {
        for (int i = 0; i < vectors.length; i++) {
          if (vectors[i].length != dim) {
            throw new IllegalArgumentException(
                "vector " + i + " has " + vectors[i].length + " dimensions, vector 0 has " + dim);
          }
          double norm = 0;
          for (float v : vectors[i]) {
            norm += (double) v * v;
          }
          if (Math.abs(Math.sqrt(norm) - 1) > 1e-3) {
            throw new IllegalArgumentException(
                "vector " + i + " has length " + Math.sqrt(norm) + ", not 1: normalise it first");
          }
          String id = "v" + i;
          writer.add(
              new IndexedChunk(IndexedChunk.chunkId(id, 0), id, 0, 0, 0, 0, id, Map.of()),
              vectors[i]);
        }
        chunks = writer.commit();
      }
      long buildNanos = System.nanoTime() - started;
      IndexStore store = new IndexStore(index, new Configuration());
      String path = IndexStore.shardPath(0, 1);
      long bytes = store.upload(build, path);
      store.writeManifest(
          new IndexManifest(
              IndexManifest.FORMAT_VERSION,
              1,
              "",
              "",
              new IndexManifest.Source("vectors", "in memory", "id", "text", "", "source", null),
              "",
              new IndexManifest.Model("in memory", "mean", dim),
              "dot_product",
              "standard",
              new IndexManifest.Chunking(0, 0, ""),
              hnsw,
              List.of(),
              1,
              List.of(new IndexManifest.Shard(0, path, chunks, bytes)),
              chunks));
      return new Written(chunks, bytes, buildNanos);
    } finally {
      IndexStore.deleteLocal(build);
    }
  }
}
