package org.dbrxspark.udfs.sql;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.ExperimentalMethods;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.catalyst.analysis.FunctionRegistry;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Literal;
import org.apache.spark.sql.catalyst.expressions.ScalaUDF;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.rules.Rule;
import org.apache.spark.sql.errors.QueryCompilationErrors;
import org.apache.spark.sql.execution.SparkStrategy;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.udfs.device.DevicePolicy;
import org.dbrxspark.udfs.inference.Embedding;
import org.dbrxspark.udfs.inference.Generation;
import org.dbrxspark.udfs.inference.SamplingDefaults;
import org.dbrxspark.udfs.inference.Scoring;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.dbrxspark.udfs.registry.ModelSpec;
import scala.Function1;
import scala.Option;
import scala.collection.immutable.Seq;

/**
 * Registers the DBRX SQL functions in a session:
 *
 * <ul>
 *   <li>{@code dbrx_generate(prompt [, params_json])} and {@code dbrx_chat(messages [,
 *       params_json])}: {@link Generation#RESULT}; {@code messages} is {@code array<struct<role,
 *       content>>}
 *   <li>{@code dbrx_score(text [, prefix])}: {@code struct<logprob_sum, token_count, perplexity,
 *       error>}
 *   <li>{@code dbrx_embed(text)}: {@code struct<embedding: array<float>, token_count, error>}
 *   <li>{@code dbrx_tokenize(text)}: {@code array<int>}; {@code dbrx_count_tokens(text)}: {@code
 *       int}; {@code dbrx_chat_template(messages)}: the rendered ChatML prompt
 * </ul>
 *
 * <p>The four model-backed functions run batched, as the ML transformers do: the optimizer rule
 * {@link ExtractDbrxCalls} moves each call out of its Project or Filter into a {@link
 * BatchEvalDbrx} node, planned as {@link BatchEvalDbrxExec}, which runs a partition's rows through
 * the runtime a chunk at a time with the transformers' own {@code PartitionRunner}. Row failures
 * are data (the struct's {@code error}), as there, except that a literal {@code params_json} is
 * checked when the query is analysed and a bad one fails the query. {@code params_json} takes the
 * keys of {@link SamplingDefaults#KEYS} (the table is in docs/spark.md). A generation's seed is the
 * {@code seed} of its {@code params_json}, else a hash of the prompt and the global seed, so
 * results do not depend on partitioning or batching.
 *
 * <p>Two ways in: {@link #register} on a session, or {@link DbrxExtensions} through {@code
 * spark.sql.extensions}, whose functions read their {@link Options} from the Spark settings {@value
 * #MODEL}, {@value #THREADS}, {@value #MAX_BATCH_TOKENS}, {@value #MAX_SEQUENCES}, {@value
 * #MAX_SEQ_LEN}, {@value #KV_DTYPE}, {@value #KV_CACHE_TOKENS}, {@value #PREFIX_CACHING}, {@value
 * #DEVICE}, {@value #DEVICE_FALLBACK}, {@value #SEED}, {@value #DEFAULT_PARAMS} and {@value
 * #SYSTEM_PROMPT}. Each function is also a public class with a no-argument constructor for {@code
 * spark.udf.registerJavaFunction} in PySpark, reading the same settings; registered that way it
 * runs one row per model call and takes every argument (pass NULL for an unused optional one).
 */
public final class DbrxFunctions {
  private DbrxFunctions() {}

  public static final String MODEL = "spark.dbrx.model";
  public static final String THREADS = "spark.dbrx.threads";
  public static final String MAX_BATCH_TOKENS = "spark.dbrx.maxBatchTokens";
  public static final String MAX_SEQUENCES = "spark.dbrx.maxSequences";
  public static final String MAX_SEQ_LEN = "spark.dbrx.maxSeqLen";
  public static final String KV_DTYPE = "spark.dbrx.kvDtype";
  public static final String KV_CACHE_TOKENS = "spark.dbrx.kvCacheTokens";
  public static final String PREFIX_CACHING = "spark.dbrx.prefixCaching";
  public static final String DEVICE = "spark.dbrx.device";
  public static final String DEVICE_FALLBACK = "spark.dbrx.device.fallback";
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

    /**
     * These options with the executors' prefix caching on or off (see {@link
     * ModelSpec#prefixCaching()}).
     */
    public Options withPrefixCaching(boolean value) {
      return withModel(model.withPrefixCaching(value));
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
      String location =
          setting(MODEL)
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          "no model: set "
                              + MODEL
                              + " (or register the functions with DbrxFunctions.register)"));
      EngineOptions engine = EngineOptions.defaults();
      ModelSpec model;
      try {
        model =
            new ModelSpec(
                location,
                integer(THREADS).orElse(0),
                new EngineOptions(
                    integer(MAX_BATCH_TOKENS).orElse(engine.maxBatchTokens()),
                    integer(MAX_SEQUENCES).orElse(engine.maxSequences()),
                    integer(MAX_SEQ_LEN).orElse(engine.maxSeqLen()),
                    setting(KV_DTYPE).map(DbrxFunctions::kvDtype).orElse(engine.kvDtype()),
                    wholeNumber(KV_CACHE_TOKENS, Long.MIN_VALUE, Long.MAX_VALUE)
                        .orElse(engine.kvCacheTokens()),
                    setting(PREFIX_CACHING)
                        .map(DbrxFunctions::prefixCaching)
                        .orElse(engine.prefixCaching())));
        model = model.withDevice(devicePolicy());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "invalid spark.dbrx.* model settings: " + e.getMessage(), e);
      }
      return new Options(
          model,
          wholeNumber(SEED, Long.MIN_VALUE, Long.MAX_VALUE).orElse(0L),
          setting(DEFAULT_PARAMS).orElse(null),
          setting(SYSTEM_PROMPT).orElse(null));
    }
  }

  private static Optional<Integer> integer(String key) {
    return wholeNumber(key, Integer.MIN_VALUE, Integer.MAX_VALUE).map(Math::toIntExact);
  }

  /** {@value #DEVICE} and {@value #DEVICE_FALLBACK}, refused naming the setting at fault. */
  private static DevicePolicy devicePolicy() {
    String device = setting(DEVICE).orElse(null);
    String fallback = setting(DEVICE_FALLBACK).orElse(null);
    try {
      DevicePolicy.parse(device, null);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(DEVICE + ": " + e.getMessage(), e);
    }
    try {
      return DevicePolicy.parse(device, fallback);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(DEVICE_FALLBACK + ": " + e.getMessage(), e);
    }
  }

  private static KvDType kvDtype(String value) {
    try {
      return KvDType.parse(value.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(KV_DTYPE + ": " + e.getMessage(), e);
    }
  }

  /**
   * The setting {@code key} as a whole number from {@code min} to {@code max}, or an error naming
   * the setting, its value and what it must be.
   */
  private static Optional<Long> wholeNumber(String key, long min, long max) {
    return setting(key)
        .map(
            value -> {
              try {
                long n = Long.parseLong(value.trim());
                if (n >= min && n <= max) {
                  return n;
                }
              } catch (NumberFormatException e) {
                // Refused below, as a number out of range is.
              }
              throw new IllegalArgumentException(
                  key
                      + " must be a whole number from "
                      + min
                      + " to "
                      + max
                      + ", got '"
                      + value
                      + "'");
            });
  }

  /**
   * {@code true} or {@code false}, refusing anything else (Boolean.parseBoolean reads a typo as
   * false).
   */
  private static boolean prefixCaching(String value) {
    String v = value.trim();
    if (!v.equalsIgnoreCase("true") && !v.equalsIgnoreCase("false")) {
      throw new IllegalArgumentException(
          PREFIX_CACHING + " must be true or false, got '" + value + "'");
    }
    return Boolean.parseBoolean(v);
  }

  static Optional<String> setting(String key) {
    TaskContext task = TaskContext.get();
    if (task != null && task.getLocalProperty(key) != null) {
      return Optional.of(task.getLocalProperty(key));
    }
    if (task == null) {
      Optional<SparkSession> active =
          Optional.ofNullable(SparkSession.getActiveSession().getOrElse(() -> null));
      if (active.isPresent() && active.get().conf().contains(key)) {
        return Optional.of(active.get().conf().get(key));
      }
    }
    SparkEnv env = SparkEnv.get();
    return env != null && env.conf().contains(key)
        ? Optional.of(env.conf().get(key))
        : Optional.empty();
  }

  /**
   * Registers every function in {@code spark} (replacing same-named temporary functions) and
   * installs the batched planning of the model-backed ones ({@link DbrxExtensions} does the same
   * through {@code spark.sql.extensions}).
   *
   * @return the functions' metrics (label {@code sql}): rows, batches, tokens, errors, model load
   *     time
   */
  public static DbrxMetrics register(SparkSession spark, Options options) {
    if (options.defaultParams() != null) {
      SamplingDefaults.runtimeDefaults()
          .with(options.defaultParams()); // fails here, not in every row
    }
    DbrxMetrics metrics = DbrxMetrics.register(spark.sparkContext(), "sql");
    if (!(spark instanceof org.apache.spark.sql.classic.SparkSession classic)) {
      // Spark Connect plans on its server (see DbrxExtensions): here, row-at-a-time UDFs of fixed
      // arity.
      spark
          .udf()
          .register("dbrx_generate", new GenerateFunction(options, metrics), Generation.RESULT);
      spark.udf().register("dbrx_chat", new ChatFunction(options, metrics), Generation.RESULT);
      spark.udf().register("dbrx_score", new ScoreFunction(options, metrics), Scoring.RESULT);
      spark.udf().register("dbrx_embed", new EmbedFunction(options, metrics), Embedding.RESULT);
      spark.udf().register("dbrx_tokenize", new TokenizeFunction(), TokenizeFunction.TYPE);
      spark.udf().register("dbrx_count_tokens", new CountTokensFunction(), DataTypes.IntegerType);
      spark
          .udf()
          .register(
              "dbrx_chat_template",
              new ChatTemplateFunction(options.systemPrompt()),
              DataTypes.StringType);
      return metrics;
    }
    FunctionRegistry registry = classic.sessionState().functionRegistry();
    builders(options, metrics)
        .forEach(
            (name, builder) -> registry.createOrReplaceTempFunction(name, builder, "java_udf"));
    ExperimentalMethods experimental = classic.experimental();
    if (!experimental.extraOptimizations().contains(DbrxExtensions.RULE)) {
      // Runs in the optimizer's last batch ("User Provided Optimizers"), after filter push-down.
      experimental.extraOptimizations_$eq(
          Seqs.<Rule<LogicalPlan>>plus(experimental.extraOptimizations(), DbrxExtensions.RULE));
      experimental.extraStrategies_$eq(
          Seqs.<SparkStrategy>plus(experimental.extraStrategies(), DbrxExtensions.PLANNER));
    }
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
   * The builders of every function by name: what the function registry calls with a call's
   * arguments. The model-backed functions build a {@link DbrxCall}; the others a scalar UDF.
   *
   * @param options null for the options of the {@code spark.dbrx.*} settings, read on first use
   * @param metrics null for none
   */
  static Map<String, Function1<Seq<Expression>, Expression>> builders(
      Options options, DbrxMetrics metrics) {
    Map<String, Function1<Seq<Expression>, Expression>> builders = new LinkedHashMap<>();
    for (ModelFunction<?> function :
        List.<ModelFunction<?>>of(
            new GenerateFunction(options, metrics),
            new ChatFunction(options, metrics),
            new ScoreFunction(options, metrics),
            new EmbedFunction(options, metrics))) {
      int arity =
          function instanceof EmbedFunction ? 1 : 2; // the others take an optional second argument
      builders.put(
          function.name(),
          args -> {
            checkArgumentCount(function.name(), args, arity);
            List<Expression> all = Seqs.asJava(args);
            if (all.size() == 2
                && (function instanceof GenerateFunction || function instanceof ChatFunction)) {
              checkLiteralParams(all.get(1));
            }
            if (all.size() < arity) {
              all.add(Literal.create(null, DataTypes.StringType)); // the optional last argument
            }
            return new DbrxCall(function, Seqs.of(all));
          });
    }
    TokenizeFunction tokenize = new TokenizeFunction();
    CountTokensFunction count = new CountTokensFunction();
    ChatTemplateFunction template =
        options == null
            ? new ChatTemplateFunction()
            : new ChatTemplateFunction(options.systemPrompt());
    builders.put(
        "dbrx_tokenize", args -> scalar("dbrx_tokenize", tokenize, TokenizeFunction.TYPE, args));
    builders.put(
        "dbrx_count_tokens",
        args -> scalar("dbrx_count_tokens", count, DataTypes.IntegerType, args));
    builders.put(
        "dbrx_chat_template",
        args -> scalar("dbrx_chat_template", template, DataTypes.StringType, args));
    return builders;
  }

  /** A one-argument scalar UDF, as {@code spark.udf().register} builds it for a Java UDF1. */
  @SuppressWarnings("unchecked")
  private static Expression scalar(
      String name, UDF1<?, ?> udf, DataType type, Seq<Expression> args) {
    checkArgumentCount(name, args, 1);
    UDF1<Object, Object> call = (UDF1<Object, Object>) udf;
    Function1<Object, Object> function =
        (Function1<Object, Object> & Serializable)
            a -> {
              try {
                return call.call(a);
              } catch (RuntimeException e) {
                throw e;
              } catch (Exception e) { // UDF1 declares it; these functions throw none
                throw new IllegalStateException(e);
              }
            };
    return scalaUdf(name, function, type, args);
  }

  /**
   * A ScalaUDF of a Scala function of as many arguments as {@code args}, converting Spark's way.
   */
  static Expression scalaUdf(String name, Object function, DataType type, Seq<Expression> args) {
    return new ScalaUDF(
        function,
        type,
        args,
        ScalaUDF.apply$default$4(),
        ScalaUDF.apply$default$5(),
        Option.apply(name),
        true,
        true);
  }

  /**
   * Spark's WRONG_NUM_ARGS error unless there are {@code max} arguments, or one less for an
   * optional last.
   */
  private static void checkArgumentCount(String name, Seq<Expression> args, int max) {
    int n = args.size();
    if (n == max || (n == 1 && max == 2)) {
      return;
    }
    List<Object> valid = max == 2 ? List.of(1, 2) : List.of(1);
    throw DbrxFunctions.<RuntimeException>sneakyThrow(
        QueryCompilationErrors.wrongNumArgsError(
            name,
            Seqs.of(valid),
            n,
            QueryCompilationErrors.wrongNumArgsError$default$4(),
            QueryCompilationErrors.wrongNumArgsError$default$5(),
            QueryCompilationErrors.wrongNumArgsError$default$6()));
  }

  /** Rethrows Spark's checked AnalysisException from a builder, which cannot declare it. */
  @SuppressWarnings("unchecked")
  private static <T extends Throwable> RuntimeException sneakyThrow(Throwable t) throws T {
    throw (T) t;
  }
}
