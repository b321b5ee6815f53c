package org.dbrxspark.jobs.rag;

import java.io.IOException;
import java.nio.file.Path;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.store.FSDirectory;

/**
 * Writes one index shard in a local folder: a new one, or an existing one (a copy of the previous
 * generation) that changes are applied to. Not thread-safe; one task owns it.
 */
final class ShardWriter implements AutoCloseable {
  private final FSDirectory directory;
  private final IndexWriter writer;
  private final boolean created;

  private ShardWriter(Path folder, IndexManifest.Hnsw hnsw, boolean create) throws IOException {
    directory = FSDirectory.open(folder);
    IndexWriterConfig config =
        new IndexWriterConfig(new StandardAnalyzer())
            .setOpenMode(
                create ? IndexWriterConfig.OpenMode.CREATE : IndexWriterConfig.OpenMode.APPEND)
            .setCodec(codec(hnsw))
            .setRAMBufferSizeMB(128)
            // Fewer, larger segments: each segment is one more HNSW graph to search.
            .setUseCompoundFile(false);
    writer = new IndexWriter(directory, config);
    created = create;
  }

  /** A new, empty shard in {@code folder}. */
  static ShardWriter create(Path folder, IndexManifest.Hnsw hnsw) throws IOException {
    return new ShardWriter(folder, hnsw, true);
  }

  /** Opens the shard in {@code folder} to change it. */
  static ShardWriter append(Path folder, IndexManifest.Hnsw hnsw) throws IOException {
    return new ShardWriter(folder, hnsw, false);
  }

  /** The default codec with our HNSW parameters for the vector field. */
  static Codec codec(IndexManifest.Hnsw hnsw) {
    KnnVectorsFormat vectors = new RagVectorsFormat(hnsw.m(), hnsw.beamWidth());
    return new Lucene912Codec() {
      @Override
      public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
        return vectors;
      }
    };
  }

  /** Deletes every chunk of {@code sourceId} added before this call. */
  void deleteSource(String sourceId) throws IOException {
    writer.deleteDocuments(new Term(IndexedChunk.SOURCE_ID, sourceId));
  }

  void add(IndexedChunk chunk, float[] vector) throws IOException {
    writer.addDocument(chunk.toDocument(vector));
  }

  /**
   * Commits and returns the number of chunks in the shard. A newly built shard is merged to one
   * segment, so a query searches one graph per shard.
   */
  int commit() throws IOException {
    if (created) {
      writer.forceMerge(1);
    }
    writer.commit();
    try (DirectoryReader reader = DirectoryReader.open(directory)) {
      return reader.numDocs();
    }
  }

  @Override
  public void close() throws IOException {
    try {
      writer.close();
    } finally {
      directory.close();
    }
  }
}
