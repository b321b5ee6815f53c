package org.dbrxspark.jobs.rag;

import static org.apache.spark.sql.functions.base64;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.map;
import static org.apache.spark.sql.functions.to_json;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Builds shard generations in Spark: chunk rows (and deletions by source id) are routed to the task
 * whose partition id is their shard id, sorted by (source id, chunk index), and written by that
 * task into a local Lucene index, which it uploads as {@code shards/shard-NNNNN/vGGGGGG}. A shard
 * with a previous generation starts from a copy of it; a retried task rebuilds the same folder from
 * the same rows, so retries neither duplicate nor lose chunks.
 */
final class LuceneShardWriter {
  private static final Logger LOG = LoggerFactory.getLogger(LuceneShardWriter.class);

  private LuceneShardWriter() {}

  /**
   * Builds generation {@code version} of every shard that {@code chunks} or {@code deletions}
   * touch; other shards are not rebuilt.
   *
   * @param chunks rows of the chunks table to add
   * @param deletions (shard, source_id) of sources whose existing chunks are deleted first
   * @param previous the current folder of each shard, relative to the index (none for a full build)
   * @return the shards built, by id
   */
  static List<IndexManifest.Shard> build(
      IndexStore store,
      long version,
      IndexManifest.Hnsw hnsw,
      int shards,
      Dataset<Row> chunks,
      Dataset<Row> deletions,
      Map<Integer, String> previous) {
    List<Column> columns = new ArrayList<>();
    for (String c :
        List.of(
            ChunkPipeline.SHARD,
            ChunkPipeline.SOURCE_ID,
            ChunkPipeline.CHUNK_INDEX,
            ChunkPipeline.CHUNK_ID,
            ChunkPipeline.START,
            ChunkPipeline.END,
            ChunkPipeline.TOKENS,
            ChunkPipeline.TEXT,
            ChunkPipeline.EMBEDDING)) {
      columns.add(col(c));
    }
    columns.add(metadataStrings(chunks.schema()).as(ChunkPipeline.METADATA));
    JavaPairRDD<Key, Entry> adds =
        chunks
            .select(columns.toArray(Column[]::new))
            .toJavaRDD()
            .mapToPair(LuceneShardWriter::entry);
    JavaPairRDD<Key, Entry> deletes =
        deletions
            .select(ChunkPipeline.SHARD, ChunkPipeline.SOURCE_ID)
            .toJavaRDD()
            .mapToPair(r -> new Tuple2<>(new Key(r.getInt(0), r.getString(1), -1), Entry.DELETE));
    List<IndexManifest.Shard> built =
        new ArrayList<>(
            adds.union(deletes)
                .repartitionAndSortWithinPartitions(new ById(shards))
                .mapPartitionsWithIndex(
                    new Task(store, version, hnsw, new TreeMap<>(previous)), false)
                .collect());
    built.sort((a, b) -> Integer.compare(a.id(), b.id()));
    return built;
  }

  /** The metadata struct as a map of strings, the form the index stores and filters on. */
  private static Column metadataStrings(StructType schema) {
    if (!List.of(schema.fieldNames()).contains(ChunkPipeline.METADATA)) {
      return lit(null).cast(DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType));
    }
    List<Column> pairs = new ArrayList<>();
    for (StructField f : ((StructType) schema.apply(ChunkPipeline.METADATA).dataType()).fields()) {
      Column value = col(ChunkPipeline.METADATA).getField(f.name());
      pairs.add(lit(f.name()));
      pairs.add(
          f.dataType() instanceof StructType
                  || f.dataType() instanceof ArrayType
                  || f.dataType() instanceof MapType
              ? to_json(value)
              : f.dataType() instanceof BinaryType
                  ? base64(value)
                  : value.cast(DataTypes.StringType));
    }
    return map(pairs.toArray(Column[]::new));
  }

  private static Tuple2<Key, Entry> entry(Row r) {
    List<Float> list = r.getList(8);
    float[] vector = new float[list.size()];
    for (int i = 0; i < vector.length; i++) {
      vector[i] = list.get(i);
    }
    Map<String, String> metadata = new TreeMap<>();
    if (!r.isNullAt(9)) {
      r.<String, String>getJavaMap(9)
          .forEach(
              (k, v) -> {
                if (v != null) {
                  metadata.put(k, v);
                }
              });
    }
    IndexedChunk chunk =
        new IndexedChunk(
            r.getString(3),
            r.getString(1),
            r.getInt(2),
            r.getInt(4),
            r.getInt(5),
            r.getInt(6),
            r.getString(7),
            metadata);
    return new Tuple2<>(
        new Key(r.getInt(0), chunk.sourceId(), chunk.chunkIndex()), new Entry(chunk, vector));
  }

  /** Sort key: deletions (chunk index -1) of a source come before its new chunks. */
  record Key(int shard, String sourceId, int chunkIndex) implements Comparable<Key>, Serializable {
    @Override
    public int compareTo(Key o) {
      int c = Integer.compare(shard, o.shard);
      if (c == 0) {
        c = sourceId.compareTo(o.sourceId);
      }
      return c != 0 ? c : Integer.compare(chunkIndex, o.chunkIndex);
    }
  }

  /** A chunk to add, or (both null) the deletion of the key's source. */
  record Entry(IndexedChunk chunk, float[] vector) implements Serializable {
    static final Entry DELETE = new Entry(null, null);
  }

  /** Partition id = shard id. */
  static final class ById extends Partitioner {
    private final int shards;

    ById(int shards) {
      this.shards = shards;
    }

    @Override
    public int numPartitions() {
      return shards;
    }

    @Override
    public int getPartition(Object key) {
      return ((Key) key).shard();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ById other && other.shards == shards;
    }

    @Override
    public int hashCode() {
      return shards;
    }
  }

  /** One shard's build: runs in the task whose partition id is the shard id. */
  private record Task(
      IndexStore store, long version, IndexManifest.Hnsw hnsw, TreeMap<Integer, String> previous)
      implements Function2<Integer, Iterator<Tuple2<Key, Entry>>, Iterator<IndexManifest.Shard>> {

    @Override
    public Iterator<IndexManifest.Shard> call(Integer shard, Iterator<Tuple2<Key, Entry>> rows) {
      if (!rows.hasNext()) {
        return Collections.emptyIterator();
      }
      long started = System.nanoTime();
      Path work = IndexStore.scratch().resolve("dbrx-rag-build-" + UUID.randomUUID());
      Path folder = work.resolve("shard");
      try {
        Files.createDirectories(work);
        String from = previous.get(shard);
        if (from != null) {
          store.download(from, folder);
        }
        int added = 0;
        int deleted = 0;
        int chunks;
        try (ShardWriter writer =
            from == null ? ShardWriter.create(folder, hnsw) : ShardWriter.append(folder, hnsw)) {
          while (rows.hasNext()) {
            Tuple2<Key, Entry> row = rows.next();
            if (row._2().chunk() == null) {
              writer.deleteSource(row._1().sourceId());
              deleted++;
            } else {
              writer.add(row._2().chunk(), row._2().vector());
              added++;
            }
          }
          chunks = writer.commit();
        }
        String path = IndexStore.shardPath(shard, version);
        long bytes = store.upload(folder, path);
        LOG.info(
            String.format(
                "shard %d: %,d chunks (%,d added, %,d sources replaced or deleted), %,d bytes,"
                    + " %.1f s -> %s",
                shard, chunks, added, deleted, bytes, (System.nanoTime() - started) / 1e9, path));
        return List.of(new IndexManifest.Shard(shard, path, chunks, bytes)).iterator();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot build shard " + shard + " of " + store.root(), e);
      } finally {
        try {
          IndexStore.deleteLocal(work);
        } catch (IOException e) {
          LOG.warn("cannot delete the scratch folder {}: {}", work, e.toString());
        }
      }
    }
  }
}
