package org.dbrxspark.jobs.rag;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.MultiReader;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.QueryBuilder;

/**
 * A RAG index opened for search: every shard of the manifest's generation under one Lucene {@link
 * MultiReader}, so BM25 statistics are global and a vector query searches every shard's graph and
 * keeps the overall best. Local shards are read in place; shards on other file systems are copied
 * to a host cache first. Thread-safe for searching.
 */
public final class RagIndex implements AutoCloseable {
  /** The retrieval modes. */
  public enum Mode {
    VECTOR,
    BM25,
    HYBRID
  }

  private final IndexManifest manifest;
  private final List<Directory> directories;
  private final IndexReader reader;
  private final IndexSearcher searcher;
  private final Analyzer analyzer = new StandardAnalyzer();

  private RagIndex(IndexManifest manifest, List<Directory> directories, IndexReader reader) {
    this.manifest = manifest;
    this.directories = directories;
    this.reader = reader;
    this.searcher = new IndexSearcher(reader);
  }

  /**
   * Opens the index folder {@code index} (any Hadoop FileSystem URI or local path).
   *
   * @param cacheRoot where shards of non-local file systems are copied
   * @throws IllegalArgumentException when the folder holds no index
   */
  public static RagIndex open(String index, Configuration conf, java.nio.file.Path cacheRoot) {
    IndexStore store = new IndexStore(index, conf);
    IndexManifest manifest =
        store
            .readManifest()
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "no RAG index at "
                            + index
                            + " (no "
                            + IndexManifest.FILE
                            + "; build it with rag-index)"));
    List<Directory> directories = new ArrayList<>();
    List<IndexReader> readers = new ArrayList<>();
    try {
      for (IndexManifest.Shard shard : manifest.shards()) {
        Directory dir = FSDirectory.open(store.local(shard.path(), cacheRoot));
        directories.add(dir);
        readers.add(DirectoryReader.open(dir));
      }
      return new RagIndex(
          manifest, directories, new MultiReader(readers.toArray(IndexReader[]::new), true));
    } catch (IOException e) {
      readers.forEach(r -> closeQuietly(r));
      directories.forEach(d -> closeQuietly(d));
      throw new UncheckedIOException("cannot open the RAG index " + index, e);
    }
  }

  public IndexManifest manifest() {
    return manifest;
  }

  /** Chunks the open index holds. */
  public int chunkCount() {
    return reader.numDocs();
  }

  /**
   * The {@code k} chunks nearest to {@code vector} by approximate (HNSW) search.
   *
   * @param candidates nearest neighbours each graph search collects (at least k; more raise recall)
   * @param filter column = value pairs every hit must match (metadata columns or source_id)
   */
  public List<Hit> vector(float[] vector, int k, int candidates, Map<String, String> filter) {
    if (reader.numDocs() == 0) {
      return List.of(); // an empty source leaves no vectors, and no dimension to check against
    }
    int dimension = manifest.model().dimension();
    if (vector.length != dimension) {
      throw new IllegalArgumentException(
          "the query vector has " + vector.length + " dimensions; the index has " + dimension);
    }
    Query query =
        new KnnFloatVectorQuery(
            IndexedChunk.VECTOR, normalised(vector), Math.max(k, candidates), filterQuery(filter));
    return hits(query, k);
  }

  /** The {@code k} best chunks for {@code text} by BM25 over the chunk text (standard analyzer). */
  public List<Hit> bm25(String text, int k, Map<String, String> filter) {
    Query terms = new QueryBuilder(analyzer).createBooleanQuery(IndexedChunk.TEXT, text);
    if (terms == null) {
      return List.of(); // no searchable terms, e.g. only punctuation
    }
    Query filterQuery = filterQuery(filter);
    Query query =
        filterQuery == null
            ? terms
            : new BooleanQuery.Builder()
                .add(terms, BooleanClause.Occur.MUST)
                .add(filterQuery, BooleanClause.Occur.FILTER)
                .build();
    return hits(query, k);
  }

  /**
   * Vector and BM25 search, each for {@code max(k, candidates)} chunks, fused by reciprocal rank
   * with constant {@code rrfK}.
   */
  public List<Hit> hybrid(
      float[] vector, String text, int k, int candidates, int rrfK, Map<String, String> filter) {
    int depth = Math.max(k, candidates);
    List<Hit> byVector = vector(vector, depth, candidates, filter);
    List<Hit> byText = bm25(text, depth, filter);
    Map<String, IndexedChunk> chunks = new HashMap<>();
    byVector.forEach(h -> chunks.put(h.chunk().chunkId(), h.chunk()));
    byText.forEach(h -> chunks.put(h.chunk().chunkId(), h.chunk()));
    List<ReciprocalRankFusion.Fused> fused =
        ReciprocalRankFusion.fuse(rrfK, List.of(ids(byVector), ids(byText)));
    List<Hit> hits = new ArrayList<>();
    for (ReciprocalRankFusion.Fused f : fused.subList(0, Math.min(k, fused.size()))) {
      hits.add(new Hit(hits.size() + 1, f.score(), chunks.get(f.id()), f.ranks()[0], f.ranks()[1]));
    }
    return hits;
  }

  private static List<String> ids(List<Hit> hits) {
    return hits.stream().map(h -> h.chunk().chunkId()).toList();
  }

  private List<Hit> hits(Query query, int k) {
    try {
      ScoreDoc[] top = searcher.search(query, k).scoreDocs;
      StoredFields stored = searcher.storedFields();
      List<Hit> hits = new ArrayList<>(top.length);
      for (ScoreDoc d : top) {
        hits.add(
            new Hit(hits.size() + 1, d.score, IndexedChunk.of(stored.document(d.doc)), null, null));
      }
      return hits;
    } catch (IOException e) {
      throw new UncheckedIOException("search failed in the RAG index", e);
    }
  }

  /**
   * Every pair must match: the kNN search is pre-filtered, so it still returns k hits when it can.
   */
  private Query filterQuery(Map<String, String> filter) {
    if (filter.isEmpty()) {
      return null;
    }
    BooleanQuery.Builder all = new BooleanQuery.Builder();
    filter.forEach(
        (column, value) -> {
          String field;
          if (column.equals(IndexedChunk.SOURCE_ID) || column.equals(IndexedChunk.CHUNK_ID)) {
            field = column;
          } else if (manifest.metadataColumns().contains(column)) {
            field = IndexedChunk.META + column;
          } else {
            TreeSet<String> known = new TreeSet<>(manifest.metadataColumns());
            known.add(IndexedChunk.SOURCE_ID);
            known.add(IndexedChunk.CHUNK_ID);
            throw new IllegalArgumentException(
                "cannot filter on '" + column + "': the index has the columns " + known);
          }
          all.add(new TermQuery(new Term(field, value)), BooleanClause.Occur.FILTER);
        });
    return all.build();
  }

  /** Scales to unit length; the index holds unit vectors and scores by dot product. */
  public static float[] normalised(float[] vector) {
    double norm = 0;
    for (float v : vector) {
      norm += (double) v * v;
    }
    if (!(norm > 0) || Double.isInfinite(norm)) {
      throw new IllegalArgumentException("the query vector must be finite and non-zero");
    }
    float[] unit = new float[vector.length];
    float inv = (float) (1 / Math.sqrt(norm));
    for (int i = 0; i < vector.length; i++) {
      unit[i] = vector[i] * inv;
    }
    return unit;
  }

  @Override
  public void close() {
    closeQuietly(reader);
    directories.forEach(RagIndex::closeQuietly);
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // closing a read-only reader or directory: nothing to recover
    }
  }
}
