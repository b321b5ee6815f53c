package org.dbrxspark.udfs.ml;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.udfs.inference.Generation;
import org.dbrxspark.udfs.inference.SamplingDefaults;
import org.dbrxspark.udfs.inference.Seeds;
import org.dbrxspark.udfs.registry.ModelSpec;

/**
 * Appends {@link Generation#RESULT} ({@code struct<text, finish_reason, prompt_tokens,
 * completion_tokens, logprobs, error, incomplete, top_logprobs, samples>}): the model's
 * continuation of each row's prompt (string column {@link #inputCol()}) or chat conversation
 * ({@link #messagesCol()}: {@code array<struct<role, content>>}, rendered with the DBRX ChatML
 * template and a generation prompt).
 *
 * <p>Rows of a partition go to the runtime's continuous-batching engine a chunk at a time. Sampling
 * params ({@link #samplingParams()}, one per {@code params_json} key of the SQL functions; the
 * table is in docs/spark.md) apply to every row; the optional {@code maxNewTokensCol}, {@code
 * temperatureCol} and {@code seedCol} override them per row (a null value keeps the default).
 *
 * <p>{@link #setResponseFormat} constrains every row's text to a JSON Schema, a regular expression
 * or a list of choices ({@link org.dbrxspark.runtime.structured.ResponseFormat}); a bad format
 * fails {@code transform} on the driver, naming the part at fault.
 *
 * <p>Determinism: a row's seed is its {@code seedCol} value, else {@link Seeds#forRow}(row id,
 * {@link #seed()}), where the row id is the {@code idCol} value as a string, else (no id column, or
 * a null id) the prompt or conversation itself. So a re-executed task, or a re-run of the job,
 * draws the same tokens for the same row. Without {@code idCol}, identical prompts share a seed and
 * hence an output; set {@code idCol} to sample them independently. With {@link #setN} above 1,
 * sample i of a row draws from {@link SamplingParams#sampleSeed}(i) of the row's seed, and sample 0
 * is the row's output with n = 1.
 */
public final class DbrxGenerator extends DbrxModelTransformer<DbrxGenerator> {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Param<String> messagesCol;
  private final Param<String> idCol;
  private final LongParam seed;
  private final Param<String> seedCol;
  private final Param<String> maxNewTokensCol;
  private final Param<String> temperatureCol;
  private final DoubleParam temperature;
  private final IntParam topK;
  private final DoubleParam topP;
  private final DoubleParam minP;
  private final DoubleParam repetitionPenalty;
  private final IntParam maxNewTokens;
  private final StringArrayParam stop;
  private final BooleanParam logprobs;
  private final Param<String> systemPrompt;
  private final BooleanParam prefixCaching;
  private final Param<String> responseFormat;
  private final IntParam n;
  private final IntParam topLogprobs;
  private final DoubleParam presencePenalty;
  private final DoubleParam frequencyPenalty;
  private final IntParam minTokens;
  private final Param<String> logitBias;
  private final IntArrayParam stopTokenIds;

  public DbrxGenerator() {
    this(Identifiable.randomUID("dbrxGenerator"));
  }

  public DbrxGenerator(String uid) {
    super(uid, "prompt", "generation");
    messagesCol =
        new Param<>(
            this,
            "messagesCol",
            "chat column, array<struct<role: string, content: string>>; used instead of inputCol when set");
    idCol =
        new Param<>(
            this, "idCol", "column whose value (as a string) identifies the row for its seed");
    seed =
        new LongParam(this, "seed", "global seed, hashed with each row's id into the row's seed");
    seedCol = new Param<>(this, "seedCol", "integer column overriding a row's seed");
    maxNewTokensCol =
        new Param<>(this, "maxNewTokensCol", "integer column overriding maxNewTokens per row");
    temperatureCol =
        new Param<>(this, "temperatureCol", "numeric column overriding temperature per row");
    temperature =
        new DoubleParam(
            this,
            "temperature",
            "0 for greedy decoding; logits are divided by it",
            ParamValidators.gtEq(0));
    topK =
        new IntParam(
            this, "topK", "keep the k most likely tokens; 0 disables", ParamValidators.gtEq(0));
    topP =
        new DoubleParam(
            this,
            "topP",
            "nucleus sampling mass; 1 disables",
            ParamValidators.inRange(0, 1, false, true));
    minP =
        new DoubleParam(
            this,
            "minP",
            "drop tokens below minP x the top probability; 0 disables",
            ParamValidators.inRange(0, 1, true, false));
    repetitionPenalty =
        new DoubleParam(
            this,
            "repetitionPenalty",
            "CTRL repetition penalty; 1 disables",
            ParamValidators.gt(0));
    maxNewTokens =
        new IntParam(
            this, "maxNewTokens", "most tokens generated per row", ParamValidators.gtEq(1));
    stop = new StringArrayParam(this, "stop", "generation stops at any of these (not returned)");
    logprobs =
        new BooleanParam(
            this, "logprobs", "whether to return each generated token's log-probability");
    systemPrompt =
        new Param<>(
            this,
            "systemPrompt",
            "default system prompt of the chat template (not set: DBRX's own; empty: none)");
    prefixCaching =
        new BooleanParam(
            this,
            "prefixCaching",
            "reuse the KV blocks of prompt prefixes that an executor's rows share; outputs are the same either way");
    responseFormat =
        new JsonObjectParam(
            this,
            "responseFormat",
            "JSON of a response format the text must match: {\"type\": \"json_schema\", \"json_schema\": {\"schema\": ...}},"
                + " {\"type\": \"regex\", \"regex\": ...} or {\"type\": \"choice\", \"choice\": [...]}");
    n =
        new IntParam(
            this,
            "n",
            "completions per row, each with its own seed; n > 1 fills the result's samples",
            ParamValidators.gtEq(1));
    topLogprobs =
        new IntParam(
            this,
            "topLogprobs",
            "return this many most likely tokens with their log-probabilities per generated token; 0: none",
            ParamValidators.gtEq(0));
    presencePenalty =
        new DoubleParam(
            this,
            "presencePenalty",
            "subtracted from the logit of every token already generated; 0 disables",
            ParamValidators.inRange(-2, 2));
    frequencyPenalty =
        new DoubleParam(
            this,
            "frequencyPenalty",
            "subtracted from a token's logit once per time it was generated; 0 disables",
            ParamValidators.inRange(-2, 2));
    minTokens =
        new IntParam(
            this,
            "minTokens",
            "no end-of-sequence, stop token or stop string before this many tokens",
            ParamValidators.gtEq(0));
    logitBias =
        new JsonObjectParam(
            this,
            "logitBias",
            "JSON object of token id to a bias in [-100, 100] added to its logit, e.g. {\"198\": -100}");
    stopTokenIds =
        new IntArrayParam(
            this,
            "stopTokenIds",
            "generation stops after any of these token ids (kept in the ids)");
    SamplingParams d = SamplingParams.greedy();
    setDefault(prefixCaching, EngineOptions.defaults().prefixCaching());
    setDefault(seed, 0L);
    setDefault(temperature, d.temperature());
    setDefault(topK, d.topK());
    setDefault(topP, d.topP());
    setDefault(minP, d.minP());
    setDefault(repetitionPenalty, d.repetitionPenalty());
    setDefault(maxNewTokens, d.maxNewTokens());
    setDefault(stop, new String[0]);
    setDefault(logprobs, d.logprobs());
    setDefault(n, d.n());
    setDefault(topLogprobs, d.topLogprobs());
    setDefault(presencePenalty, d.presencePenalty());
    setDefault(frequencyPenalty, d.frequencyPenalty());
    setDefault(minTokens, d.minTokens());
    setDefault(stopTokenIds, new int[0]);
  }

  // --- columns --------------------------------------------------------------------------------

  public Param<String> messagesCol() {
    return messagesCol;
  }

  public String getMessagesCol() {
    return $(messagesCol);
  }

  /**
   * Chat column ({@code array<struct<role: string, content: string>>}), used instead of inputCol.
   */
  public DbrxGenerator setMessagesCol(String value) {
    set(messagesCol, value);
    return this;
  }

  public Param<String> idCol() {
    return idCol;
  }

  public String getIdCol() {
    return $(idCol);
  }

  /** A string or numeric column identifying each row for its seed (default: none, the prompt). */
  public DbrxGenerator setIdCol(String value) {
    set(idCol, value);
    return this;
  }

  public Param<String> seedCol() {
    return seedCol;
  }

  public String getSeedCol() {
    return $(seedCol);
  }

  /** An integer column overriding each row's seed. */
  public DbrxGenerator setSeedCol(String value) {
    set(seedCol, value);
    return this;
  }

  public Param<String> maxNewTokensCol() {
    return maxNewTokensCol;
  }

  public String getMaxNewTokensCol() {
    return $(maxNewTokensCol);
  }

  /** An integer column overriding maxNewTokens per row. */
  public DbrxGenerator setMaxNewTokensCol(String value) {
    set(maxNewTokensCol, value);
    return this;
  }

  public Param<String> temperatureCol() {
    return temperatureCol;
  }

  public String getTemperatureCol() {
    return $(temperatureCol);
  }

  /** A numeric column overriding temperature per row. */
  public DbrxGenerator setTemperatureCol(String value) {
    set(temperatureCol, value);
    return this;
  }

  // --- sampling -------------------------------------------------------------------------------

  public LongParam seed() {
    return seed;
  }

  public long getSeed() {
    return (Long) $(seed);
  }

  /** The global seed (default 0). */
  public DbrxGenerator setSeed(long value) {
    set(seed, value);
    return this;
  }

  public DoubleParam temperature() {
    return temperature;
  }

  public double getTemperature() {
    return (Double) $(temperature);
  }

  public DbrxGenerator setTemperature(double value) {
    set(temperature, value);
    return this;
  }

  public IntParam topK() {
    return topK;
  }

  public int getTopK() {
    return (Integer) $(topK);
  }

  public DbrxGenerator setTopK(int value) {
    set(topK, value);
    return this;
  }

  public DoubleParam topP() {
    return topP;
  }

  public double getTopP() {
    return (Double) $(topP);
  }

  public DbrxGenerator setTopP(double value) {
    set(topP, value);
    return this;
  }

  public DoubleParam minP() {
    return minP;
  }

  public double getMinP() {
    return (Double) $(minP);
  }

  public DbrxGenerator setMinP(double value) {
    set(minP, value);
    return this;
  }

  public DoubleParam repetitionPenalty() {
    return repetitionPenalty;
  }

  public double getRepetitionPenalty() {
    return (Double) $(repetitionPenalty);
  }

  public DbrxGenerator setRepetitionPenalty(double value) {
    set(repetitionPenalty, value);
    return this;
  }

  public IntParam maxNewTokens() {
    return maxNewTokens;
  }

  public int getMaxNewTokens() {
    return (Integer) $(maxNewTokens);
  }

  public DbrxGenerator setMaxNewTokens(int value) {
    set(maxNewTokens, value);
    return this;
  }

  public StringArrayParam stop() {
    return stop;
  }

  public String[] getStop() {
    return $(stop);
  }

  /** Stop strings: the text ends before the first one. */
  public DbrxGenerator setStop(String... value) {
    set(stop, value);
    return this;
  }

  public IntArrayParam stopTokenIds() {
    return stopTokenIds;
  }

  public int[] getStopTokenIds() {
    return $(stopTokenIds);
  }

  /** Generation stops after drawing one of these ids (kept in the token ids, not the text). */
  public DbrxGenerator setStopTokenIds(int... value) {
    set(stopTokenIds, value);
    return this;
  }

  public IntParam n() {
    return n;
  }

  public int getN() {
    return (Integer) $(n);
  }

  /** Completions per row (default 1); with more, the result's {@code samples} holds them all. */
  public DbrxGenerator setN(int value) {
    set(n, value);
    return this;
  }

  public IntParam topLogprobs() {
    return topLogprobs;
  }

  public int getTopLogprobs() {
    return (Integer) $(topLogprobs);
  }

  /** The most likely tokens (up to 20) returned with their log-probabilities per position. */
  public DbrxGenerator setTopLogprobs(int value) {
    set(topLogprobs, value);
    return this;
  }

  public DoubleParam presencePenalty() {
    return presencePenalty;
  }

  public double getPresencePenalty() {
    return (Double) $(presencePenalty);
  }

  public DbrxGenerator setPresencePenalty(double value) {
    set(presencePenalty, value);
    return this;
  }

  public DoubleParam frequencyPenalty() {
    return frequencyPenalty;
  }

  public double getFrequencyPenalty() {
    return (Double) $(frequencyPenalty);
  }

  public DbrxGenerator setFrequencyPenalty(double value) {
    set(frequencyPenalty, value);
    return this;
  }

  public IntParam minTokens() {
    return minTokens;
  }

  public int getMinTokens() {
    return (Integer) $(minTokens);
  }

  public DbrxGenerator setMinTokens(int value) {
    set(minTokens, value);
    return this;
  }

  public Param<String> logitBias() {
    return logitBias;
  }

  public String getLogitBias() {
    return $(logitBias);
  }

  /** Token id to bias, as JSON: {@code {"198": -100, "374": 5}} (OpenAI's {@code logit_bias}). */
  public DbrxGenerator setLogitBias(String json) {
    set(logitBias, json);
    return this;
  }

  /** Token id to a bias in [-100, 100] added to its logit. */
  public DbrxGenerator setLogitBias(Map<Integer, Double> bias) {
    ObjectNode json = JSON.createObjectNode();
    new TreeMap<>(bias).forEach((id, b) -> json.put(String.valueOf(id), b));
    return setLogitBias(json.toString());
  }

  public BooleanParam logprobs() {
    return logprobs;
  }

  public boolean getLogprobs() {
    return (Boolean) $(logprobs);
  }

  public DbrxGenerator setLogprobs(boolean value) {
    set(logprobs, value);
    return this;
  }

  public Param<String> systemPrompt() {
    return systemPrompt;
  }

  public String getSystemPrompt() {
    return $(systemPrompt);
  }

  /** The chat template's default system prompt (not set: DBRX's own; empty: none). */
  public DbrxGenerator setSystemPrompt(String value) {
    set(systemPrompt, value);
    return this;
  }

  public BooleanParam prefixCaching() {
    return prefixCaching;
  }

  public boolean getPrefixCaching() {
    return (Boolean) $(prefixCaching);
  }

  /**
   * Whether the executor's tasks reuse the KV cache blocks of prompt prefixes that rows share,
   * instead of computing them for every row (default true). Outputs are the same either way.
   */
  public DbrxGenerator setPrefixCaching(boolean value) {
    set(prefixCaching, value);
    return this;
  }

  public Param<String> responseFormat() {
    return responseFormat;
  }

  public String getResponseFormat() {
    return $(responseFormat);
  }

  /**
   * Constrains each row's text to a format, given as JSON: {@code {"type": "json_schema",
   * "json_schema": {"schema": {...}}}}, {@code {"type": "regex", "regex": "..."}} or {@code
   * {"type": "choice", "choice": [...]}} (see {@link
   * org.dbrxspark.runtime.structured.ResponseFormat}).
   */
  public DbrxGenerator setResponseFormat(String value) {
    set(responseFormat, value);
    return this;
  }

  // --- transform ------------------------------------------------------------------------------

  @Override
  public ModelSpec modelSpec() {
    return super.modelSpec().withPrefixCaching(getPrefixCaching());
  }

  @Override
  protected void validateColumns(StructType schema) {
    if (isDefined(messagesCol)) {
      SchemaChecks.require(
          schema,
          "messagesCol",
          getMessagesCol(),
          SchemaChecks.MESSAGES,
          "array<struct<role: string, content: string>>");
    } else {
      SchemaChecks.require(schema, "inputCol", getInputCol(), SchemaChecks.STRING, "a string");
    }
    if (isDefined(idCol)) {
      SchemaChecks.require(
          schema,
          "idCol",
          getIdCol(),
          SchemaChecks.STRING.or(SchemaChecks.NUMERIC),
          "a string or a number");
    }
    if (isDefined(seedCol)) {
      SchemaChecks.require(schema, "seedCol", getSeedCol(), SchemaChecks.INTEGRAL, "an integer");
    }
    if (isDefined(maxNewTokensCol)) {
      SchemaChecks.require(
          schema, "maxNewTokensCol", getMaxNewTokensCol(), SchemaChecks.INTEGRAL, "an integer");
    }
    if (isDefined(temperatureCol)) {
      SchemaChecks.require(
          schema, "temperatureCol", getTemperatureCol(), SchemaChecks.NUMERIC, "a number");
    }
  }

  @Override
  protected Plan<?> plan(StructType schema) {
    SamplingDefaults defaults = samplingDefaults();
    Generation op =
        new Generation(defaults, getSeed(), isDefined(systemPrompt) ? getSystemPrompt() : null);
    int prompt = isDefined(messagesCol) ? -1 : index(schema, getInputCol());
    int messages = isDefined(messagesCol) ? index(schema, getMessagesCol()) : -1;
    int role = -1;
    int content = -1;
    if (messages >= 0) {
      StructType message =
          (StructType) ((ArrayType) schema.apply(messages).dataType()).elementType();
      role = message.fieldIndex("role");
      content = message.fieldIndex("content");
    }
    int roleField = role;
    int contentField = content;
    int id = optionalIndex(schema, idCol);
    int rowSeed = optionalIndex(schema, seedCol);
    int rowMax = optionalIndex(schema, maxNewTokensCol);
    int rowTemperature = optionalIndex(schema, temperatureCol);
    return new Plan<>(
        op,
        row ->
            new Generation.Input(
                prompt < 0 ? null : row.getString(prompt),
                messages < 0 || row.isNullAt(messages)
                    ? null
                    : Generation.messages(row.getList(messages), roleField, contentField),
                id < 0 || row.isNullAt(id) ? null : String.valueOf(row.get(id)),
                null,
                rowMax < 0 || row.isNullAt(rowMax)
                    ? null
                    : Math.toIntExact(((Number) row.get(rowMax)).longValue()),
                rowTemperature < 0 || row.isNullAt(rowTemperature)
                    ? null
                    : ((Number) row.get(rowTemperature)).doubleValue(),
                rowSeed < 0 || row.isNullAt(rowSeed)
                    ? null
                    : ((Number) row.get(rowSeed)).longValue()));
  }

  /**
   * The Params that are sampling controls, each named as its {@code params_json} key in camel case
   * (docs/spark.md has the table).
   */
  public List<Param<?>> samplingParams() {
    return List.of(
        temperature,
        topK,
        topP,
        minP,
        repetitionPenalty,
        presencePenalty,
        frequencyPenalty,
        seed,
        maxNewTokens,
        minTokens,
        n,
        stop,
        stopTokenIds,
        logitBias,
        logprobs,
        topLogprobs,
        responseFormat);
  }

  /**
   * The sampling Params as the {@code params_json} object every row starts from, each under its
   * name in snake case, so that one parser reads the Params and SQL's JSON alike.
   *
   * @throws IllegalArgumentException for a bad value or combination, naming the key
   */
  @SuppressWarnings("unchecked")
  public SamplingDefaults samplingDefaults() {
    ObjectNode json = JSON.createObjectNode();
    for (Param<?> p : samplingParams()) {
      // The seed Param is the global seed hashed with each row's id; the key is a row's own seed.
      if (p != seed && isDefined(p)) {
        String name = p.name().replaceAll("([A-Z])", "_$1").toLowerCase(Locale.ROOT);
        try {
          String value =
              p instanceof JsonObjectParam
                  ? $((JsonObjectParam) p)
                  : ((Param<Object>) p).jsonEncode($(p));
          json.set(name, JSON.readTree(value));
        } catch (JsonProcessingException e) {
          throw new IllegalArgumentException(p.name() + " is not valid JSON: " + e.getMessage(), e);
        }
      }
    }
    return new SamplingDefaults(json.toString());
  }

  private int optionalIndex(StructType schema, Param<String> column) {
    return isDefined(column) ? index(schema, $(column)) : -1;
  }

  public static MLReader<DbrxGenerator> read() {
    return new DefaultParamsReader<>();
  }

  public static DbrxGenerator load(String path) {
    return read().load(path);
  }
}
