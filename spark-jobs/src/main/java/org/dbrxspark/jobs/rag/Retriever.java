package org.dbrxspark.jobs.rag;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.EmbeddingResult;
import org.dbrxspark.runtime.engine.Pooling;

/**
 * Retrieval over an open index: queries are embedded with the index's model and pooling (the way
 * the chunks were) and searched in the chosen mode.
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
  private final DbrxRuntime runtime;
  private final Options options;

  /**
   * @param runtime the embedding model; null when queries are not embedded (BM25, or given vectors)
   */
  Retriever(RagIndex index, DbrxRuntime runtime, Options options) {
    this.index = index;
    this.runtime = runtime;
    this.options = options;
  }

  /**
   * Searches every query; embeddings are computed in one batch. A failed query does not fail the
   * others.
   */
  List<Result> search(List<String> queries) {
    if (options.needsEmbeddings() && runtime == null) {
      throw new IllegalStateException(
          options.mode() + " search of query texts needs the embedding model");
    }
    List<EmbeddingResult> vectors = options.needsEmbeddings() ? embed(queries) : null;
    List<Result> results = new ArrayList<>(queries.size());
    for (int i = 0; i < queries.size(); i++) {
      String query = queries.get(i);
      if (query == null || query.isBlank()) {
        results.add(new Result(List.of(), "the query is empty"));
        continue;
      }
      if (vectors != null && vectors.get(i).error() != null) {
        results.add(new Result(List.of(), "cannot embed the query: " + vectors.get(i).error()));
        continue;
      }
      float[] vector = vectors == null ? null : vectors.get(i).vector();
      try {
        results.add(
            new Result(
                switch (options.mode()) {
                  case VECTOR ->
                      index.vector(vector, options.k(), options.candidates(), options.filter());
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
                null));
      } catch (IllegalArgumentException e) {
        results.add(new Result(List.of(), e.getMessage()));
      }
    }
    return results;
  }

  /** Vector search for a given embedding. */
  List<Hit> search(float[] vector) {
    return index.vector(vector, options.k(), options.candidates(), options.filter());
  }

  private List<EmbeddingResult> embed(List<String> queries) {
    List<int[]> tokens = new ArrayList<>(queries.size());
    for (String q : queries) {
      tokens.add(runtime.tokenizer().encode(q == null ? "" : q));
    }
    Pooling pooling = Pooling.valueOf(index.manifest().model().pooling().toUpperCase(Locale.ROOT));
    return runtime.embedder().embed(tokens, pooling);
  }
}
