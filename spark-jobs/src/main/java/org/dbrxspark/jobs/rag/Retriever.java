package org.dbrxspark.jobs.rag;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * Search of an open index in the chosen mode. Query embeddings come from the caller (the udfs
 * embedder, with the index's model and pooling, the way the chunks were embedded).
 */
final class Retriever {
  /**
   * How to search.
   *
   * @param mode vector, BM25 or both fused
   * @param k hits per query
   * @param candidates neighbours each HNSW search collects, and the depth of each list hybrid fuses
   * @param rrfK reciprocal rank fusion constant
   * @param filter column = value pairs every hit must match
   */
  record Options(RagIndex.Mode mode, int k, int candidates, int rrfK, Map<String, String> filter)
      implements Serializable {
    Options {
      filter = Map.copyOf(filter);
    }

    /** Whether queries must be embedded. */
    boolean needsEmbeddings() {
      return mode != RagIndex.Mode.BM25;
    }
  }

  /** The hits of one query, or why it has none. */
  record Result(List<Hit> hits, String error) {}

  private final RagIndex index;
  private final Options options;

  Retriever(RagIndex index, Options options) {
    this.index = index;
    this.options = options;
  }

  /**
   * Searches one query; a failure is the result's error, never an exception.
   *
   * @param vector the query's embedding; null for BM25, or when embedding it failed
   * @param embeddingError why the query has no embedding, when the mode needs one
   */
  Result search(String query, float[] vector, String embeddingError) {
    if (query == null || query.isBlank()) {
      return new Result(List.of(), "the query is empty");
    }
    if (options.needsEmbeddings() && vector == null) {
      return new Result(List.of(), "cannot embed the query: " + embeddingError);
    }
    try {
      return new Result(
          switch (options.mode()) {
            case VECTOR -> search(vector);
            case BM25 -> index.bm25(query, options.k(), options.filter());
            case HYBRID ->
                index.hybrid(
                    vector,
                    query,
                    options.k(),
                    options.candidates(),
                    options.rrfK(),
                    options.filter());
          },
          null);
    } catch (IllegalArgumentException e) {
      return new Result(List.of(), e.getMessage());
    }
  }

  /** Vector search for a given embedding. */
  List<Hit> search(float[] vector) {
    return index.vector(vector, options.k(), options.candidates(), options.filter());
  }
}
