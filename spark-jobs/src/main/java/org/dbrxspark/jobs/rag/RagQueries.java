package org.dbrxspark.jobs.rag;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.udf;

import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.dbrxspark.jobs.inference.ModelOptions;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.udfs.ml.DbrxEmbedder;
import org.dbrxspark.udfs.ml.DbrxGenerator;
import scala.collection.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * rag-query over a table of queries, as three steps on the DataFrame: the udfs {@link DbrxEmbedder}
 * embeds the query texts (with the index's model and pooling, as the chunks were), {@link
 * IndexSearch} searches the index and builds each prompt, and the udfs {@link DbrxGenerator}
 * answers. The model calls thus share the executor's model registry, batching, metrics and seeds
 * with every other use of the model.
 */
final class RagQueries {
  /** The hits of each query, best first. */
  static final String HITS = "hits";

  /** The generated answer. */
  static final String ANSWER = "answer";

  /** The ids of the prompt's chunks that the answer cites. */
  static final String CITED = "cited";

  /** Why a query has no hits or no answer. */
  static final String ERROR = "error";

  static final String QUERY_VECTOR = "_query_vector";
  static final String MESSAGES = "_messages";
  static final String PROMPT = "_prompt";
  static final String CONTEXT = "_context";
  static final String SEARCH_ERROR = "_search_error";
  static final String GENERATED = "_generated";

  /**
   * What to run.
   *
   * @param index the index folder
   * @param cacheDir where remote shards are cached; empty for the default
   * @param model the checkpoint for embeddings and answers
   * @param pooling the index's pooling
   * @param search how to search
   * @param answer whether to generate answers
   * @param maxNewTokens most tokens of an answer
   * @param temperature sampling temperature of the answers
   * @param seed the global seed, hashed with each query's id
   */
  record Settings(
      String index,
      String cacheDir,
      String model,
      String pooling,
      ModelOptions.LoadOptions loadOptions,
      Retriever.Options search,
      boolean answer,
      int maxNewTokens,
      double temperature,
      long seed) {}

  private RagQueries() {}

  /**
   * Searches (and answers) every row of {@code queries}, which has the columns {@link Columns#ID}
   * and {@link Columns#TEXT} (the query). The result has the input columns, {@link #HITS}, the
   * working columns {@link #PROMPT}, {@link #CONTEXT} and {@link #GENERATED} (the generator's
   * struct, when answering), and {@link #ERROR}; {@link #finish} turns it into the results table.
   *
   * @param seedCol a column overriding each query's seed, or null
   */
  static Dataset<Row> run(Dataset<Row> queries, Settings s, Configuration hadoop, String seedCol) {
    Dataset<Row> in = queries;
    if (s.search().needsEmbeddings()) {
      in =
          s.loadOptions()
              .applyTo(new DbrxEmbedder())
              .setModelLocation(s.model())
              .setPooling(s.pooling().toLowerCase(Locale.ROOT))
              .setInputCol(Columns.TEXT)
              .setOutputCol(QUERY_VECTOR)
              .transform(in);
    }
    DbrxGenerator generator = null;
    if (s.answer()) {
      generator =
          s.loadOptions()
              .applyTo(new DbrxGenerator())
              .setModelLocation(s.model())
              .setMessagesCol(MESSAGES)
              .setIdCol(Columns.ID)
              .setSeed(s.seed())
              .setTemperature(s.temperature())
              .setMaxNewTokens(s.maxNewTokens())
              .setOutputCol(GENERATED);
      if (seedCol != null) {
        generator.setSeedCol(seedCol);
      }
    }
    IndexSearch search =
        new IndexSearch(
            s.index(),
            hadoop,
            s.cacheDir(),
            s.search(),
            generator == null ? null : generator.modelSpec(),
            s.maxNewTokens(),
            in.schema());
    Dataset<Row> searched = in.mapPartitions(search, Encoders.row(search.resultSchema()));
    if (generator == null) {
      return searched.withColumn(ERROR, col(SEARCH_ERROR));
    }
    return generator
        .transform(searched)
        .withColumn(ERROR, coalesce(col(SEARCH_ERROR), col(GENERATED + ".error")));
  }

  /** The results table: the query columns plus hits, answer, cited and error. */
  static Dataset<Row> finish(Dataset<Row> searched, List<String> queryColumns, boolean answer) {
    Column[] columns = new Column[queryColumns.size() + 4];
    for (int i = 0; i < queryColumns.size(); i++) {
      columns[i] = col(Columns.quote(queryColumns.get(i)));
    }
    Column text = answer ? col(GENERATED + ".text") : null;
    int n = queryColumns.size();
    columns[n] = col(HITS);
    columns[n + 1] = answer ? text.as(ANSWER) : lit(null).cast(DataTypes.StringType).as(ANSWER);
    columns[n + 2] =
        answer
            ? CITED_IDS.apply(text, col(CONTEXT)).as(CITED)
            : lit(null).cast(DataTypes.createArrayType(DataTypes.StringType)).as(CITED);
    columns[n + 3] = col(ERROR);
    return searched.select(columns);
  }

  /** {@link RagAnswerer#cited} as a column function; null when there is no answer. */
  private static final UserDefinedFunction CITED_IDS =
      udf(
          (UDF2<String, Seq<String>, List<String>>)
              (answer, context) ->
                  answer == null || context == null
                      ? null
                      : RagAnswerer.cited(answer, CollectionConverters.asJava(context)),
          DataTypes.createArrayType(DataTypes.StringType));
}
