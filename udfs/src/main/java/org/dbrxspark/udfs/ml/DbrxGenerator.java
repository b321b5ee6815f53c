package org.dbrxspark.udfs.ml;

import java.util.List;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
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
import org.dbrxspark.runtime.structured.ResponseFormat;
import org.dbrxspark.udfs.inference.Generation;
import org.dbrxspark.udfs.inference.SamplingDefaults;
import org.dbrxspark.udfs.inference.Seeds;
import org.dbrxspark.udfs.registry.ModelSpec;

/**
 * Appends {@code struct<text, finish_reason, prompt_tokens, completion_tokens, logprobs, error,
 * incomplete>}: the model's continuation of each row's prompt (string column {@link #inputCol()})
 * or chat conversation ({@link #messagesCol()}: {@code array<struct<role, content>>}, rendered with
 * the DBRX ChatML template and a generation prompt).
 *
 * <p>Rows of a partition go to the runtime's continuous-batching engine a chunk at a time. Sampling
 * params apply to every row; the optional {@code maxNewTokensCol}, {@code temperatureCol} and
 * {@code seedCol} override them per row (a null value keeps the default).
 *
 * <p>{@link #setResponseFormat} constrains every row's text to a JSON Schema, a regular expression
 * or a list of choices ({@link org.dbrxspark.runtime.structured.ResponseFormat}); a bad format
 * fails {@code transform} on the driver, naming the part at fault.
 *
 * <p>Determinism: a row's seed is its {@code seedCol} value, else {@link Seeds#forRow}(row id,
 * {@link #seed()}), where the row id is the {@code idCol} value as a string, else (no id column, or
 * a null id) the prompt or conversation itself. So a re-executed task, or a re-run of the job,
 * draws the same tokens for the same row. Without {@code idCol}, identical prompts share a seed and
 * hence an output; set {@code idCol} to sample them independently.
 */
public final class DbrxGenerator extends DbrxModelTransformer<DbrxGenerator> {
  private static final long serialVersionUID = 1L;

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
  private final StringArrayParam stopStrings;
  private final BooleanParam logprobs;
  private final Param<String> systemPrompt;
  private final BooleanParam prefixCaching;
  private final Param<String> responseFormat;

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
    stopStrings =
        new StringArrayParam(
            this, "stopStrings", "generation stops at any of these (not returned)");
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
        new Param<>(
            this,
            "responseFormat",
            "JSON of a response format the text must match: {\"type\": \"json_schema\", \"json_schema\": {\"schema\": ...}},"
                + " {\"type\": \"regex\", \"regex\": ...} or {\"type\": \"choice\", \"choice\": [...]}");
    SamplingDefaults d = SamplingDefaults.runtimeDefaults();
    setDefault(prefixCaching, EngineOptions.defaults().prefixCaching());
    setDefault(seed, 0L);
    setDefault(temperature, d.temperature());
    setDefault(topK, d.topK());
    setDefault(topP, d.topP());
    setDefault(minP, d.minP());
    setDefault(repetitionPenalty, d.repetitionPenalty());
    setDefault(maxNewTokens, d.maxNewTokens());
    setDefault(stopStrings, new String[0]);
    setDefault(logprobs, d.logprobs());
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

  public StringArrayParam stopStrings() {
    return stopStrings;
  }

  public String[] getStopStrings() {
    return $(stopStrings);
  }

  public DbrxGenerator setStopStrings(String... value) {
    set(stopStrings, value);
    return this;
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
    // Canonical JSON, so that every task looks the compiled format up under one key.
    String format =
        isDefined(responseFormat) ? ResponseFormat.parse(getResponseFormat()).json() : null;
    SamplingDefaults defaults =
        new SamplingDefaults(
            getTemperature(),
            getTopK(),
            getTopP(),
            getMinP(),
            getRepetitionPenalty(),
            getMaxNewTokens(),
            List.of(getStopStrings()),
            getLogprobs(),
            format);
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
