package org.dbrxspark.jobs.generate;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.count_distinct;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.pmod;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.core.Job;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.core.Rejects;
import org.dbrxspark.jobs.inference.ModelOptions;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.jobs.io.DocumentReader;
import org.dbrxspark.jobs.io.InputFormat;
import org.dbrxspark.jobs.io.ReaderOptions;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.structured.ResponseFormat;
import org.dbrxspark.udfs.ml.DbrxGenerator;

/**
 * {@code generate}: runs DBRX over a table of prompts or chat conversations and writes every input
 * column plus the result struct ({@link org.dbrxspark.udfs.inference.Generation#RESULT}) to a Delta
 * table, one row per input row: with {@code --n} above 1 the struct's {@code samples} array holds
 * the row's completions, so the id stays the table's key.
 *
 * <p>The job is resumable. Rows are divided into chunks by a hash of their id, and each chunk is
 * one Delta commit of the rows whose id is not yet in the output, so a run that stops or dies loses
 * at most the chunk in flight and the next run does the rest. Only the files of successful task
 * attempts enter a commit, so a retried task never duplicates rows. A row's result depends only on
 * its prompt, its id and the settings, so a run done in pieces gives the same table as one run.
 *
 * <p>A JSONL line that is not a row (malformed JSON, not an object) has no id to key its result by:
 * it goes to the rejects table with a reason naming its file and line. A row whose prompt is not a
 * string, or whose chat is not a list of messages with a string role and content, is a row that
 * failed, as one with a null prompt or too long a prompt does: it is written with that reason, file
 * and line as its {@code error} and is not generated, and its neighbours are generated as they
 * would be alone. The summary counts both, so that every input row is accounted for.
 */
public final class GenerateJob implements Job {
  private static final SamplingParams DEFAULTS = SamplingParams.greedy();

  public static final OptionSpec<String> OUTPUT =
      OptionSpec.path(
          "output",
          null,
          "Delta table of the input rows with their generations; an existing one is resumed");
  public static final OptionSpec<String> REJECTS =
      Rejects.option(
          "Delta table of the input lines that are not rows (malformed JSON, not an object), with reasons "
              + "naming the file and line; rewritten every run");
  public static final OptionSpec<String> ID_COL =
      OptionSpec.string(
          "id-col",
          "id",
          "Column identifying each row (unique, not null): a re-run skips ids already in the output, and the id "
              + "seeds the row's sampling");
  public static final OptionSpec<String> PROMPT_COL =
      OptionSpec.string(
          "prompt-col",
          "prompt",
          "String column with the prompts; a JSONL row whose prompt is not a string is written with that "
              + "reason, file and line as its error");
  public static final OptionSpec<String> MESSAGES_COL =
      OptionSpec.string(
          "messages-col",
          "",
          "Chat column, array<struct<role: string, content: string>>, used instead of --prompt-col and rendered "
              + "with the DBRX chat template; a JSONL row whose value is not such a chat is written with the reason, "
              + "file and line as its error");
  public static final OptionSpec<Boolean> CHAT_TEMPLATE =
      OptionSpec.bool(
          "chat-template",
          false,
          "Send each prompt as one user message through the DBRX chat template (chats always use it)");
  public static final OptionSpec<String> SYSTEM_PROMPT =
      OptionSpec.string(
          "system-prompt",
          "",
          "System prompt of the chat template; empty: DBRX's own; 'none': no system prompt");
  public static final OptionSpec<String> OUTPUT_COL =
      OptionSpec.string("output-col", "generation", "Name of the result struct column");
  public static final OptionSpec<Integer> MAX_NEW_TOKENS =
      OptionSpec.integer(
          "max-new-tokens", DEFAULTS.maxNewTokens(), 1, "Most tokens generated per row");
  public static final OptionSpec<Double> TEMPERATURE =
      OptionSpec.decimal(
          "temperature", DEFAULTS.temperature(), 0, 100, "Sampling temperature; 0: greedy");
  public static final OptionSpec<Double> TOP_P =
      OptionSpec.decimal(
          "top-p",
          DEFAULTS.topP(),
          0,
          1,
          "Nucleus sampling: keep the most likely tokens up to this probability mass (above 0); 1: off");
  public static final OptionSpec<Integer> TOP_K =
      OptionSpec.integer("top-k", DEFAULTS.topK(), 0, "Keep the k most likely tokens; 0: off");
  public static final OptionSpec<Double> MIN_P =
      OptionSpec.decimal(
          "min-p",
          DEFAULTS.minP(),
          0,
          1,
          "Drop tokens below min-p times the top token's probability (below 1); 0: off");
  public static final OptionSpec<Double> REPETITION_PENALTY =
      OptionSpec.decimal(
          "repetition-penalty",
          DEFAULTS.repetitionPenalty(),
          0,
          100,
          "CTRL repetition penalty (above 0); 1: off");
  public static final OptionSpec<Long> SEED =
      OptionSpec.longValue(
          "seed",
          "0",
          Long.MIN_VALUE,
          "Global seed: a row samples with the seed hashed from it and the row's id");
  public static final OptionSpec<List<String>> STOP =
      OptionSpec.list(
          "stop",
          "",
          "Stop strings, comma-separated (\\n, \\t and \\\\ are unescaped); the text ends before the first one");
  public static final OptionSpec<Boolean> LOGPROBS =
      OptionSpec.bool("logprobs", false, "Also return each generated token's log-probability");
  public static final OptionSpec<Integer> N =
      OptionSpec.integer("n", 1, 1, "Completions per row, each with its own seed; see 'samples'");
  public static final OptionSpec<Integer> TOP_LOGPROBS =
      OptionSpec.integer("top-logprobs", 0, 0, "Most likely tokens (up to 20) returned per token");
  public static final OptionSpec<Double> PRESENCE_PENALTY =
      penalty("presence-penalty", "Subtracted from the logit of every token already generated");
  public static final OptionSpec<Double> FREQUENCY_PENALTY =
      penalty(
          "frequency-penalty", "Subtracted from a token's logit once per time it was generated");
  public static final OptionSpec<Integer> MIN_TOKENS =
      OptionSpec.integer("min-tokens", 0, 0, "Tokens generated before any stop rule applies");
  public static final OptionSpec<String> LOGIT_BIAS =
      OptionSpec.string("logit-bias", "", "JSON object of token id to bias, e.g. {\"198\": -100}");
  public static final OptionSpec<List<String>> STOP_TOKEN_IDS =
      OptionSpec.list("stop-token-ids", "", "Token ids, comma-separated, that end generation");
  public static final OptionSpec<Boolean> PREFIX_CACHING =
      OptionSpec.bool(
          "prefix-caching",
          EngineOptions.defaults().prefixCaching(),
          "Reuse the KV cache blocks of prompt prefixes that an executor's rows "
              + "share instead of computing them for every row; results are the same either way");
  public static final OptionSpec<String> RESPONSE_FORMAT =
      OptionSpec.string(
          "response-format",
          "",
          "Constrain each text to a format, as inline JSON or the path of a file holding it: "
              + "{\"type\": \"json_schema\", \"json_schema\": {\"schema\": {...}}}, {\"type\": \"regex\", \"regex\": \"...\"} "
              + "or {\"type\": \"choice\", \"choice\": [...]}; empty: free text");
  public static final OptionSpec<Long> COMMIT_EVERY =
      OptionSpec.longValue(
          "commit-every",
          "10000",
          1,
          "Rows per chunk (about): each chunk is one Delta commit, and a killed run loses at most the chunk in flight");
  public static final OptionSpec<Integer> MAX_CHUNKS =
      OptionSpec.integer(
          "max-chunks",
          0,
          0,
          "Stop after committing this many chunks (a sample run; run again to do the rest); 0: all");
  public static final OptionSpec<Boolean> OVERWRITE =
      OptionSpec.flag("overwrite", "Replace an existing --output table and start over");

  /** A penalty in [-2, 2], off (0) by default, as OpenAI bounds them. */
  private static OptionSpec<Double> penalty(String name, String description) {
    return OptionSpec.decimal(name, 0, -2, 2, description + ", in [-2, 2]; 0: off");
  }

  /** The options that say which columns a row's prompt comes from and where its result goes. */
  private static final List<OptionSpec<?>> ROW_OPTIONS =
      List.of(ID_COL, PROMPT_COL, MESSAGES_COL, CHAT_TEMPLATE, SYSTEM_PROMPT, OUTPUT_COL);

  /**
   * The sampling controls: each is the transformer's Param and the SQL functions' params_json key
   * of the same name (docs/spark.md has the table).
   */
  static final List<OptionSpec<?>> SAMPLING =
      List.of(
          TEMPERATURE,
          TOP_K,
          TOP_P,
          MIN_P,
          REPETITION_PENALTY,
          PRESENCE_PENALTY,
          FREQUENCY_PENALTY,
          SEED,
          MAX_NEW_TOKENS,
          MIN_TOKENS,
          N,
          STOP,
          STOP_TOKEN_IDS,
          LOGIT_BIAS,
          LOGPROBS,
          TOP_LOGPROBS,
          RESPONSE_FORMAT);

  /**
   * The options that decide a row's result; the output table records them (see {@link
   * GenerationSettings}).
   */
  private static final List<OptionSpec<?>> SETTINGS = settings();

  private static List<OptionSpec<?>> settings() {
    List<OptionSpec<?>> all = new ArrayList<>(List.of(ModelOptions.MODEL));
    all.addAll(ROW_OPTIONS);
    all.addAll(SAMPLING);
    return all;
  }

  /**
   * Prompts wrapped as one-message chats for {@code --chat-template true}; dropped before writing.
   */
  private static final String WRAPPED = "__dbrx_messages";

  /** A row's prompt as read, kept aside while a prompt that is not a string is not generated. */
  private static final String READ_PROMPT = "__dbrx_read_prompt";

  private static final String BUCKET = "__dbrx_bucket";
  private static final String DONE_ID = "__dbrx_done_id";

  private final BiFunction<Integer, Dataset<Row>, Dataset<Row>> beforeWrite;

  public GenerateJob() {
    this((chunk, rows) -> rows);
  }

  /**
   * For tests: {@code beforeWrite} gets each chunk's number and generated rows and returns what is
   * written, so that a test can fail tasks in the middle of a write.
   */
  GenerateJob(BiFunction<Integer, Dataset<Row>, Dataset<Row>> beforeWrite) {
    this.beforeWrite = beforeWrite;
  }

  @Override
  public String name() {
    return "generate";
  }

  @Override
  public String description() {
    return "Generate text with DBRX for every row of a prompt or chat table, resumably: rows are committed to the "
        + "output Delta table a chunk at a time, and a re-run skips ids already there.";
  }

  @Override
  public List<OptionSpec<?>> options() {
    List<OptionSpec<?>> all =
        new ArrayList<>(List.of(ReaderOptions.INPUT, ReaderOptions.INPUT_FORMAT, OUTPUT, REJECTS));
    all.addAll(ROW_OPTIONS);
    all.addAll(SAMPLING);
    all.addAll(List.of(PREFIX_CACHING, COMMIT_EVERY, MAX_CHUNKS, OVERWRITE));
    all.addAll(ModelOptions.specs());
    return all;
  }

  @Override
  public void validate(ParsedOptions o) {
    ModelOptions.validate(o);
    Rejects.requireApart(o, OUTPUT, REJECTS);
    try {
      generator(o).samplingDefaults();
    } catch (IllegalArgumentException e) {
      throw new UsageException("bad sampling options: " + e.getMessage());
    }
  }

  /** The generator the options describe. */
  static DbrxGenerator generator(ParsedOptions o) {
    String[] stops = o.get(STOP).stream().map(GenerateJob::unescape).toArray(String[]::new);
    DbrxGenerator generator =
        ModelOptions.apply(new DbrxGenerator(), o)
            .setIdCol(o.get(ID_COL))
            .setOutputCol(o.get(OUTPUT_COL))
            .setSeed(o.get(SEED))
            .setMaxNewTokens(o.get(MAX_NEW_TOKENS))
            .setMinTokens(o.get(MIN_TOKENS))
            .setN(o.get(N))
            .setTemperature(o.get(TEMPERATURE))
            .setTopP(o.get(TOP_P))
            .setTopK(o.get(TOP_K))
            .setMinP(o.get(MIN_P))
            .setRepetitionPenalty(o.get(REPETITION_PENALTY))
            .setPresencePenalty(o.get(PRESENCE_PENALTY))
            .setFrequencyPenalty(o.get(FREQUENCY_PENALTY))
            .setStop(stops)
            .setStopTokenIds(tokenIds(o.get(STOP_TOKEN_IDS)))
            .setLogprobs(o.get(LOGPROBS))
            .setTopLogprobs(o.get(TOP_LOGPROBS))
            .setPrefixCaching(o.get(PREFIX_CACHING));
    if (!o.get(LOGIT_BIAS).isEmpty()) {
      generator.setLogitBias(o.get(LOGIT_BIAS));
    }
    if (!o.get(RESPONSE_FORMAT).isEmpty()) {
      generator.setResponseFormat(ResponseFormat.fromArgument(o.get(RESPONSE_FORMAT)).json());
    }
    String system = o.get(SYSTEM_PROMPT);
    if (!system.isEmpty()) {
      generator.setSystemPrompt(system.equals("none") ? "" : system);
    }
    if (!o.get(MESSAGES_COL).isEmpty()) {
      generator.setMessagesCol(o.get(MESSAGES_COL));
    } else if (o.get(CHAT_TEMPLATE)) {
      generator.setMessagesCol(WRAPPED);
    } else {
      generator.setInputCol(o.get(PROMPT_COL));
    }
    return generator;
  }

  private static int[] tokenIds(List<String> values) {
    int[] ids = new int[values.size()];
    for (int i = 0; i < ids.length; i++) {
      try {
        ids[i] = Integer.parseInt(values.get(i).trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "--" + STOP_TOKEN_IDS.name() + ": '" + values.get(i) + "' is not a token id", e);
      }
    }
    return ids;
  }

  /** Unescapes {@code \n}, {@code \t} and {@code \\}, which a shell passes through literally. */
  static String unescape(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length()) {
        char next = s.charAt(i + 1);
        if (next == 'n' || next == 't' || next == '\\') {
          out.append(next == 'n' ? '\n' : next == 't' ? '\t' : '\\');
          i++;
          continue;
        }
      }
      out.append(c);
    }
    return out.toString();
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions o) {
    String idCol = o.get(ID_COL);
    String input = o.get(ReaderOptions.INPUT);
    InputFormat format = InputFormat.of(o.get(ReaderOptions.INPUT_FORMAT));
    boolean chats = !o.get(MESSAGES_COL).isEmpty();
    Dataset<Row> read =
        chats
            ? DocumentReader.readChats(spark, input, format, o.get(MESSAGES_COL))
            : DocumentReader.readTable(spark, input, format, o.get(PROMPT_COL));
    Column readError = col(DocumentReader.READ_ERROR);
    Dataset<Row> rows = read.where(DocumentReader.columnsRead());
    requireColumns(rows.drop(DocumentReader.READ_ERROR), o);
    if (!chats) {
      // A row whose prompt is not a string is given none (it keeps its line as its prompt).
      Column prompt = Columns.named(o.get(PROMPT_COL));
      rows =
          rows.withColumn(READ_PROMPT, prompt)
              .withColumn(o.get(PROMPT_COL), when(readError.isNull(), prompt));
    }
    if (!chats && o.get(CHAT_TEMPLATE)) {
      rows =
          rows.withColumn(
              WRAPPED,
              array(
                  struct(
                      lit("user").as("role"),
                      Columns.named(o.get(PROMPT_COL)).cast(DataTypes.StringType).as("content"))));
    }
    DbrxGenerator generator = generator(o);
    StructType schema = withoutWorkingColumns(generator.transformSchema(rows.schema()));
    OutputTable table = new OutputTable(spark, o.get(OUTPUT));
    String settings = GenerationSettings.of(o, SETTINGS);
    boolean resume = table.resumable(schema, settings, o.get(OVERWRITE));

    Column bucket =
        pmod(xxhash64(Columns.named(idCol).cast(DataTypes.StringType)), lit(ChunkPlan.BUCKETS))
            .cast(DataTypes.IntegerType);
    // Kept apart from the output table: a cached plan that reads the output is dropped by every
    // commit.
    Dataset<Row> keyed = rows.withColumn(BUCKET, bucket).persist(StorageLevel.MEMORY_AND_DISK());
    try {
      SortedMap<Integer, Long> pendingPerBucket = new TreeMap<>();
      long total = countPending(keyed, resume ? table : null, idCol, pendingPerBucket);
      // Written once the input is known to be usable, and rewritten every run: a line fixed since
      // leaves the rejects.
      String rejects = Rejects.path(o, OUTPUT, REJECTS);
      DeltaTables.overwrite(
          read.where(not(DocumentReader.columnsRead()))
              .withColumn(Rejects.REASONS, array(readError))
              .drop(DocumentReader.READ_ERROR),
          rejects);
      long unreadable = DeltaTables.lastCommitRows(spark, rejects);
      if (!resume) {
        table.reset(schema, settings);
      }
      List<ChunkPlan.Chunk> chunks = ChunkPlan.of(pendingPerBucket, o.get(COMMIT_EVERY));
      long pending = chunks.stream().mapToLong(ChunkPlan.Chunk::rows).sum();
      ChunkProgress progress = new ChunkProgress(total, total - pending, chunks.size());
      long left = pending;
      int maxChunks = o.get(MAX_CHUNKS);
      for (int c = 0;
          c < chunks.size() && (maxChunks == 0 || progress.committed() < maxChunks);
          c++) {
        ChunkPlan.Chunk chunk = chunks.get(c);
        // Checked against the latest version again: only ids that no run has committed are
        // generated.
        Dataset<Row> todo =
            notInOutput(keyed.where(col(BUCKET).between(chunk.first(), chunk.last())), table, idCol)
                .drop(BUCKET);
        Dataset<Row> generated =
            withReadErrors(generator.transform(ModelOptions.spread(todo, idCol, o)), o)
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
          // Counting fills the cache, which the write then reads: the model runs once per row.
          ChunkProgress.Counts counts = ChunkProgress.Counts.of(generated, o.get(OUTPUT_COL));
          // None left means another run committed them meanwhile; the summary's check shows it.
          if (counts.rows() > 0) {
            long version =
                table.append(
                    beforeWrite.apply(c, generated),
                    "dbrx-spark generate: chunk " + (c + 1) + " of " + chunks.size());
            progress.committed(c, version, counts, generator.lastMetrics());
          }
        } finally {
          generated.unpersist();
        }
        left -= chunk.rows();
      }
      return summary(
          o,
          table,
          new InputCounts(unreadable + total, unreadable, total - pending, left),
          rejects,
          chunks.size(),
          progress);
    } finally {
      keyed.unpersist();
    }
  }

  /**
   * The run's row counts: every input row is unreadable, already in the output, generated now or
   * left for a re-run.
   */
  private record InputCounts(long input, long unreadable, long doneBefore, long left) {}

  private JobSummary summary(
      ParsedOptions o,
      OutputTable table,
      InputCounts counts,
      String rejects,
      int chunks,
      ChunkProgress progress) {
    String idCol = o.get(ID_COL);
    Row out = table.rows().agg(count(lit(1)), count_distinct(Columns.named(idCol))).first();
    double seconds = progress.seconds();
    JobSummary summary =
        new JobSummary("generate " + o.get(ReaderOptions.INPUT))
            .put("input rows", counts.input())
            .put("unreadable rows", counts.unreadable() + " (in " + rejects + ")")
            .put("already in the output", counts.doneBefore())
            .put("generated now", progress.rows())
            .put("left for a re-run", counts.left())
            .put("rows with an error", progress.errors())
            .put("rows incomplete", progress.incomplete())
            .put("prompt tokens", progress.promptTokens())
            .put("generated tokens", progress.generatedTokens())
            .put(
                "tokens/s",
                String.format(
                    Locale.ROOT,
                    "%.1f generated, %.1f with prompts (%.1f s)",
                    progress.generatedTokens() / seconds,
                    (progress.generatedTokens() + progress.promptTokens()) / seconds,
                    seconds))
            .put("prefix cache", progress.prefixCacheLine(o.get(PREFIX_CACHING)))
            .put(
                "chunks",
                String.format(
                    Locale.ROOT,
                    "%d of %d committed (--commit-every %d)",
                    progress.committed(),
                    chunks,
                    o.get(COMMIT_EVERY)))
            .put(
                "output",
                table.path() + " (version " + table.version() + ", " + out.getLong(0) + " rows)");
    if (counts.left() > 0) {
      summary.put(
          "stopped",
          "after --max-chunks " + o.get(MAX_CHUNKS) + "; run again to generate the rest");
    }
    return summary
        .reconcile(
            "input = unreadable + already done + generated now + left",
            counts.input(),
            counts.unreadable(),
            counts.doneBefore(),
            progress.rows(),
            counts.left())
        .reconcile("output rows = distinct ids", out.getLong(0), out.getLong(1));
  }

  /**
   * One pass over the input: fills {@code pendingPerBucket} with the rows of each bucket whose id
   * is not in {@code resumed} (null: a new table), and returns the input's row count, after
   * checking that ids are unique and not null. The output is keyed by id, so a duplicate would be
   * generated once and its twin silently skipped.
   */
  private static long countPending(
      Dataset<Row> keyed,
      OutputTable resumed,
      String idCol,
      SortedMap<Integer, Long> pendingPerBucket) {
    Column id = Columns.named(idCol);
    Dataset<Row> marked =
        resumed == null
            ? keyed.withColumn(DONE_ID, lit(null))
            : keyed.join(resumed.rows().select(id.as(DONE_ID)), id.equalTo(col(DONE_ID)), "left");
    long total = 0;
    long ids = 0;
    long distinct = 0;
    // An id falls into one bucket only, so distinct counts per bucket add up.
    for (Row r :
        marked
            .groupBy(BUCKET)
            .agg(
                count(lit(1)),
                count(id),
                count_distinct(id),
                count(when(col(DONE_ID).isNull(), lit(1))))
            .collectAsList()) {
      total += r.getLong(1);
      ids += r.getLong(2);
      distinct += r.getLong(3);
      pendingPerBucket.put(r.getInt(0), r.getLong(4));
    }
    if (ids < total) {
      throw new IllegalArgumentException(
          (total - ids)
              + " input rows have a null --id-col '"
              + idCol
              + "'; every row needs an id to be resumable");
    }
    if (distinct < total) {
      List<Row> dups =
          keyed
              .groupBy(id)
              .agg(count(lit(1)).as("n"))
              .where(col("n").gt(1))
              .orderBy(col("n").desc(), id)
              .limit(5)
              .collectAsList();
      throw new IllegalArgumentException(
          "--id-col '"
              + idCol
              + "' is not unique: "
              + (total - distinct)
              + " extra rows share an id, e.g. "
              + dups.stream()
                  .map(d -> d.get(0) + " (" + d.getLong(1) + " rows)")
                  .collect(Collectors.joining(", "))
              + "; deduplicate the input or choose a unique id column");
    }
    return total;
  }

  private static void requireColumns(Dataset<Row> rows, ParsedOptions o) {
    List<String> columns = Arrays.asList(rows.columns());
    List<OptionSpec<String>> named = new ArrayList<>(List.of(ID_COL));
    named.add(o.get(MESSAGES_COL).isEmpty() ? PROMPT_COL : MESSAGES_COL);
    for (OptionSpec<String> spec : named) {
      if (!columns.contains(o.get(spec))) {
        throw new IllegalArgumentException(
            "input has no column '"
                + o.get(spec)
                + "' (--"
                + spec.name()
                + "); its columns are "
                + columns);
      }
    }
    if (columns.contains(o.get(OUTPUT_COL))) {
      throw new IllegalArgumentException(
          "input already has a column '" + o.get(OUTPUT_COL) + "'; pass another --output-col");
    }
  }

  /** The rows of {@code rows} whose id is not in the output table's latest version. */
  private static Dataset<Row> notInOutput(Dataset<Row> rows, OutputTable table, String idCol) {
    Dataset<Row> done = table.rows().select(Columns.named(idCol).as(DONE_ID));
    return rows.join(done, Columns.named(idCol).equalTo(col(DONE_ID)), "left_anti");
  }

  /**
   * The generated rows as written: a row that was read with an error (its prompt or chat of the
   * wrong type) has that error as its result's, and its prompt as read; the working columns go.
   */
  private static Dataset<Row> withReadErrors(Dataset<Row> generated, ParsedOptions o) {
    Column result = Columns.named(o.get(OUTPUT_COL));
    Dataset<Row> out =
        generated.withColumn(
            o.get(OUTPUT_COL),
            result.withField(
                "error", coalesce(col(DocumentReader.READ_ERROR), result.getField("error"))));
    if (o.get(MESSAGES_COL).isEmpty()) {
      out = out.withColumn(o.get(PROMPT_COL), col(READ_PROMPT));
    }
    return out.drop(WRAPPED, READ_PROMPT, DocumentReader.READ_ERROR);
  }

  /** The output table's schema: {@code schema} without the job's working columns. */
  private static StructType withoutWorkingColumns(StructType schema) {
    List<String> working = List.of(WRAPPED, READ_PROMPT, DocumentReader.READ_ERROR);
    return new StructType(
        Arrays.stream(schema.fields())
            .filter(f -> !working.contains(f.name()))
            .toArray(StructField[]::new));
  }
}
