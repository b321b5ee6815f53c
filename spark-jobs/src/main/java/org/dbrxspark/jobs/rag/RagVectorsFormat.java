package org.dbrxspark.jobs.rag;

import java.io.IOException;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.KnnVectorsWriter;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;

/**
 * Lucene's HNSW vector format (Lucene99) with a higher dimension limit: DBRX's d_model is 6144,
 * Lucene's default limit is 1024. Files are written and read by the stock format; only the name
 * differs, so Lucene finds this class through {@code META-INF/services} when it opens a shard.
 * Public for that lookup only.
 */
public final class RagVectorsFormat extends KnnVectorsFormat {
  /** The name Lucene records per field and looks the format up by. */
  static final String NAME = "DbrxRagHnsw";

  /** Largest vector dimension accepted (DBRX d_model is 6144). */
  static final int MAX_DIMENSIONS = 8192;

  private final Lucene99HnswVectorsFormat hnsw;

  /** For reading: graph parameters only matter when writing. */
  public RagVectorsFormat() {
    this(Lucene99HnswVectorsFormat.DEFAULT_MAX_CONN, Lucene99HnswVectorsFormat.DEFAULT_BEAM_WIDTH);
  }

  /**
   * @param maxConn HNSW M: neighbours kept per node and layer
   * @param beamWidth candidates examined while inserting a node (efConstruction)
   */
  RagVectorsFormat(int maxConn, int beamWidth) {
    super(NAME);
    hnsw = new Lucene99HnswVectorsFormat(maxConn, beamWidth);
  }

  @Override
  public KnnVectorsWriter fieldsWriter(SegmentWriteState state) throws IOException {
    return hnsw.fieldsWriter(state);
  }

  @Override
  public KnnVectorsReader fieldsReader(SegmentReadState state) throws IOException {
    return hnsw.fieldsReader(state);
  }

  @Override
  public int getMaxDimensions(String fieldName) {
    return MAX_DIMENSIONS;
  }

  @Override
  public String toString() {
    return NAME + "(" + hnsw + ")";
  }
}
