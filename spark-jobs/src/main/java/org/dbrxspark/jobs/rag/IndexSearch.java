package org.dbrxspark.jobs.rag;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
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
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.dbrxspark.udfs.device.DeviceSelection;
import org.dbrxspark.udfs.inference.Embedding;
import org.dbrxspark.udfs.registry.LoadedModel;
import org.dbrxspark.udfs.registry.ModelRegistry;
import org.dbrxspark.udfs.registry.ModelSpec;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The search step of rag-query, per partition: each task opens the index (shards cached per host)
 * and searches each query row, by the embedding the udfs embedder put in {@link
 * RagQueries#QUERY_VECTOR} where the mode needs one. When answering, it also builds each query's
 * prompt with as many hits as fit the answer model's context. Loads no model of its own; a query
 * that fails gets its error and the others are unaffected.
 */
final class IndexSearch implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

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

  private static final StructType MESSAGE =
      new StructType().add("role", DataTypes.StringType).add("content", DataTypes.StringType);

  private final String index;
  private final SerializableConfiguration hadoop;
  private final String cacheDir;
  private final Retriever.Options search;
  private final ModelSpec answerModel;
  private final int maxNewTokens;
  private final StructType input;

  /**
   * @param answerModel the model that answers, whose context length bounds the prompts; null when
   *     not answering
   */
  IndexSearch(
      String index,
      Configuration hadoop,
      String cacheDir,
      Retriever.Options search,
      ModelSpec answerModel,
      int maxNewTokens,
      StructType input) {
    this.index = index;
    this.hadoop = new SerializableConfiguration(hadoop);
    this.cacheDir = cacheDir;
    this.search = search;
    this.answerModel = answerModel;
    this.maxNewTokens = maxNewTokens;
    this.input = input;
  }

  /** Where shards of non-local file systems are cached on this host by default. */
  static Path defaultCache() {
    return IndexStore.scratch().resolve("dbrx-rag-cache");
  }

  /**
   * The input columns plus {@link RagQueries#HITS}, the prompt's {@link RagQueries#MESSAGES},
   * {@link RagQueries#PROMPT} and {@link RagQueries#CONTEXT} (chunk ids), and {@link
   * RagQueries#SEARCH_ERROR}.
   */
  StructType resultSchema() {
    return input
        .add(RagQueries.HITS, DataTypes.createArrayType(HIT))
        .add(RagQueries.MESSAGES, DataTypes.createArrayType(MESSAGE))
        .add(RagQueries.PROMPT, DataTypes.StringType)
        .add(RagQueries.CONTEXT, DataTypes.createArrayType(DataTypes.StringType))
        .add(RagQueries.SEARCH_ERROR, DataTypes.StringType);
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    if (!rows.hasNext()) {
      return rows;
    }
    int maxPromptTokens = answerModel == null ? 0 : maxPromptTokens();
    RagIndex opened =
        RagIndex.open(
            index, hadoop.value(), cacheDir.isEmpty() ? defaultCache() : Path.of(cacheDir));
    TaskContext.get().addTaskCompletionListener((TaskCompletionListener) context -> opened.close());
    Retriever retriever = new Retriever(opened, search);
    int text = input.fieldIndex(Columns.TEXT);
    int vector = search.needsEmbeddings() ? input.fieldIndex(RagQueries.QUERY_VECTOR) : -1;
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return rows.hasNext();
      }

      @Override
      public Row next() {
        Row row = rows.next();
        Row embedded = vector < 0 ? null : row.getStruct(vector);
        Retriever.Result result =
            retriever.search(
                row.getString(text),
                embedding(embedded),
                embedded == null ? null : error(embedded));
        return output(row, result, maxPromptTokens);
      }
    };
  }

  /** The answer model's context less the answer: leased, not loaded twice, from the registry. */
  private int maxPromptTokens() {
    try (LoadedModel model = ModelRegistry.acquire(answerModel, DeviceSelection.forCurrentTask())) {
      return answerModel.engineOptions().maxSeqLen(model.runtime().config()) - maxNewTokens;
    }
  }

  private Row output(Row row, Retriever.Result result, int maxPromptTokens) {
    Object[] values = Arrays.copyOf(rowValues(row), input.size() + 5);
    values[input.size()] =
        CollectionConverters.asScala(result.hits().stream().map(IndexSearch::hitRow).toList())
            .toSeq();
    String error = result.error();
    if (error == null && answerModel != null) {
      try {
        RagAnswerer.Prompt prompt =
            RagAnswerer.prompt(
                DbrxTokenizer.shared(),
                row.getString(input.fieldIndex(Columns.TEXT)),
                result.hits(),
                maxPromptTokens);
        List<Row> messages =
            prompt.messages().stream().map(m -> RowFactory.create(m.role(), m.content())).toList();
        values[input.size() + 1] = CollectionConverters.asScala(messages).toSeq();
        values[input.size() + 2] = prompt.text();
        values[input.size() + 3] =
            CollectionConverters.asScala(
                    prompt.context().stream().map(IndexedChunk::chunkId).toList())
                .toSeq();
      } catch (IllegalArgumentException e) {
        error = e.getMessage();
      }
    }
    values[input.size() + 4] = error;
    return RowFactory.create(values);
  }

  private static final int EMBEDDING = Embedding.RESULT.fieldIndex("embedding");
  private static final int EMBEDDING_ERROR = Embedding.RESULT.fieldIndex("error");

  /**
   * The embedding of the embedder's result struct, read by position (nested rows carry no schema
   * inside a task). Spark hands over the embedder's own row object when it elides the conversion
   * between the two steps, whose array is a {@code float[]}; otherwise a Scala sequence.
   */
  private static float[] embedding(Row embedded) {
    if (embedded == null || embedded.isNullAt(EMBEDDING)) {
      return null;
    }
    if (embedded.get(EMBEDDING) instanceof float[] vector) {
      return vector;
    }
    List<Float> list = embedded.getList(EMBEDDING);
    float[] v = new float[list.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = list.get(i);
    }
    return v;
  }

  private static String error(Row embedded) {
    return embedded.getString(EMBEDDING_ERROR);
  }

  private static Object[] rowValues(Row row) {
    Object[] values = new Object[row.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = row.get(i);
    }
    return values;
  }

  /** One hit as a row of {@link #HIT}. */
  static Row hitRow(Hit h) {
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
