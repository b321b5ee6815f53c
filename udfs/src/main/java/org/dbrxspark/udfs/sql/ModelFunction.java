package org.dbrxspark.udfs.sql;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.udfs.device.DeviceSelection;
import org.dbrxspark.udfs.inference.BatchCounts;
import org.dbrxspark.udfs.inference.Generation;
import org.dbrxspark.udfs.inference.InferenceOp;
import org.dbrxspark.udfs.inference.Prepared;
import org.dbrxspark.udfs.inference.SamplingDefaults;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.dbrxspark.udfs.registry.LoadedModel;
import org.dbrxspark.udfs.registry.ModelRegistry;

/**
 * What a model-backed SQL function is: its options, its inference op and how its SQL arguments
 * become the op's input. {@link DbrxCall} plans it batched; as a Java UDF (PySpark's {@code
 * registerJavaFunction}) it runs one row per call.
 *
 * @param <I> the op's input of one row
 */
abstract class ModelFunction<I> implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Null for the no-argument (PySpark) form, which reads the Spark settings on first use. */
  private final DbrxFunctions.Options given;

  /** Null for the no-argument form: accumulators can only be registered on the driver. */
  private final DbrxMetrics metrics;

  private transient DbrxFunctions.Options options;
  private transient Generation generation;

  ModelFunction(DbrxFunctions.Options given, DbrxMetrics metrics) {
    this.given = given;
    this.metrics = metrics;
  }

  /** The SQL name, e.g. {@code dbrx_generate}. */
  abstract String name();

  /** The result struct (known without the options, which a no-argument form reads late). */
  abstract StructType resultType();

  /** The op this function runs. */
  abstract InferenceOp<I, ?, ?> op();

  /**
   * The op's input of one row's arguments, as Spark passes them to Java UDFs ({@code String},
   * {@code scala.collection.Seq<Row>}); may throw, which becomes the row's error.
   */
  abstract I input(Object[] args);

  final DbrxFunctions.Options options() {
    if (options == null) {
      options = given != null ? given : DbrxFunctions.Options.fromSparkSettings();
    }
    return options;
  }

  /** The accumulators of {@link DbrxFunctions#register}, or null for the no-argument form. */
  final DbrxMetrics metrics() {
    return metrics;
  }

  /** The generation op of these options (shared by dbrx_generate and dbrx_chat). */
  final Generation generation() {
    if (generation == null) {
      DbrxFunctions.Options o = options();
      SamplingDefaults defaults =
          o.defaultParams() == null
              ? SamplingDefaults.runtimeDefaults()
              : SamplingDefaults.runtimeDefaults().with(o.defaultParams());
      generation = new Generation(defaults, o.seed(), o.systemPrompt());
    }
    return generation;
  }

  /**
   * Runs one row. An input that cannot be read, encoded or run becomes the result's error; a model
   * that cannot be loaded fails the task.
   */
  final Row runOne(Object... args) {
    return runWith(op(), args);
  }

  private <R, O> Row runWith(InferenceOp<I, R, O> op, Object[] args) {
    Prepared<R> prepared;
    try {
      prepared = op.prepare(input(args));
    } catch (RuntimeException e) {
      prepared = new Prepared<>(null, 0, e.getMessage() == null ? e.toString() : e.getMessage());
    }
    BatchCounts counts = new BatchCounts();
    List<Row> result;
    if (prepared.error() != null) {
      result = op.run(null, List.of(prepared), counts);
    } else {
      try (LoadedModel model =
          ModelRegistry.acquire(options().model(), DeviceSelection.forCurrentTask())) {
        if (metrics != null) {
          metrics.recordModelLoad(model.loadMillis());
        }
        result = op.run(model.runtime(), List.of(prepared), counts);
      }
    }
    if (metrics != null) {
      metrics.recordRows(counts);
    }
    return result.get(0);
  }

  /** Same function and options: two calls with equal arguments are one computation. */
  @Override
  public boolean equals(Object o) {
    return o != null
        && o.getClass() == getClass()
        && Objects.equals(given, ((ModelFunction<?>) o).given)
        && metrics == ((ModelFunction<?>) o).metrics;
  }

  @Override
  public int hashCode() {
    return Objects.hash(getClass(), given);
  }
}
