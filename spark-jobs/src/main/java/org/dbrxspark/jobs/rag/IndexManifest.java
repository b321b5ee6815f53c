package org.dbrxspark.jobs.rag;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code <index>/manifest.json}: what a RAG index holds and how it was built. It is written last,
 * so it is the commit point: readers open exactly the shard folders it lists, and a run that fails
 * before writing it leaves the previous index in force.
 *
 * @param formatVersion layout version of the index folder
 * @param version index generation: 1 for the first build, +1 for every run that changed it
 * @param createdAt when generation 1 was built (ISO-8601)
 * @param updatedAt when this generation was built
 * @param source the source table and the version of it the index reflects
 * @param chunksTable the Delta table of chunks and embeddings
 * @param model the embedding model
 * @param similarity the vector similarity ({@code dot_product} on L2-normalised embeddings =
 *     cosine)
 * @param analyzer the Lucene analyzer of the BM25 text field
 * @param chunking how texts were cut
 * @param hnsw the HNSW graph parameters
 * @param metadataColumns source columns kept with each chunk, filterable with {@code --filter}
 * @param shardCount shards the source ids are hashed into
 * @param shards the shard folders of this generation, by shard id
 * @param chunks chunks in the index
 */
public record IndexManifest(
    int formatVersion,
    long version,
    String createdAt,
    String updatedAt,
    Source source,
    String chunksTable,
    Model model,
    String similarity,
    String analyzer,
    Chunking chunking,
    Hnsw hnsw,
    List<String> metadataColumns,
    int shardCount,
    List<Shard> shards,
    long chunks)
    implements Serializable {
  static final int FORMAT_VERSION = 1;
  static final String FILE = "manifest.json";

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public IndexManifest {
    metadataColumns = List.copyOf(metadataColumns);
    shards = List.copyOf(shards);
  }

  /**
   * Where the chunks came from.
   *
   * @param input the source table as given to {@code --input}
   * @param format its format
   * @param idCol the id column
   * @param textCol the text column
   * @param sourceName the fixed source name ({@code --source}), or empty
   * @param sourceCol the source column
   * @param version the Delta version indexed; null for inputs that are not Delta tables
   */
  public record Source(
      String input,
      String format,
      String idCol,
      String textCol,
      String sourceName,
      String sourceCol,
      Long version)
      implements Serializable {}

  /**
   * @param location checkpoint folder of the embedding model
   * @param pooling {@code mean} or {@code last}
   * @param dimension embedding size
   */
  public record Model(String location, String pooling, int dimension) implements Serializable {}

  /**
   * @param chunkSize most DBRX tokens per chunk
   * @param overlap most tokens shared by consecutive chunks
   * @param tokenizer the tokenizer that counts them
   */
  public record Chunking(int chunkSize, int overlap, String tokenizer) implements Serializable {}

  /**
   * @param m neighbours per node and layer (Lucene's maxConn)
   * @param beamWidth candidates examined per insertion (efConstruction)
   */
  public record Hnsw(int m, int beamWidth) implements Serializable {}

  /**
   * @param id shard id: source ids hash to it
   * @param path the shard folder, relative to the index folder
   * @param chunks chunks in the shard
   * @param bytes size of the shard folder
   */
  public record Shard(int id, String path, long chunks, long bytes) implements Serializable {}

  /** Shards by id. */
  Map<Integer, Shard> shardsById() {
    Map<Integer, Shard> byId = new TreeMap<>();
    shards.forEach(s -> byId.put(s.id(), s));
    return byId;
  }

  /** Bytes of all shard folders. */
  long bytes() {
    return shards.stream().mapToLong(Shard::bytes).sum();
  }

  void write(OutputStream out) throws IOException {
    JSON.writeValue(out, this);
  }

  static IndexManifest read(InputStream in, String where) throws IOException {
    IndexManifest manifest = JSON.readValue(in, IndexManifest.class);
    if (manifest.formatVersion() != FORMAT_VERSION) {
      throw new IOException(
          where
              + " has index format "
              + manifest.formatVersion()
              + "; this build reads "
              + FORMAT_VERSION);
    }
    return manifest;
  }
}
