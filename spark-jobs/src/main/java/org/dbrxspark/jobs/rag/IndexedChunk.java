package org.dbrxspark.jobs.rag;

import java.io.Serializable;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.index.VectorSimilarityFunction;

/**
 * One chunk as an index shard holds it: the text for BM25, the embedding for HNSW search (indexed,
 * not stored), and stored fields for what a hit shows. Metadata values are exact-match terms, so
 * {@code --filter col=value} can select on them.
 *
 * @param chunkId {@code <source id>#<chunk index>}, unique in the index
 * @param sourceId the id of the source row
 * @param chunkIndex position among the source row's chunks, from 0
 * @param start offset of the chunk in the source text (UTF-16 units)
 * @param end offset after the chunk
 * @param tokens DBRX tokens in the chunk
 * @param text the chunk text, {@code sourceText.substring(start, end)}
 * @param metadata the source row's metadata columns as strings (nulls left out)
 */
public record IndexedChunk(
    String chunkId,
    String sourceId,
    int chunkIndex,
    int start,
    int end,
    int tokens,
    String text,
    Map<String, String> metadata)
    implements Serializable {
  static final String CHUNK_ID = "chunk_id";
  static final String SOURCE_ID = "source_id";
  static final String CHUNK_INDEX = "chunk_index";
  static final String START = "start";
  static final String END = "end";
  static final String TOKENS = "num_tokens";
  static final String TEXT = "text";
  static final String VECTOR = "embedding";

  /** Metadata column {@code c} is the field {@code meta.c}. */
  static final String META = "meta.";

  /**
   * Embeddings are L2-normalised, so the dot product is the cosine; Lucene scores (1 + dot) / 2.
   */
  static final VectorSimilarityFunction SIMILARITY = VectorSimilarityFunction.DOT_PRODUCT;

  /**
   * Longer metadata values are stored but not filterable (Lucene terms are at most 32766 bytes).
   */
  private static final int MAX_TERM_CHARS = 8000;

  public IndexedChunk {
    metadata = Collections.unmodifiableMap(new TreeMap<>(metadata)); // sorted: stable output
  }

  /** The chunk id of a source row's chunk. */
  public static String chunkId(String sourceId, int chunkIndex) {
    return sourceId + "#" + chunkIndex;
  }

  /** The Lucene document for this chunk with its embedding. */
  Document toDocument(float[] vector) {
    Document doc = new Document();
    doc.add(new StringField(CHUNK_ID, chunkId, Field.Store.YES));
    doc.add(new StringField(SOURCE_ID, sourceId, Field.Store.YES));
    doc.add(new StoredField(CHUNK_INDEX, chunkIndex));
    doc.add(new StoredField(START, start));
    doc.add(new StoredField(END, end));
    doc.add(new StoredField(TOKENS, tokens));
    doc.add(new TextField(TEXT, text, Field.Store.YES));
    doc.add(new KnnFloatVectorField(VECTOR, vector, SIMILARITY));
    metadata.forEach(
        (column, value) ->
            doc.add(
                value.length() <= MAX_TERM_CHARS
                    ? new StringField(META + column, value, Field.Store.YES)
                    : new StoredField(META + column, value)));
    return doc;
  }

  /** The chunk a stored document describes. */
  static IndexedChunk of(Document doc) {
    Map<String, String> metadata = new TreeMap<>();
    for (IndexableField f : doc.getFields()) {
      if (f.name().startsWith(META)) {
        metadata.put(f.name().substring(META.length()), f.stringValue());
      }
    }
    return new IndexedChunk(
        doc.get(CHUNK_ID),
        doc.get(SOURCE_ID),
        number(doc, CHUNK_INDEX),
        number(doc, START),
        number(doc, END),
        number(doc, TOKENS),
        doc.get(TEXT),
        metadata);
  }

  private static int number(Document doc, String field) {
    return doc.getField(field).numericValue().intValue();
  }
}
