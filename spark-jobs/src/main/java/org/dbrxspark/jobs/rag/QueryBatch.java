package org.dbrxspark.jobs.rag;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;
import org.apache.spark.util.TaskCompletionListener;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.udfs.device.DeviceSelection;
import org.dbrxspark.udfs.inference.Seeds;
import org.dbrxspark.udfs.registry.LoadedModel;
import org.dbrxspark.udfs.registry.ModelRegistry;
import org.dbrxspark.udfs.registry.ModelSpec;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The batch form of rag-query, run per partition: each task opens the index (shards cached per
 * host), leases the model from the executor's registry, and answers its queries in batches, so
 * embeddings and answers run batched on the model. A query that fails gets its {@code error}; the
 * others are unaffected.
 */
final class QueryBatch implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  static final String HITS = "hits";
  static final String ANSWER = "answer";
  static final String CITED = "cited";
  static final String ERROR = "error";

  /** One hit in the results table. */
  static final StructType HIT =
      new StructType()
          .add("rank", DataTypes.IntegerType)
          .add("score", DataTypes.DoubleType)
          .add(IndexedChunk.CHUNK_ID, DataTypes.StringType)
          .add(IndexedChunk.SOURCE_ID, DataTypes.StringType)
          .add(IndexedChunk.CHUNK_INDEX, DataTypes.IntegerType)
          .add(IndexedChunk.START, DataTypes.IntegerType)
          .add(IndexedChunk.END, DataTypes.IntegerType)
          .add(IndexedChunk.TOKENS, DataTypes.IntegerType)
          .add(IndexedChunk.TEXT, DataTypes.StringType)
          .add("metadata", DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType))
          .add("vector_rank", DataTypes.IntegerType)
          .add("bm25_rank", DataTypes.IntegerType);

  private static final int BATCH = 32;

  private final String index;
  private final SerializableConfiguration hadoop;
  private final String cacheDir;
  private final String model;
  private final Retriever.Options search;
  private final boolean answer;
  private final int maxNewTokens;
  private final double temperature;
  private final long seed;
  private final StructType input;

  QueryBatch(
      String index,
      Configuration hadoop,
      String cacheDir,
      String model,
      Retriever.Options search,
      boolean answer,
      int maxNewTokens,
      double temperature,
      long seed,
      StructType input) {
    this.index = index;
    this.hadoop = new SerializableConfiguration(hadoop);
    this.cacheDir = cacheDir;
    this.model = model;
    this.search = search;
    this.answer = answer;
    this.maxNewTokens = maxNewTokens;
    this.temperature = temperature;
    this.seed = seed;
    this.input = input;
  }

  /** Where shards of non-local file systems are cached on this host by default. */
  static Path defaultCache() {
    return IndexStore.scratch().resolve("dbrx-rag-cache");
  }

  /** The query table's columns plus hits, answer, cited and error. */
  StructType resultSchema() {
    return input
        .add(HITS, DataTypes.createArrayType(HIT))
        .add(ANSWER, DataTypes.StringType)
        .add(CITED, DataTypes.createArrayType(DataTypes.StringType))
        .add(ERROR, DataTypes.StringType);
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    if (!rows.hasNext()) {
      return rows;
    }
    RagIndex opened =
        RagIndex.open(
            index, hadoop.value(), cacheDir.isEmpty() ? defaultCache() : Path.of(cacheDir));
    LoadedModel lease = null;
    try {
      if (answer || search.needsEmbeddings()) {
        String location = model.isEmpty() ? opened.manifest().model().location() : model;
        lease = ModelRegistry.acquire(ModelSpec.of(location), DeviceSelection.forCurrentTask());
      }
    } catch (RuntimeException e) {
      opened.close();
      throw e;
    }
    LoadedModel model = lease;
    Retriever retriever = new Retriever(opened, model == null ? null : model.runtime(), search);
    Runnable close =
        () -> {
          if (model != null) {
            model.close();
          }
          opened.close();
        };
    TaskContext task = TaskContext.get();
    if (task != null) {
      task.addTaskCompletionListener((TaskCompletionListener) context -> close.run());
    }
    return new Iterator<>() {
      private Iterator<Row> batch = List.<Row>of().iterator();

      @Override
      public boolean hasNext() {
        if (!batch.hasNext() && rows.hasNext()) {
          batch = process(retriever, model, rows).iterator();
        }
        return batch.hasNext();
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return batch.next();
      }
    };
  }

  private List<Row> process(Retriever retriever, LoadedModel model, Iterator<Row> rows) {
    List<Row> batch = new ArrayList<>(BATCH);
    while (rows.hasNext() && batch.size() < BATCH) {
      batch.add(rows.next());
    }
    int text = input.fieldIndex(Columns.TEXT);
    int id = input.fieldIndex(Columns.ID);
    List<String> queries = batch.stream().map(r -> r.getString(text)).toList();
    List<Retriever.Result> results = retriever.search(queries);
    RagAnswerer.Answer[] answers = new RagAnswerer.Answer[batch.size()];
    if (answer) {
      List<Integer> found = new ArrayList<>();
      for (int i = 0; i < batch.size(); i++) {
        if (results.get(i).error() == null) {
          found.add(i);
        }
      }
      List<RagAnswerer.Answer> generated =
          RagAnswerer.answer(
              model.runtime(),
              found.stream().map(queries::get).toList(),
              found.stream().map(i -> results.get(i).hits()).toList(),
              SamplingParams.builder().temperature(temperature).maxNewTokens(maxNewTokens).build(),
              found.stream().map(i -> seedOf(batch.get(i), id, text)).toList());
      for (int j = 0; j < found.size(); j++) {
        answers[found.get(j)] = generated.get(j);
      }
    }
    List<Row> out = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      Retriever.Result r = results.get(i);
      RagAnswerer.Answer a = answers[i];
      List<Row> hits = r.hits().stream().map(QueryBatch::hitRow).toList();
      Object[] values = Arrays.copyOf(rowValues(batch.get(i)), input.size() + 4);
      values[input.size()] = CollectionConverters.asScala(hits).toSeq();
      values[input.size() + 1] = a == null ? null : a.text();
      values[input.size() + 2] =
          a == null || a.error() != null ? null : CollectionConverters.asScala(a.cited()).toSeq();
      values[input.size() + 3] = r.error() != null ? r.error() : a == null ? null : a.error();
      out.add(RowFactory.create(values));
    }
    return out;
  }

  /**
   * The query's sampling seed: the global seed hashed with the query id (its text when the id is
   * null).
   */
  private long seedOf(Row row, int id, int text) {
    return Seeds.forRow(row.isNullAt(id) ? row.getString(text) : row.getString(id), seed);
  }

  private static Object[] rowValues(Row row) {
    Object[] values = new Object[row.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = row.get(i);
    }
    return values;
  }

  private static Row hitRow(Hit h) {
    IndexedChunk c = h.chunk();
    return RowFactory.create(
        h.rank(),
        h.score(),
        c.chunkId(),
        c.sourceId(),
        c.chunkIndex(),
        c.start(),
        c.end(),
        c.tokens(),
        c.text(),
        CollectionConverters.asScala(c.metadata()),
        h.vectorRank(),
        h.bm25Rank());
  }
}
