package org.dbrxspark.jobs.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Vectors from memory written as an index that RagIndex opens and searches like rag-index's. */
class VectorIndexWriterTest {
  @Test
  void writesAnIndexThatFindsEachVectorFirst(@TempDir Path dir) throws Exception {
    Random random = new Random(3);
    float[][] vectors = new float[60][];
    for (int i = 0; i < vectors.length; i++) {
      float[] v = new float[16];
      for (int d = 0; d < v.length; d++) {
        v[d] = (float) random.nextGaussian();
      }
      vectors[i] = RagIndex.normalised(v);
    }
    String root = dir.resolve("index").toString();
    VectorIndexWriter.Written written =
        VectorIndexWriter.write(root, vectors, new IndexManifest.Hnsw(16, 100));
    assertEquals(60, written.chunks());
    assertTrue(written.bytes() > 0);

    try (RagIndex index = RagIndex.open(root, new Configuration(), dir.resolve("cache"))) {
      assertEquals(60, index.chunkCount());
      assertEquals(16, index.manifest().model().dimension());
      assertEquals(written.bytes(), index.manifest().shards().get(0).bytes());
      for (int i : new int[] {0, 17, 59}) {
        List<Hit> hits = index.vector(vectors[i], 3, 60, Map.of());
        assertEquals("v" + i, hits.get(0).chunk().sourceId());
        assertEquals("v" + i, hits.get(0).chunk().text());
      }
    }
  }

  @Test
  void rejectsAVectorThatIsNotOfUnitLength(@TempDir Path dir) {
    float[][] vectors = {RagIndex.normalised(new float[] {1, 2}), {3, 4}};
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                VectorIndexWriter.write(
                    dir.resolve("index").toString(), vectors, new IndexManifest.Hnsw(16, 100)));
    assertTrue(e.getMessage().startsWith("vector 1 has length 5"), e.getMessage());
  }
}
