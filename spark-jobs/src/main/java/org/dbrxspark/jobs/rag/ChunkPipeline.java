package org.dbrxspark.jobs.rag;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.trim;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.dbrxspark.jobs.core.Partitions;
import org.dbrxspark.jobs.inference.ModelOptions;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DocumentReader;
import org.dbrxspark.udfs.ml.DbrxEmbedder;

/**
 * Source documents to chunk rows with embeddings: the rows of the chunks table, plus the rows that
 * could not be indexed with the reason (no text, a duplicate id, a chunk the model rejected).
 */
final class ChunkPipeline {
  static final String CHUNK_ID = IndexedChunk.CHUNK_ID;
  static final String SOURCE_ID = IndexedChunk.SOURCE_ID;
  static final String CHUNK_INDEX = IndexedChunk.CHUNK_INDEX;
  static final String START = IndexedChunk.START;
  static final String END = IndexedChunk.END;
  static final String TOKENS = IndexedChunk.TOKENS;
  static final String TEXT = IndexedChunk.TEXT;
  static final String EMBEDDING = IndexedChunk.VECTOR;
  static final String SHARD = "shard";

  /** The source row's metadata columns, as a struct (absent when there are none). */
  static final String METADATA = "metadata";

  static final String REASON = "reason";

  private static final StructType CHUNK =
      new StructType()
          .add(CHUNK_ID, DataTypes.StringType, false)
          .add(CHUNK_INDEX, DataTypes.IntegerType, false)
          .add(START, DataTypes.IntegerType, false)
          .add(END, DataTypes.IntegerType, false)
          .add(TOKENS, DataTypes.IntegerType, false)
          .add(TEXT, DataTypes.StringType, false);

  /**
   * The rows produced, both computed once (persisted until {@link #close}).
   *
   * @param chunks chunk_id, source_id, chunk_index, start, end, num_tokens, text, shard, embedding
   *     and metadata
   * @param rejects source_id, chunk_id (null for a whole document), reason, text
   */
  record Output(Dataset<Row> chunks, Dataset<Row> rejects, Dataset<Row> persisted)
      implements AutoCloseable {
    @Override
    public void close() {
      persisted.unpersist();
    }
  }

  private final Chunker chunker;
  private final String model;
  private final String pooling;
  private final int threads;
  private final ModelOptions.LoadOptions loadOptions;
  private final int shards;
  private final List<String> metadataColumns;

  ChunkPipeline(
      Chunker chunker,
      String model,
      String pooling,
      int threads,
      ModelOptions.LoadOptions loadOptions,
      int shards,
      List<String> metadataColumns) {
    this.chunker = chunker;
    this.model = model;
    this.pooling = pooling;
    this.threads = threads;
    this.loadOptions = loadOptions;
    this.shards = shards;
    this.metadataColumns = List.copyOf(metadataColumns);
  }

  /** The shard of a source id: a stable hash, so a source's chunks always land in one shard. */
  static Column shardOf(Column sourceId, int shards) {
    return pmod(xxhash64(sourceId), lit(shards)).cast(DataTypes.IntegerType);
  }

  /**
   * Chunks and embeds {@code docs} (the document reader's id, text and metadata columns, and its
   * read error where it has one: such a row is rejected with it).
   */
  Output run(Dataset<Row> docs) {
    Column metadata =
        metadataColumns.isEmpty()
            ? null
            : struct(metadataColumns.stream().map(Columns::named).toArray(Column[]::new));
    // One row per id: duplicates after the first (by text, then metadata) are rejected.
    Column order = metadata == null ? col(Columns.TEXT) : to_json(metadata);
    Dataset<Row> ranked =
        docs.withColumn(
            "_n",
            row_number()
                .over(
                    Window.partitionBy(col(Columns.ID))
                        .orderBy(col(Columns.TEXT).asc_nulls_last(), order)));
    Column readError =
        Arrays.asList(docs.columns()).contains(DocumentReader.READ_ERROR)
            ? col(DocumentReader.READ_ERROR)
            : lit(null).cast(DataTypes.StringType);
    Column reason =
        when(readError.isNotNull(), readError)
            .when(
                col(Columns.TEXT).isNull().or(trim(col(Columns.TEXT)).equalTo("")), lit("no text"))
            .when(col("_n").gt(1), lit("duplicate id"));
    Dataset<Row> judged = ranked.withColumn(REASON, reason);
    Dataset<Row> docRejects =
        judged
            .where(col(REASON).isNotNull())
            .select(
                col(Columns.ID).as(SOURCE_ID),
                lit(null).cast(DataTypes.StringType).as(CHUNK_ID),
                col(REASON),
                col(Columns.TEXT));

    Chunker splitter = chunker;
    UserDefinedFunction split =
        udf(
            (UDF2<String, String, List<Row>>)
                (id, text) -> {
                  List<Row> rows = new ArrayList<>();
                  for (Chunker.Chunk c : splitter.split(text)) {
                    rows.add(
                        RowFactory.create(
                            IndexedChunk.chunkId(id, c.index()),
                            c.index(),
                            c.start(),
                            c.end(),
                            c.tokens(),
                            c.text(text)));
                  }
                  return rows;
                },
            DataTypes.createArrayType(CHUNK, false));
    List<Column> kept =
        new ArrayList<>(
            List.of(
                col(Columns.ID).as(SOURCE_ID),
                explode(split.apply(col(Columns.ID), col(Columns.TEXT))).as("_c")));
    if (metadata != null) {
      kept.add(metadata.as(METADATA));
    }
    Dataset<Row> chunks = judged.where(col(REASON).isNull()).select(kept.toArray(Column[]::new));

    DbrxEmbedder embedder =
        loadOptions
            .applyTo(new DbrxEmbedder())
            .setModelLocation(model)
            .setPooling(pooling)
            .setThreads(threads)
            .setInputCol("_text")
            .setOutputCol("_embedding");
    Dataset<Row> embedded =
        embedder
            .transform(Partitions.spread(chunks.withColumn("_text", col("_c.text"))))
            .persist(StorageLevel.MEMORY_AND_DISK());

    List<Column> columns =
        new ArrayList<>(
            List.of(
                col("_c." + CHUNK_ID).as(CHUNK_ID),
                col(SOURCE_ID),
                col("_c." + CHUNK_INDEX).as(CHUNK_INDEX),
                col("_c." + START).as(START),
                col("_c." + END).as(END),
                col("_c." + TOKENS).as(TOKENS),
                col("_c." + TEXT).as(TEXT),
                shardOf(col(SOURCE_ID), shards).as(SHARD),
                col("_embedding.embedding").as(EMBEDDING)));
    if (metadata != null) {
      columns.add(col(METADATA));
    }
    Dataset<Row> good =
        embedded.where(col("_embedding.error").isNull()).select(columns.toArray(Column[]::new));
    Dataset<Row> chunkRejects =
        embedded
            .where(col("_embedding.error").isNotNull())
            .select(
                col(SOURCE_ID),
                col("_c." + CHUNK_ID).as(CHUNK_ID),
                col("_embedding.error").as(REASON),
                col("_c." + TEXT).as(TEXT));
    return new Output(good, docRejects.unionByName(chunkRejects), embedded);
  }
}
