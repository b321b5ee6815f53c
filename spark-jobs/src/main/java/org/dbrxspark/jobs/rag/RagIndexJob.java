package org.dbrxspark.jobs.rag;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import io.delta.tables.DeltaTable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.core.Job;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.inference.ModelOptions;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.jobs.io.DocumentReader;
import org.dbrxspark.jobs.io.Documents;
import org.dbrxspark.jobs.io.InputFormat;
import org.dbrxspark.jobs.io.ReaderOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code rag-index}: chunks a document table, embeds the chunks with DBRX, stores chunks and
 * vectors in a Delta table and builds a sharded Lucene index (HNSW vectors and BM25 text). With
 * {@code --incremental} it applies only the source rows inserted, updated or deleted since the
 * index was built, read from the source table's change data feed.
 */
public final class RagIndexJob implements Job {
  private static final Logger LOG = LoggerFactory.getLogger(RagIndexJob.class);

  public static final OptionSpec<String> INDEX =
      OptionSpec.path(
          "index", null, "Index folder (any Hadoop FileSystem): manifest.json and shards/");
  public static final OptionSpec<String> CHUNKS =
      OptionSpec.path(
          "chunks", "", "Delta table of chunks and embeddings; default: <index>/chunks");
  public static final OptionSpec<String> REJECTS =
      OptionSpec.path(
          "rejects",
          "",
          "Delta table of this run's rows that could not be indexed, with the reason; default: <index>/rejects");
  public static final OptionSpec<String> MODEL =
      OptionSpec.path(
          "model",
          "",
          "DBRX checkpoint (folder or GGUF file) for the embeddings (local, Hadoop FS URI or shipped name); required for a "
              + "full build, default with --incremental: the index's model");
  public static final OptionSpec<String> POOLING =
      OptionSpec.choice("pooling", "mean", "How token states become the embedding", "mean", "last");
  public static final OptionSpec<Integer> CHUNK_SIZE =
      OptionSpec.integer("chunk-size", 256, Chunker.MIN_CHUNK_SIZE, "Most DBRX tokens per chunk");
  public static final OptionSpec<Integer> CHUNK_OVERLAP =
      OptionSpec.integer(
          "chunk-overlap",
          32,
          0,
          "Most tokens a chunk repeats from the previous one (cut at a word start)");
  public static final OptionSpec<Integer> SHARDS =
      OptionSpec.integer(
          "shards",
          4,
          1,
          "Index shards; source ids are hashed into them and each is built by one task");
  public static final OptionSpec<List<String>> METADATA_COLS =
      OptionSpec.list(
          "metadata-cols",
          "",
          "Source columns kept with each chunk and filterable; default: every column but id and text");
  public static final OptionSpec<Integer> HNSW_M =
      OptionSpec.integer(
          "hnsw-m", 16, 2, "HNSW neighbours per node (M); more raise recall, size and build time");
  public static final OptionSpec<Integer> HNSW_BEAM_WIDTH =
      OptionSpec.integer(
          "hnsw-beam-width", 100, 2, "HNSW candidates examined per insertion (efConstruction)");
  public static final OptionSpec<Boolean> INCREMENTAL =
      OptionSpec.flag(
          "incremental",
          "Apply only the source rows changed since the index's version (Delta change data feed); builds the "
              + "index if there is none");

  private static final String TOKENIZER = "dbrx (cl100k_base + DBRX special tokens)";

  @Override
  public String name() {
    return "rag-index";
  }

  @Override
  public String description() {
    return "Chunk documents by DBRX tokens, embed the chunks with DBRX and build a sharded Lucene index "
        + "(HNSW vectors + BM25 text) with a Delta table of chunks and vectors; --incremental applies the "
        + "source table's changes.";
  }

  @Override
  public List<OptionSpec<?>> options() {
    List<OptionSpec<?>> all = new ArrayList<>(ReaderOptions.specs());
    all.addAll(
        List.of(
            INDEX,
            CHUNKS,
            REJECTS,
            MODEL,
            POOLING,
            CHUNK_SIZE,
            CHUNK_OVERLAP,
            SHARDS,
            METADATA_COLS,
            HNSW_M,
            HNSW_BEAM_WIDTH,
            ModelOptions.THREADS,
            INCREMENTAL));
    all.addAll(ModelOptions.loadSpecs());
    return all;
  }

  @Override
  public void validate(ParsedOptions o) {
    ModelOptions.validate(o);
    if (o.get(CHUNK_OVERLAP) >= o.get(CHUNK_SIZE)) {
      throw new UsageException(
          "--chunk-overlap "
              + o.get(CHUNK_OVERLAP)
              + " must be below --chunk-size "
              + o.get(CHUNK_SIZE));
    }
    if (o.get(HNSW_M) > 512 || o.get(HNSW_BEAM_WIDTH) > 3200) {
      throw new UsageException(
          "--hnsw-m must be <= 512 and --hnsw-beam-width <= 3200 (Lucene's limits)");
    }
    if (o.get(MODEL).isBlank() && !o.get(INCREMENTAL)) {
      throw new UsageException(
          "missing required option --model (the DBRX checkpoint for the embeddings)");
    }
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions o) {
    long started = System.nanoTime();
    Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    IndexStore store = new IndexStore(o.get(INDEX), hadoop);
    IndexManifest previous = store.readManifest().orElse(null);
    ReaderOptions reader = ReaderOptions.from(o);
    if (o.get(INCREMENTAL) && previous != null) {
      return incremental(spark, o, store, previous, started);
    }
    if (o.get(INCREMENTAL)) {
      if (o.get(MODEL).isBlank()) {
        throw new UsageException(
            "there is no index at " + store.root() + " yet: its first build needs --model");
      }
      LOG.info("rag-index: no index at {} yet: building it from the whole source", store.root());
    }
    InputFormat format =
        reader.format() == InputFormat.AUTO
            ? InputFormat.detect(reader.input(), hadoop)
            : reader.format();
    Long version = null;
    Dataset<Row> docs;
    String duplicateIds = "not checked (a Delta source)";
    if (format == InputFormat.DELTA) {
      if (o.get(INCREMENTAL)) {
        SourceChanges.requireChangeFeed(spark, reader.input());
      }
      version = SourceChanges.currentVersion(spark, reader.input());
      docs =
          DocumentReader.documents(SourceChanges.snapshot(spark, reader.input(), version), reader);
    } else if (o.get(INCREMENTAL)) {
      throw new UsageException(
          "--incremental needs a Delta source table with its change data feed on; "
              + reader.input()
              + " is "
              + format.name().toLowerCase());
    } else {
      // Rows the reader cannot read go to the rejects table with its reason, as in the data-prep
      // jobs.
      Documents read = DocumentReader.readWithErrors(spark, reader);
      docs = read.rows();
      duplicateIds = read.duplicateIdSummary();
    }
    List<String> metadata = metadataColumns(docs, o.get(METADATA_COLS));
    IndexManifest.Hnsw hnsw = new IndexManifest.Hnsw(o.get(HNSW_M), o.get(HNSW_BEAM_WIDTH));
    Settings settings =
        new Settings(
            modelLocation(o.get(MODEL)),
            o.get(POOLING),
            new IndexManifest.Chunking(o.get(CHUNK_SIZE), o.get(CHUNK_OVERLAP), TOKENIZER),
            hnsw,
            o.get(SHARDS),
            metadata,
            chunksPath(o),
            rejectsPath(o));
    long inputDocs = docs.count();

    List<IndexManifest.Shard> shards;
    try (ChunkPipeline.Output out = settings.pipeline(o).run(docs)) {
      DeltaTables.overwrite(out.chunks(), settings.chunks());
      DeltaTables.overwrite(out.rejects(), settings.rejects());
    }
    Dataset<Row> chunks = DeltaTables.read(spark, settings.chunks());
    long newVersion = previous == null ? 1 : previous.version() + 1;
    shards =
        LuceneShardWriter.build(
            store,
            newVersion,
            hnsw,
            settings.shardCount(),
            chunks,
            spark
                .emptyDataFrame()
                .select(lit(0).as(ChunkPipeline.SHARD), lit("").as(ChunkPipeline.SOURCE_ID)),
            Map.of());
    Row table = chunks.agg(count(lit(1)), max(size(col(ChunkPipeline.EMBEDDING)))).head();
    long tableChunks = table.getLong(0);
    // The embedding size; an empty source has no chunks to tell it.
    int dimension =
        table.isNullAt(1) ? previous == null ? 0 : previous.model().dimension() : table.getInt(1);
    String now = Instant.now().toString();
    IndexManifest manifest =
        new IndexManifest(
            IndexManifest.FORMAT_VERSION,
            newVersion,
            previous == null ? now : previous.createdAt(),
            now,
            new IndexManifest.Source(
                reader.input(),
                format.name().toLowerCase(),
                reader.idCol(),
                reader.textCol(),
                reader.source(),
                reader.sourceCol(),
                version),
            settings.chunks(),
            new IndexManifest.Model(settings.model(), settings.pooling(), dimension),
            "dot_product",
            "standard",
            settings.chunking(),
            hnsw,
            metadata,
            settings.shardCount(),
            shards,
            shards.stream().mapToLong(IndexManifest.Shard::chunks).sum());
    commit(store, manifest, previous);

    Dataset<Row> rejects = DeltaTables.read(spark, settings.rejects());
    Map<String, Long> docRejects = new TreeMap<>();
    long chunksRejected = 0;
    for (Row r :
        rejects
            .groupBy(col(ChunkPipeline.CHUNK_ID).isNull(), col(ChunkPipeline.REASON))
            .count()
            .collectAsList()) {
      if (r.getBoolean(0)) {
        docRejects.put(r.getString(1), r.getLong(2));
      } else {
        chunksRejected += r.getLong(2);
      }
    }
    long docsRejected = docRejects.values().stream().mapToLong(Long::longValue).sum();
    // A document is chunked once whatever happened to its chunks: indexed or rejected by the model.
    long chunkedDocs =
        chunks
            .select(ChunkPipeline.SOURCE_ID)
            .union(
                rejects
                    .where(col(ChunkPipeline.CHUNK_ID).isNotNull())
                    .select(ChunkPipeline.SOURCE_ID))
            .distinct()
            .count();
    JobSummary summary = new JobSummary("rag-index " + reader.input() + " -> " + store.root());
    summary
        .put("source", format.name().toLowerCase() + (version == null ? "" : " version " + version))
        .put("documents", inputDocs)
        .put("duplicate ids", duplicateIds)
        .put("documents chunked", chunkedDocs)
        .put("documents rejected", docsRejected + (docRejects.isEmpty() ? "" : " " + docRejects));
    return finish(summary, manifest, tableChunks, chunksRejected, started)
        .reconcile("documents = chunked + rejected", inputDocs, chunkedDocs, docsRejected);
  }

  /** Applies the source table's changes since the manifest's version to the index. */
  private JobSummary incremental(
      SparkSession spark, ParsedOptions o, IndexStore store, IndexManifest previous, long started) {
    IndexManifest.Source source = previous.source();
    ReaderOptions reader = ReaderOptions.from(o);
    checkSameAsIndex(spark, o, previous, reader);
    if (source.version() == null) {
      throw new UsageException(
          "the index at "
              + store.root()
              + " was built from a "
              + source.format()
              + " input, which has no versions to follow; rebuild it from a Delta table without --incremental");
    }
    SourceChanges.requireChangeFeed(spark, reader.input());
    long current = SourceChanges.currentVersion(spark, reader.input());
    JobSummary summary =
        new JobSummary("rag-index --incremental " + reader.input() + " -> " + store.root());
    if (current == source.version()) {
      long tableChunks = DeltaTables.read(spark, previous.chunksTable()).count();
      summary.put("source", "delta version " + current + ": no changes since the index was built");
      return finish(summary, previous, tableChunks, 0, started);
    }
    Settings settings =
        new Settings(
            modelOrIndexModel(o, previous),
            previous.model().pooling(),
            previous.chunking(),
            previous.hnsw(),
            previous.shardCount(),
            previous.metadataColumns(),
            previous.chunksTable(),
            rejectsPath(o));
    Dataset<Row> net =
        DocumentReader.documents(
                SourceChanges.net(spark, reader.input(), reader.idCol(), source.version(), current),
                reader)
            .persist();
    try {
      Dataset<Row> upserted =
          net.where(col(SourceChanges.CHANGE_TYPE).notEqual(SourceChanges.DELETE))
              .drop(SourceChanges.CHANGE_TYPE);
      Dataset<Row> changedIds =
          net.select(
              col(Columns.ID).as(ChunkPipeline.SOURCE_ID),
              ChunkPipeline.shardOf(col(Columns.ID), settings.shardCount())
                  .as(ChunkPipeline.SHARD));
      Row changes =
          net.agg(
                  count(lit(1)),
                  sum(
                      when(col(SourceChanges.CHANGE_TYPE).equalTo(SourceChanges.DELETE), 1)
                          .otherwise(0)))
              .head();
      long deletes = changes.isNullAt(1) ? 0 : changes.getLong(1);
      long upserts = changes.getLong(0) - deletes;
      long version = previous.version() + 1;
      // Chunks before, and those of changed sources, which the run removes.
      Row before =
          DeltaTables.read(spark, settings.chunks())
              .join(
                  changedIds.select(col(ChunkPipeline.SOURCE_ID), lit(true).as("_changed")),
                  ChunkPipeline.SOURCE_ID,
                  "left")
              .agg(count(lit(1)), count(col("_changed")))
              .head();
      long chunksBefore = before.getLong(0);
      long removed = before.getLong(1);
      List<IndexManifest.Shard> rebuilt;
      long added;
      try (ChunkPipeline.Output out = settings.pipeline(o).run(upserted)) {
        Dataset<Row> fresh = out.chunks();
        rebuilt =
            LuceneShardWriter.build(
                store,
                version,
                settings.hnsw(),
                settings.shardCount(),
                fresh,
                changedIds,
                previousPaths(previous));
        added = fresh.count();
        merge(spark, settings.chunks(), fresh, changedIds);
        DeltaTables.overwrite(out.rejects(), settings.rejects());
      }
      Map<Integer, IndexManifest.Shard> shards = previous.shardsById();
      rebuilt.forEach(s -> shards.put(s.id(), s));
      List<IndexManifest.Shard> all = new ArrayList<>(shards.values());
      IndexManifest manifest =
          new IndexManifest(
              IndexManifest.FORMAT_VERSION,
              version,
              previous.createdAt(),
              Instant.now().toString(),
              new IndexManifest.Source(
                  source.input(),
                  source.format(),
                  source.idCol(),
                  source.textCol(),
                  source.sourceName(),
                  source.sourceCol(),
                  current),
              settings.chunks(),
              new IndexManifest.Model(
                  settings.model(), settings.pooling(), previous.model().dimension()),
              previous.similarity(),
              previous.analyzer(),
              settings.chunking(),
              settings.hnsw(),
              settings.metadataColumns(),
              settings.shardCount(),
              all,
              all.stream().mapToLong(IndexManifest.Shard::chunks).sum());
      commit(store, manifest, previous);

      long tableChunks = DeltaTables.read(spark, settings.chunks()).count();
      long chunksRejected =
          DeltaTables.read(spark, settings.rejects())
              .where(col(ChunkPipeline.CHUNK_ID).isNotNull())
              .count();
      summary
          .put("source", "delta versions " + (source.version() + 1) + " to " + current)
          .put(
              "source rows changed",
              (upserts + deletes)
                  + " ("
                  + upserts
                  + " inserted or updated, "
                  + deletes
                  + " deleted)")
          .put("chunks removed", removed)
          .put("chunks added", added)
          .put("shards rebuilt", rebuilt.size() + " of " + settings.shardCount());
      return finish(summary, manifest, tableChunks, chunksRejected, started)
          .reconcile(
              "chunks table = before - removed + added",
              tableChunks,
              chunksBefore - removed,
              added);
    } finally {
      net.unpersist();
    }
  }

  private static Map<Integer, String> previousPaths(IndexManifest manifest) {
    Map<Integer, String> paths = new TreeMap<>();
    manifest.shards().forEach(s -> paths.put(s.id(), s.path()));
    return paths;
  }

  /**
   * Replaces the chunks of every changed source in one Delta commit: the new chunks are upserted by
   * chunk id, and the old chunks that no new chunk replaces are deleted.
   */
  private static void merge(
      SparkSession spark, String chunksTable, Dataset<Row> fresh, Dataset<Row> changedIds) {
    DeltaTable target = DeltaTable.forPath(spark, chunksTable);
    Dataset<Row> table = target.toDF();
    List<Column> nulls = new ArrayList<>();
    for (StructField f : table.schema().fields()) {
      nulls.add(
          f.name().equals(ChunkPipeline.CHUNK_ID)
              ? col(f.name())
              : lit(null).cast(f.dataType()).as(f.name()));
    }
    Dataset<Row> stale =
        table
            .join(changedIds.select(ChunkPipeline.SOURCE_ID), ChunkPipeline.SOURCE_ID)
            .join(fresh.select(ChunkPipeline.CHUNK_ID), ChunkPipeline.CHUNK_ID, "left_anti")
            .select(nulls.toArray(Column[]::new))
            .withColumn("_delete", lit(true));
    Dataset<Row> updates =
        fresh
            .select(Arrays.stream(table.columns()).map(Columns::named).toArray(Column[]::new))
            .withColumn("_delete", lit(false))
            .unionByName(stale);
    Map<String, String> assignments = new LinkedHashMap<>();
    for (String c : table.columns()) {
      assignments.put(Columns.quote(c), "s." + Columns.quote(c));
    }
    target
        .as("t")
        .merge(updates.as("s"), "t.chunk_id = s.chunk_id")
        .whenMatched("s._delete")
        .delete()
        .whenMatched()
        .updateExpr(assignments)
        .whenNotMatched("NOT s._delete")
        .insertExpr(assignments)
        .execute();
  }

  /**
   * Writes the manifest (the commit point), then deletes shard folders neither it nor the previous
   * one uses.
   */
  private static void commit(IndexStore store, IndexManifest manifest, IndexManifest previous) {
    store.writeManifest(manifest);
    Set<String> keep = new HashSet<>();
    manifest.shards().forEach(s -> keep.add(s.path()));
    if (previous != null) {
      previous.shards().forEach(s -> keep.add(s.path()));
    }
    try {
      List<String> deleted = store.deleteUnreferenced(keep);
      if (!deleted.isEmpty()) {
        LOG.info("rag-index: deleted {} unused shard folders", deleted.size());
      }
    } catch (IOException e) {
      LOG.warn(
          "rag-index: cannot delete unused shard folders of {}: {}", store.root(), e.toString());
    }
  }

  private static JobSummary finish(
      JobSummary summary,
      IndexManifest manifest,
      long tableChunks,
      long chunksRejected,
      long started) {
    double seconds = (System.nanoTime() - started) / 1e9;
    summary
        .put("chunks indexed", manifest.chunks())
        .put("chunks rejected", chunksRejected)
        .put("chunks table", manifest.chunksTable() + " (" + tableChunks + " rows)")
        .put(
            "embedding",
            manifest.model().location()
                + " ("
                + manifest.model().pooling()
                + " pooling, "
                + manifest.model().dimension()
                + " dimensions)")
        .put(
            "chunking",
            manifest.chunking().chunkSize() + " tokens, overlap " + manifest.chunking().overlap())
        .put(
            "shards",
            manifest.shardCount()
                + " (HNSW M "
                + manifest.hnsw().m()
                + ", beam width "
                + manifest.hnsw().beamWidth()
                + ")")
        .put(
            "index",
            "version "
                + manifest.version()
                + ", "
                + String.format("%.1f MiB", manifest.bytes() / 1048576.0))
        .put("time", String.format("%.1f s", seconds));
    return summary.reconcile("index chunks = chunks table rows", tableChunks, manifest.chunks());
  }

  private static List<String> metadataColumns(Dataset<Row> docs, List<String> requested) {
    List<String> available = new ArrayList<>();
    for (String c : docs.columns()) {
      if (!c.equals(Columns.ID)
          && !c.equals(Columns.TEXT)
          && !c.equals(DocumentReader.READ_ERROR)) {
        available.add(c);
      }
    }
    for (String c : requested) {
      if (!available.contains(c)) {
        throw new UsageException(
            "--metadata-cols names '"
                + c
                + "', which the input does not have (columns: "
                + available
                + ")");
      }
    }
    return requested.isEmpty() ? available : requested;
  }

  /**
   * Incremental runs keep the index's settings; a different value given on the command line is an
   * error.
   */
  private static void checkSameAsIndex(
      SparkSession spark, ParsedOptions o, IndexManifest previous, ReaderOptions reader) {
    IndexManifest.Source source = previous.source();
    Configuration hadoop = spark.sparkContext().hadoopConfiguration();
    if (!qualified(reader.input(), hadoop).equals(qualified(source.input(), hadoop))) {
      throw new UsageException(
          "--input "
              + reader.input()
              + " is not the table the index was built from ("
              + source.input()
              + ")");
    }
    Map<String, Object[]> fixed = new LinkedHashMap<>();
    fixed.put(
        CHUNK_SIZE.name(), new Object[] {o.get(CHUNK_SIZE), previous.chunking().chunkSize(), 256});
    fixed.put(
        CHUNK_OVERLAP.name(),
        new Object[] {o.get(CHUNK_OVERLAP), previous.chunking().overlap(), 32});
    fixed.put(SHARDS.name(), new Object[] {o.get(SHARDS), previous.shardCount(), 4});
    fixed.put(POOLING.name(), new Object[] {o.get(POOLING), previous.model().pooling(), "mean"});
    fixed.put(HNSW_M.name(), new Object[] {o.get(HNSW_M), previous.hnsw().m(), 16});
    fixed.put(
        HNSW_BEAM_WIDTH.name(),
        new Object[] {o.get(HNSW_BEAM_WIDTH), previous.hnsw().beamWidth(), 100});
    fixed.put(
        ReaderOptions.ID_COL.name(), new Object[] {reader.idCol(), source.idCol(), Columns.ID});
    fixed.put(
        ReaderOptions.TEXT_COL.name(),
        new Object[] {reader.textCol(), source.textCol(), Columns.TEXT});
    fixed.forEach(
        (name, v) -> {
          if (!v[0].equals(v[1]) && !v[0].equals(v[2])) {
            throw new UsageException(
                "--"
                    + name
                    + " "
                    + v[0]
                    + " differs from the index's "
                    + v[1]
                    + "; --incremental keeps the index's settings (rebuild without --incremental to change them)");
          }
        });
    if (!o.get(METADATA_COLS).isEmpty()
        && !o.get(METADATA_COLS).equals(previous.metadataColumns())) {
      throw new UsageException(
          "--metadata-cols "
              + o.get(METADATA_COLS)
              + " differs from the index's "
              + previous.metadataColumns()
              + "; rebuild without --incremental to change them");
    }
  }

  private static String modelOrIndexModel(ParsedOptions o, IndexManifest previous) {
    if (o.get(MODEL).isBlank()) {
      return previous.model().location();
    }
    String model = modelLocation(o.get(MODEL));
    if (!model.equals(previous.model().location())) {
      LOG.warn(
          "rag-index: embedding changes with {} instead of the index's model {}; vectors of the two "
              + "models are not comparable unless the checkpoints are the same",
          model,
          previous.model().location());
    }
    return model;
  }

  private static String qualified(String path, Configuration hadoop) {
    try {
      org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
      return p.getFileSystem(hadoop).makeQualified(p).toString().replaceAll("/+$", "");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve " + path, e);
    }
  }

  /**
   * A local model folder as an absolute path, so queries run from elsewhere find it; URIs as given.
   */
  private static String modelLocation(String model) {
    Path local = Path.of(model);
    return !model.matches("^[A-Za-z][A-Za-z0-9+.-]+:.*") && local.toFile().exists()
        ? local.toAbsolutePath().normalize().toString()
        : model;
  }

  private static String chunksPath(ParsedOptions o) {
    return o.get(CHUNKS).isBlank() ? o.get(INDEX).replaceAll("/+$", "") + "/chunks" : o.get(CHUNKS);
  }

  private static String rejectsPath(ParsedOptions o) {
    return o.get(REJECTS).isBlank()
        ? o.get(INDEX).replaceAll("/+$", "") + "/rejects"
        : o.get(REJECTS);
  }

  /**
   * What one run builds with: from the options for a full build, from the manifest for an
   * incremental one.
   */
  private record Settings(
      String model,
      String pooling,
      IndexManifest.Chunking chunking,
      IndexManifest.Hnsw hnsw,
      int shardCount,
      List<String> metadataColumns,
      String chunks,
      String rejects) {
    ChunkPipeline pipeline(ParsedOptions o) {
      return new ChunkPipeline(
          new Chunker(chunking.chunkSize(), chunking.overlap()),
          model,
          pooling,
          o.get(ModelOptions.THREADS),
          ModelOptions.LoadOptions.from(o),
          shardCount,
          metadataColumns);
    }
  }
}
