package org.dbrxspark.udfs.inference;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.FinishReason;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.GenerationResult;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.engine.TokenLogprob;
import org.dbrxspark.runtime.model.PrefixCacheCounts;
import org.dbrxspark.runtime.tokenizer.ChatMessage;
import org.dbrxspark.runtime.tokenizer.ChatTemplate;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Text generation from a prompt or a chat conversation through the runtime's continuous-batching
 * engine.
 *
 * <p>Each row's sampling starts from the defaults, then takes its {@code params_json} (SQL), then
 * its override columns (ML). Its seed is, in order of precedence: a seed column, a {@code seed} in
 * {@code params_json}, or {@link Seeds#forRow}(row id, global seed), where the row id is the id
 * column's value as a string or else the prompt itself (for chats: every message's role and
 * content). Identical prompts without an id column therefore get identical outputs. With {@code n >
 * 1}, sample i draws with {@link SamplingParams#sampleSeed}(i) of that seed, and sample 0 is the
 * row's output with {@code n = 1}.
 */
public final class Generation
    extends InferenceOp<Generation.Input, GenerationRequest, GenerationResult> {
  private static final long serialVersionUID = 1L;

  /** One alternative at a generated position: {@code struct<token_id, token, logprob>}. */
  public static final StructType TOP_LOGPROB =
      new StructType()
          .add("token_id", DataTypes.IntegerType)
          .add("token", DataTypes.StringType)
          .add("logprob", DataTypes.FloatType);

  // Nullable elements inside arrays throughout: Delta refuses NOT NULL constraints nested in
  // arrays.
  private static final ArrayType TOP_LOGPROBS =
      DataTypes.createArrayType(DataTypes.createArrayType(TOP_LOGPROB));

  /**
   * One of a row's {@code n} completions: {@code struct<text, finish_reason, completion_tokens,
   * logprobs, top_logprobs, incomplete>}.
   */
  public static final StructType SAMPLE =
      new StructType()
          .add("text", DataTypes.StringType)
          .add("finish_reason", DataTypes.StringType)
          .add("completion_tokens", DataTypes.IntegerType)
          .add("logprobs", DataTypes.createArrayType(DataTypes.FloatType))
          .add("top_logprobs", TOP_LOGPROBS)
          .add("incomplete", DataTypes.BooleanType);

  /**
   * {@code struct<text, finish_reason, prompt_tokens, completion_tokens, logprobs, error,
   * incomplete, top_logprobs, samples>}; {@code incomplete} is true for a text cut off by {@code
   * max_new_tokens} (finish reason {@code length}) and, under a response format, for any text that
   * does not match it. With {@code n > 1}, {@code samples} holds all n completions ({@link
   * #SAMPLE}, in sample order) and the other fields are sample 0's; with {@code n = 1} it is null.
   * {@code top_logprobs} has, per generated token, the {@code top_logprobs} most likely tokens.
   */
  public static final StructType RESULT =
      new StructType()
          .add("text", DataTypes.StringType)
          .add("finish_reason", DataTypes.StringType)
          .add("prompt_tokens", DataTypes.IntegerType)
          .add("completion_tokens", DataTypes.IntegerType)
          .add("logprobs", DataTypes.createArrayType(DataTypes.FloatType, false))
          .add("error", DataTypes.StringType)
          .add("incomplete", DataTypes.BooleanType)
          .add("top_logprobs", TOP_LOGPROBS)
          .add("samples", DataTypes.createArrayType(SAMPLE));

  /**
   * One row to generate for: exactly one of {@code prompt} and {@code messages} is used (messages
   * win when both are non-null); every other field may be null.
   */
  public record Input(
      String prompt,
      List<ChatMessage> messages,
      String rowId,
      String paramsJson,
      Integer maxNewTokens,
      Double temperature,
      Long seed) {}

  private final SamplingDefaults defaults;
  private final long globalSeed;
  private final String systemPrompt;
  private transient ChatTemplate template;
  private transient SamplingDefaults.Parsed parsedDefaults;

  /**
   * @param systemPrompt the chat template's default system prompt; null for DBRX's own, empty for
   *     none
   */
  public Generation(SamplingDefaults defaults, long globalSeed, String systemPrompt) {
    this.defaults = defaults;
    this.globalSeed = globalSeed;
    this.systemPrompt = systemPrompt;
  }

  /**
   * A conversation from {@code struct<role, content>} rows.
   *
   * @throws IllegalArgumentException for a null message, role or content
   */
  public static List<ChatMessage> messages(List<Row> structs, int role, int content) {
    List<ChatMessage> out = new ArrayList<>(structs.size());
    for (int i = 0; i < structs.size(); i++) {
      Row m = structs.get(i);
      if (m == null || m.isNullAt(role) || m.isNullAt(content)) {
        throw new IllegalArgumentException(
            "chat message " + i + " is null or has a null role or content");
      }
      out.add(new ChatMessage(m.getString(role), m.getString(content)));
    }
    return out;
  }

  @Override
  public String name() {
    return "generate";
  }

  @Override
  public StructType resultType() {
    return RESULT;
  }

  /** The chat template this generator renders conversations with. */
  public ChatTemplate template() {
    if (template == null) {
      template = template(systemPrompt);
    }
    return template;
  }

  /** The DBRX template with this default system prompt: null for DBRX's own, empty for none. */
  public static ChatTemplate template(String systemPrompt) {
    return systemPrompt == null
        ? ChatTemplate.dbrx()
        : systemPrompt.isEmpty()
            ? ChatTemplate.dbrx().withoutDefaultSystemPrompt()
            : ChatTemplate.dbrx().withSystemPrompt(systemPrompt);
  }

  @Override
  protected Prepared<GenerationRequest> encode(Input in) {
    if (in.messages() == null && in.prompt() == null) {
      return Prepared.failed("the prompt is null", 0);
    }
    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    String rowId = in.rowId();
    int[] ids;
    if (in.messages() != null) {
      ids = template().encode(tokenizer, in.messages(), true);
      if (rowId == null) {
        rowId =
            in.messages().stream()
                .map(m -> m.role() + "\u0000" + m.content())
                .collect(Collectors.joining("\u0000"));
      }
    } else {
      ids = tokenizer.encode(in.prompt());
      if (rowId == null) {
        rowId = in.prompt();
      }
    }
    try {
      if (parsedDefaults == null) {
        parsedDefaults = defaults.parse(); // once per task, not per row
      }
      SamplingParams.Builder params = parsedDefaults.builder(Seeds.forRow(rowId, globalSeed));
      if (in.paramsJson() != null) {
        SamplingDefaults.apply(in.paramsJson(), params);
      }
      if (in.maxNewTokens() != null) {
        params.maxNewTokens(in.maxNewTokens());
      }
      if (in.temperature() != null) {
        params.temperature(in.temperature());
      }
      if (in.seed() != null) {
        params.seed(in.seed());
      }
      return Prepared.ok(new GenerationRequest(ids, params.build()), ids.length);
    } catch (IllegalArgumentException e) {
      return Prepared.failed(message(e), ids.length);
    }
  }

  @Override
  protected List<GenerationResult> execute(
      DbrxRuntime runtime, List<GenerationRequest> requests, BatchCounts counts) {
    PrefixCacheCounts prefix = new PrefixCacheCounts();
    List<GenerationResult> results =
        runtime.engine().generate(requests, (index, delta) -> {}, prefix);
    counts.prefixCacheHitBlocks += prefix.hitBlocks();
    counts.prefixCacheMissBlocks += prefix.missBlocks();
    counts.prefixCacheEvictedBlocks += prefix.evictedBlocks();
    return results;
  }

  @Override
  protected Row resultRow(GenerationResult r, BatchCounts counts) {
    if (r.error() != null) {
      return errorRow(r.error(), r.promptTokens());
    }
    counts.generatedTokens += r.allCompletionTokens();
    List<Row> samples = r.samples().isEmpty() ? null : new ArrayList<>();
    for (GenerationResult s : r.samples()) {
      samples.add(
          RowFactory.create(
              s.text(),
              s.finishReason().label(),
              s.completionTokens(),
              s.logprobs(),
              topLogprobs(s),
              s.incomplete()));
    }
    return RowFactory.create(
        r.text(),
        r.finishReason().label(),
        r.promptTokens(),
        r.completionTokens(),
        r.logprobs(),
        null,
        r.incomplete(),
        topLogprobs(r),
        samples == null ? null : seq(samples));
  }

  /** Catalyst's row serializer takes arrays of structs as Scala sequences. */
  private static <T> Seq<T> seq(List<T> list) {
    return CollectionConverters.asScala(list).toList();
  }

  private static Seq<Seq<Row>> topLogprobs(GenerationResult r) {
    if (r.topLogprobs() == null) {
      return null;
    }
    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    List<Seq<Row>> out = new ArrayList<>(r.topLogprobs().length);
    for (TokenLogprob[] position : r.topLogprobs()) {
      List<Row> alternatives = new ArrayList<>(position.length);
      for (TokenLogprob t : position) {
        alternatives.add(RowFactory.create(t.token(), tokenizer.tokenText(t.token()), t.logprob()));
      }
      out.add(seq(alternatives));
    }
    return seq(out);
  }

  @Override
  protected Row errorRow(String error, int tokens) {
    return RowFactory.create(
        null,
        FinishReason.ERROR.label(),
        tokens == 0 ? null : tokens,
        null,
        null,
        error,
        null,
        null,
        null);
  }
}
