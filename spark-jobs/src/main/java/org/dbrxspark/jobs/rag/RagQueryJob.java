package org.dbrxspark.jobs.rag;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.core.Job;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.core.Rejects;
import org.dbrxspark.jobs.core.RunTables;
import org.dbrxspark.jobs.inference.ModelOptions;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.jobs.io.DocumentReader;
import org.dbrxspark.jobs.io.Documents;
import org.dbrxspark.jobs.io.InputFormat;
import org.dbrxspark.jobs.io.ReaderOptions;
import org.dbrxspark.udfs.inference.Generation;

/**
 * {@code rag-query}: retrieves chunks from a RAG index by vector, BM25 or hybrid search and, with
 * {@code --answer}, generates an answer from them with DBRX. One query prints JSON lines on
 * standard output; {@code --queries TABLE --output DELTA} answers a table of queries in Spark.
 *
 * <p>In a table of queries, a line that is not a row (malformed JSON, not an object) goes to the
 * rejects table with its reason, which names the file and line; a row whose query is not a string
 * is not searched and gets that reason as its {@code error}, as an empty query gets its own. The
 * other queries are answered as they would be alone.
 */
public final class RagQueryJob implements Job {
  public static final OptionSpec<String> INDEX =
      OptionSpec.path("index", null, "Index folder built by rag-index");
  public static final OptionSpec<String> QUERY =
      OptionSpec.string("query", "", "One query; hits print as JSON lines");
  public static final OptionSpec<String> QUERY_VECTOR =
      OptionSpec.string(
          "query-vector",
          "",
          "Search by this embedding (comma-separated floats; normalised) instead of --query");
  public static final OptionSpec<String> QUERIES =
      OptionSpec.path(
          "queries", "", "Table of queries (any input format) for the batch form; needs --output");
  public static final OptionSpec<String> QUERY_COL =
      OptionSpec.string("query-col", "query", "Column of --queries holding the query text");
  public static final OptionSpec<String> ID_COL =
      OptionSpec.string(
          "id-col",
          Columns.ID,
          "Column of --queries holding the query id (derived from the text when absent)");
  public static final OptionSpec<String> OUTPUT =
      OptionSpec.path(
          "output",
          "",
          "Delta table of results for --queries: the query columns plus hits, answer, cited and error");
  public static final OptionSpec<String> REJECTS =
      Rejects.option(
          "For --queries: Delta table of the lines that are not rows (malformed JSON, not an object), with "
              + "reasons naming the file and line");
  public static final OptionSpec<Integer> K = OptionSpec.integer("k", 10, 1, "Hits per query");
  public static final OptionSpec<String> MODE =
      OptionSpec.choice(
          "mode",
          "hybrid",
          "vector (HNSW), bm25, or hybrid (both, fused by reciprocal rank)",
          "vector",
          "bm25",
          "hybrid");
  public static final OptionSpec<List<String>> FILTER =
      OptionSpec.list(
          "filter",
          "",
          "col=value,...: hits must match every pair (metadata columns, source_id, chunk_id)");
  public static final OptionSpec<Integer> CANDIDATES =
      OptionSpec.integer(
          "candidates",
          100,
          1,
          "Neighbours each HNSW search collects (recall vs latency) and depth of the lists hybrid fuses");
  public static final OptionSpec<Integer> RRF_K =
      OptionSpec.integer(
          "rrf-k",
          ReciprocalRankFusion.DEFAULT_K,
          1,
          "Reciprocal rank fusion constant: score = sum of 1 / (rrf-k + rank)");
  public static final OptionSpec<Boolean> ANSWER =
      OptionSpec.flag(
          "answer", "Generate an answer from the hits with DBRX (ChatML prompt citing chunk ids)");
  public static final OptionSpec<Boolean> SHOW_PROMPT =
      OptionSpec.flag("show-prompt", "With --answer, print the prompt too");
  public static final OptionSpec<Integer> MAX_NEW_TOKENS =
      OptionSpec.integer("max-new-tokens", 256, 1, "Most tokens of an answer");
  public static final OptionSpec<Double> TEMPERATURE =
      OptionSpec.decimal(
          "temperature", 0, 0, 100, "Sampling temperature of the answer; 0 is greedy");
  public static final OptionSpec<Long> SEED =
      OptionSpec.longValue(
          "seed",
          "0",
          Long.MIN_VALUE,
          "Seed of the answer sampling (per query: hashed with the query id)");
  public static final OptionSpec<String> MODEL =
      OptionSpec.path(
          "model",
          "",
          "DBRX checkpoint for query embeddings and answers; default: the index's model");
  public static final OptionSpec<String> CACHE_DIR =
      OptionSpec.path(
          "cache-dir",
          "",
          "Where shards on non-local file systems are copied; default: <spark.local.dir>/dbrx-rag-cache");

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The seed column of a single --query: its seed is --seed itself, not hashed with an id. */
  private static final String ONE_QUERY_SEED = "_seed";

  /** A query row's text as read, kept aside while a query that is not a string is not searched. */
  private static final String LINE = "_line";

  @Override
  public String name() {
    return "rag-query";
  }

  @Override
  public String description() {
    return "Retrieve chunks from a RAG index by vector, BM25 or hybrid search, optionally filtered; --answer "
        + "generates an answer citing the chunks. One --query prints JSON lines; --queries TABLE --output "
        + "DELTA runs a table of queries.";
  }

  @Override
  public List<OptionSpec<?>> options() {
    List<OptionSpec<?>> all =
        new ArrayList<>(
            List.of(
                INDEX,
                QUERY,
                QUERY_VECTOR,
                QUERIES,
                QUERY_COL,
                ID_COL,
                OUTPUT,
                REJECTS,
                K,
                MODE,
                FILTER,
                CANDIDATES,
                RRF_K,
                ANSWER,
                SHOW_PROMPT,
                MAX_NEW_TOKENS,
                TEMPERATURE,
                SEED,
                MODEL,
                CACHE_DIR));
    all.addAll(ModelOptions.loadSpecs());
    return all;
  }

  @Override
  public void validate(ParsedOptions o) {
    ModelOptions.validate(o);
    int forms =
        (o.get(QUERY).isEmpty() ? 0 : 1)
            + (o.get(QUERY_VECTOR).isEmpty() ? 0 : 1)
            + (o.get(QUERIES).isEmpty() ? 0 : 1);
    if (forms != 1) {
      throw new UsageException("give exactly one of --query, --query-vector and --queries");
    }
    if (!o.get(QUERIES).isEmpty()) {
      if (o.get(OUTPUT).isEmpty()) {
        throw new UsageException("--queries needs --output (the results table)");
      }
      Rejects.requireApart(o, OUTPUT, REJECTS);
    }
    if (!o.get(QUERY_VECTOR).isEmpty()) {
      if (!o.get(MODE).equals("vector")) {
        throw new UsageException("--query-vector searches by vector only: add --mode vector");
      }
      if (o.get(ANSWER)) {
        throw new UsageException("--answer needs a question: use --query");
      }
      vector(o);
    }
    filter(o);
  }

  @Override
  public boolean printsResults(ParsedOptions options) {
    return options.get(QUERIES).isEmpty();
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions options) {
    return run(spark, options, System.out);
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions o, PrintStream out) {
    Retriever.Options search =
        new Retriever.Options(
            RagIndex.Mode.valueOf(o.get(MODE).toUpperCase(Locale.ROOT)),
            o.get(K),
            o.get(CANDIDATES),
            o.get(RRF_K),
            filter(o));
    long started = System.nanoTime();
    Path cache =
        o.get(CACHE_DIR).isEmpty() ? IndexSearch.defaultCache() : Path.of(o.get(CACHE_DIR));
    IndexManifest manifest;
    long chunks;
    List<Row> hits;
    // Fails before any Spark job when the index is missing or the filter names unknown columns.
    try (RagIndex index =
        RagIndex.open(o.get(INDEX), spark.sparkContext().hadoopConfiguration(), cache)) {
      index.bm25("probe", 1, search.filter());
      manifest = index.manifest();
      chunks = index.chunkCount();
      hits =
          o.get(QUERY_VECTOR).isEmpty()
              ? null
              : new Retriever(index, search)
                  .search(vector(o)).stream().map(IndexSearch::hitRow).toList();
    }
    RagQueries.Settings settings = settings(o, search, manifest);
    if (!o.get(QUERIES).isEmpty()) {
      return batch(spark, o, settings);
    }
    JobSummary summary =
        new JobSummary("rag-query " + o.get(INDEX))
            .put(
                "index",
                "version "
                    + manifest.version()
                    + ", "
                    + chunks
                    + " chunks in "
                    + manifest.shards().size()
                    + " shards")
            .put(
                "mode",
                o.get(MODE) + (search.filter().isEmpty() ? "" : ", filter " + search.filter()));
    Row result = null;
    if (hits == null) {
      // One query runs as a table of one, the path every query takes; its seed is --seed itself.
      StructType schema =
          new StructType()
              .add(Columns.ID, DataTypes.StringType)
              .add(Columns.TEXT, DataTypes.StringType)
              .add(ONE_QUERY_SEED, DataTypes.LongType);
      Dataset<Row> one =
          spark.createDataFrame(
              List.of(RowFactory.create(null, o.get(QUERY), o.get(SEED))), schema);
      result =
          RagQueries.run(one, settings, spark.sparkContext().hadoopConfiguration(), ONE_QUERY_SEED)
              .collectAsList()
              .get(0);
      String error = result.getAs(RagQueries.ERROR);
      if (error != null) {
        throw new IllegalArgumentException(error);
      }
      hits = result.getList(result.fieldIndex(RagQueries.HITS));
    }
    hits.forEach(h -> out.println(json(h)));
    summary.put("hits", hits.size());
    if (o.get(ANSWER)) {
      Row answer = result.getStruct(result.fieldIndex(RagQueries.GENERATED));
      List<String> context = result.getList(result.fieldIndex(RagQueries.CONTEXT));
      List<String> cited = RagAnswerer.cited(answerField(answer, "text", String.class), context);
      out.println(
          json(
              answer, context, cited, o.get(SHOW_PROMPT) ? result.getAs(RagQueries.PROMPT) : null));
      summary.put(
          "answer",
          answerField(answer, "completion_tokens", Integer.class)
              + " tokens ("
              + answerField(answer, "finish_reason", String.class)
              + "), "
              + context.size()
              + " chunks in the prompt, "
              + cited.size()
              + " cited");
    }
    return summary.put("time", String.format("%.0f ms", (System.nanoTime() - started) / 1e6));
  }

  private static RagQueries.Settings settings(
      ParsedOptions o, Retriever.Options search, IndexManifest manifest) {
    return new RagQueries.Settings(
        o.get(INDEX),
        o.get(CACHE_DIR),
        o.get(MODEL).isEmpty() ? manifest.model().location() : o.get(MODEL),
        manifest.model().pooling(),
        ModelOptions.LoadOptions.from(o),
        search,
        o.get(ANSWER),
        o.get(MAX_NEW_TOKENS),
        o.get(TEMPERATURE),
        o.get(SEED));
  }

  private JobSummary batch(SparkSession spark, ParsedOptions o, RagQueries.Settings settings) {
    ReaderOptions reader =
        new ReaderOptions(
            o.get(QUERIES), InputFormat.AUTO, o.get(QUERY_COL), o.get(ID_COL), "", Columns.SOURCE);
    Documents read = DocumentReader.readWithErrors(spark, reader, o.get(QUERY_COL));
    Column readError = col(DocumentReader.READ_ERROR);
    Dataset<Row> rows = read.rows();
    List<String> queryColumns =
        Arrays.stream(rows.columns()).filter(c -> !c.equals(DocumentReader.READ_ERROR)).toList();
    // A query that is not a string is not searched (a null query fails as an empty one does); the
    // row keeps its line as its query, and its read error becomes its error.
    Dataset<Row> queries =
        rows.where(DocumentReader.columnsRead())
            .withColumn(LINE, col(Columns.TEXT))
            .withColumn(Columns.TEXT, when(readError.isNull(), col(Columns.TEXT)));
    Dataset<Row> searched =
        RagQueries.run(queries, settings, spark.sparkContext().hadoopConfiguration(), null)
            .withColumn(Columns.TEXT, col(LINE))
            .withColumn(RagQueries.ERROR, coalesce(readError, col(RagQueries.ERROR)));
    Dataset<Row> results = RagQueries.finish(searched, queryColumns, settings.answer());
    if (!o.get(QUERY_COL).equals(Columns.TEXT)) {
      results = results.withColumnRenamed(Columns.TEXT, o.get(QUERY_COL));
    }
    String output = o.get(OUTPUT);
    String rejects = Rejects.path(o, OUTPUT, REJECTS);
    try (RunTables tables = RunTables.of(spark, output, rejects)) {
      tables.overwrite(results, output);
      long rejected =
          tables.overwrite(
              rows.where(not(DocumentReader.columnsRead()))
                  .withColumn(Rejects.REASONS, array(readError))
                  .drop(DocumentReader.READ_ERROR),
              rejects);
      long input = rows.count();
      Row totals =
          DeltaTables.read(spark, output)
              .agg(
                  count(col(Columns.ID)),
                  sum(size(col(RagQueries.HITS))),
                  count(col(RagQueries.ERROR)),
                  count(col(RagQueries.ANSWER)))
              .head();
      long written = totals.getLong(0);
      long errors = totals.getLong(2);
      Retriever.Options search = settings.search();
      return tables.finish(
          new JobSummary("rag-query " + o.get(QUERIES) + " -> " + output)
              .put("input rows", input)
              .put("queries", written)
              .put("duplicate ids", read.duplicateIdSummary())
              .put("failed queries", errors)
              .put("rejected lines", rejected + " (in " + rejects + ")")
              .put("hits", totals.isNullAt(1) ? 0 : totals.getLong(1))
              .put("answers", totals.getLong(3))
              .put(
                  "mode",
                  o.get(MODE) + (search.filter().isEmpty() ? "" : ", filter " + search.filter()))
              .reconcile(
                  "input = answered + failed + rejected",
                  input,
                  written - errors,
                  errors,
                  rejected));
    }
  }

  private static Map<String, String> filter(ParsedOptions o) {
    Map<String, String> filter = new LinkedHashMap<>();
    for (String pair : o.get(FILTER)) {
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new UsageException("--filter entries look like col=value, got '" + pair + "'");
      }
      if (filter.put(pair.substring(0, eq).trim(), pair.substring(eq + 1)) != null) {
        throw new UsageException("--filter names " + pair.substring(0, eq) + " twice");
      }
    }
    return filter;
  }

  private static float[] vector(ParsedOptions o) {
    String[] parts = o.get(QUERY_VECTOR).split(",");
    float[] v = new float[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        v[i] = Float.parseFloat(parts[i].trim());
      } catch (NumberFormatException e) {
        throw new UsageException(
            "--query-vector holds comma-separated numbers; element "
                + i
                + " is '"
                + parts[i]
                + "'");
      }
    }
    return v;
  }

  /** One hit (a row of {@link IndexSearch#HIT}, read by position) as a JSON line. */
  static String json(Row h) {
    ObjectNode node = JSON.createObjectNode();
    node.put("rank", hitField(h, "rank", Integer.class))
        .put("score", hitField(h, "score", Double.class));
    node.put("chunk_id", hitField(h, IndexedChunk.CHUNK_ID, String.class))
        .put("source_id", hitField(h, IndexedChunk.SOURCE_ID, String.class))
        .put("chunk_index", hitField(h, IndexedChunk.CHUNK_INDEX, Integer.class))
        .put("start", hitField(h, IndexedChunk.START, Integer.class))
        .put("end", hitField(h, IndexedChunk.END, Integer.class))
        .put("num_tokens", hitField(h, IndexedChunk.TOKENS, Integer.class));
    Integer vectorRank = hitField(h, "vector_rank", Integer.class);
    Integer bm25Rank = hitField(h, "bm25_rank", Integer.class);
    if (vectorRank != null || bm25Rank != null) {
      node.put("vector_rank", vectorRank).put("bm25_rank", bm25Rank);
    }
    node.set("metadata", JSON.valueToTree(h.getJavaMap(IndexSearch.HIT.fieldIndex("metadata"))));
    node.put("text", hitField(h, IndexedChunk.TEXT, String.class));
    return node.toString();
  }

  private static <T> T answerField(Row answer, String name, Class<T> type) {
    return type.cast(answer.get(Generation.RESULT.fieldIndex(name)));
  }

  private static <T> T hitField(Row hit, String name, Class<T> type) {
    return type.cast(hit.get(IndexSearch.HIT.fieldIndex(name)));
  }

  /** The answer (the generator's result struct) as a JSON line; the prompt when one is given. */
  private static String json(Row answer, List<String> context, List<String> cited, String prompt) {
    ObjectNode node = JSON.createObjectNode();
    node.put("answer", answerField(answer, "text", String.class));
    ArrayNode citations = node.putArray("citations");
    context.forEach(citations::add);
    ArrayNode citedIds = node.putArray("cited");
    cited.forEach(citedIds::add);
    node.put("prompt_tokens", answerField(answer, "prompt_tokens", Integer.class))
        .put("completion_tokens", answerField(answer, "completion_tokens", Integer.class))
        .put("finish_reason", answerField(answer, "finish_reason", String.class));
    if (prompt != null) {
      node.put("prompt", prompt);
    }
    return node.toString();
  }
}
