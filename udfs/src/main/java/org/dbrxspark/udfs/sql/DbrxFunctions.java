package org.dbrxspark.udfs.sql;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.analysis.FunctionRegistry;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Literal;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.udfs.inference.Embedding;
import org.dbrxspark.udfs.inference.Generation;
import org.dbrxspark.udfs.inference.SamplingDefaults;
import org.dbrxspark.udfs.inference.Scoring;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.dbrxspark.udfs.registry.ModelSpec;
import scala.Function1;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Registers the DBRX SQL functions in a session:
 *
 * <ul>
 *   <li>{@code dbrx_generate(prompt [, params_json])} and {@code dbrx_chat(messages [,
 *       params_json])}: {@code struct<text, finish_reason, prompt_tokens, completion_tokens,
 *       logprobs, error, incomplete>}; {@code messages} is {@code array<struct<role, content>>}
 *   <li>{@code dbrx_score(text [, prefix])}: {@code struct<logprob_sum, token_count, perplexity,
 *       error>}
 *   <li>{@code dbrx_embed(text)}: {@code struct<embedding: array<float>, token_count, error>}
 *   <li>{@code dbrx_tokenize(text)}: {@code array<int>}; {@code dbrx_count_tokens(text)}: {@code
 *       int}; {@code dbrx_chat_template(messages)}: the rendered ChatML prompt
 * </ul>
 *
 * <p>They run one row per model call: simple, but slower than the batched ML transformers. Row
 * failures are data (the struct's {@code error}), as there, except that a literal {@code
 * params_json} is checked when the query is analysed and a bad one fails the query. {@code
 * params_json} may hold a {@code response_format} (see {@link SamplingDefaults}). A generation's seed is the {@code seed}
 * of its {@code params_json}, else a hash of the prompt and the global seed.
 *
 * <p>Each function is also a public class with a no-argument constructor (package {@code
 * org.dbrxspark.udfs.sql}) for {@code spark.udf.registerJavaFunction} in PySpark; those read their
 * {@link Options} from the Spark settings {@value #MODEL}, {@value #THREADS}, {@value
 * #MAX_BATCH_TOKENS}, {@value #MAX_SEQUENCES}, {@value #SEED}, {@value #DEFAULT_PARAMS} and
 * {@value #SYSTEM_PROMPT}, and take every argument (pass NULL for an unused optional one).
 */
public final class DbrxFunctions {
  private DbrxFunctions() {}

  public static final String MODEL = "spark.dbrx.model";
  public static final String THREADS = "spark.dbrx.threads";
  public static final String MAX_BATCH_TOKENS = "spark.dbrx.maxBatchTokens";
  public static final String MAX_SEQUENCES = "spark.dbrx.maxSequences";
  public static final String SEED = "spark.dbrx.seed";
  public static final String DEFAULT_PARAMS = "spark.dbrx.defaultParams";
  public static final String SYSTEM_PROMPT = "spark.dbrx.systemPrompt";

  /**
   * What the functions run with.
   *
   * @param model the checkpoint and its load options
   * @param seed the global seed
   * @param defaultParams JSON sampling parameters every generation starts from (see {@code
   *     params_json}), or null for the runtime's defaults (greedy, 128 new tokens)
   * @param systemPrompt the chat template's default system prompt: null for DBRX's own, empty for
   *     none
   */
  public record Options(ModelSpec model, long seed, String defaultParams, String systemPrompt)
      implements Serializable {

    /** The model at {@code location} with default load options, seed 0 and default sampling. */
    public static Options of(String location) {
      return new Options(ModelSpec.of(location), 0, null, null);
    }

    public Options withModel(ModelSpec value) {
      return new Options(value, seed, defaultParams, systemPrompt);
    }

    public Options withSeed(long value) {
      return new Options(model, value, defaultParams, systemPrompt);
    }

    public Options withDefaultParams(String json) {
      return new Options(model, seed, json, systemPrompt);
    }

    public Options withSystemPrompt(String value) {
      return new Options(model, seed, defaultParams, value);
    }

    /**
     * Options from Spark settings: in a task, the SQL settings of its query (which Spark passes to
     * tasks) and then the application's; elsewhere the active session's.
     */
    static Options fromSparkSettings() {
      Function<String, Optional<String>> setting = DbrxFunctions::setting;
      String location = setting.apply(MODEL).orElseThrow(() -> new IllegalStateException(
          "no model: set " + MODEL + " (or register the functions with DbrxFunctions.register)"));
      EngineOptions engine = EngineOptions.defaults();
      ModelSpec model = new ModelSpec(location,
          setting.apply(THREADS).map(Integer::parseInt).orElse(0),
          setting.apply(MAX_BATCH_TOKENS).map(Integer::parseInt).orElse(engine.maxBatchTokens()),
          setting.apply(MAX_SEQUENCES).map(Integer::parseInt).orElse(engine.maxSequences()));
      return new Options(model, setting.apply(SEED).map(Long::parseLong).orElse(0L),
          setting.apply(DEFAULT_PARAMS).orElse(null), setting.apply(SYSTEM_PROMPT).orElse(null));
    }
  }

  static Optional<String> setting(String key) {
    TaskContext task = TaskContext.get();
    if (task != null && task.getLocalProperty(key) != null) {
      return Optional.of(task.getLocalProperty(key));
    }
    if (task == null) {
      Optional<SparkSession> active = Optional.ofNullable(SparkSession.getActiveSession().getOrElse(() -> null));
      if (active.isPresent() && active.get().conf().contains(key)) {
        return Optional.of(active.get().conf().get(key));
      }
    }
    SparkEnv env = SparkEnv.get();
    return env != null && env.conf().contains(key) ? Optional.of(env.conf().get(key)) : Optional.empty();
  }

  /**
   * Registers every function in {@code spark} (replacing same-named temporary functions).
   *
   * @return the functions' metrics (label {@code sql}): rows, tokens, errors, model load time
   */
  public static DbrxMetrics register(SparkSession spark, Options options) {
    if (options.defaultParams() != null) {
      SamplingDefaults.runtimeDefaults().with(options.defaultParams()); // fails here, not in every row
    }
    DbrxMetrics metrics = DbrxMetrics.register(spark.sparkContext(), "sql");
    registerWithOptionalLast(spark, "dbrx_generate", new GenerateFunction(options, metrics), Generation.RESULT,
        DataTypes.StringType, DbrxFunctions::checkLiteralParams);
    registerWithOptionalLast(spark, "dbrx_chat", new ChatFunction(options, metrics), Generation.RESULT,
        DataTypes.StringType, DbrxFunctions::checkLiteralParams);
    registerWithOptionalLast(spark, "dbrx_score", new ScoreFunction(options, metrics), Scoring.RESULT,
        DataTypes.StringType, last -> {});
    spark.udf().register("dbrx_embed", new EmbedFunction(options, metrics), Embedding.RESULT);
    spark.udf().register("dbrx_tokenize", new TokenizeFunction(), TokenizeFunction.TYPE);
    spark.udf().register("dbrx_count_tokens", new CountTokensFunction(), DataTypes.IntegerType);
    spark.udf().register("dbrx_chat_template", new ChatTemplateFunction(options.systemPrompt()), DataTypes.StringType);
    return metrics;
  }

  /**
   * A {@code params_json} written as a literal is checked when the query is analysed: a bad one
   * (malformed, an unknown key, a response format that does not compile) fails the query once,
   * naming the fault, instead of every row. Params from a column are checked row by row.
   */
  private static void checkLiteralParams(Expression params) {
    if (params instanceof Literal literal && literal.value() != null) {
      SamplingDefaults.runtimeDefaults().with(literal.value().toString());
    }
  }

  /**
   * Registers a two-argument function whose second argument may be left out (it is then NULL of
   * type {@code lastType}): Java UDFs have a fixed arity, so the registered builder pads the call.
   * The builder also hands the second argument to {@code checkLast} at analysis.
   */
  private static void registerWithOptionalLast(SparkSession spark, String name, UDF2<?, ?, ?> udf,
      DataType returnType, DataType lastType, Consumer<Expression> checkLast) {
    spark.udf().register(name, udf, returnType);
    if (!(spark instanceof org.apache.spark.sql.classic.SparkSession classic)) {
      return; // Spark Connect: the function keeps its fixed arity of two.
    }
    FunctionRegistry registry = classic.sessionState().functionRegistry();
    Function1<Seq<Expression>, Expression> full = registry.lookupFunctionBuilder(FunctionIdentifier.apply(name)).get();
    Function1<Seq<Expression>, Expression> padded = children -> {
      if (children.size() == 2) {
        checkLast.accept(children.apply(1));
      }
      if (children.size() != 1) {
        return full.apply(children); // the full builder reports a wrong argument count
      }
      List<Expression> two = new ArrayList<>(CollectionConverters.asJava(children));
      two.add(Literal.create(null, lastType));
      return full.apply(CollectionConverters.asScala(two).toSeq());
    };
    registry.createOrReplaceTempFunction(name, padded, "scala_udf");
  }
}
