package org.dbrxspark.udfs.sql;

import java.io.Serializable;
import java.util.List;
import java.util.function.Supplier;
import org.apache.spark.sql.Row;
import org.dbrxspark.udfs.device.DeviceSelection;
import org.dbrxspark.udfs.inference.BatchCounts;
import org.dbrxspark.udfs.inference.Generation;
import org.dbrxspark.udfs.inference.InferenceOp;
import org.dbrxspark.udfs.inference.Prepared;
import org.dbrxspark.udfs.inference.SamplingDefaults;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.dbrxspark.udfs.registry.LoadedModel;
import org.dbrxspark.udfs.registry.ModelRegistry;

/** The shared part of the model-backed SQL functions: options, the model lease, one-row runs. */
abstract class ModelFunction implements Serializable {
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

  final DbrxFunctions.Options options() {
    if (options == null) {
      options = given != null ? given : DbrxFunctions.Options.fromSparkSettings();
    }
    return options;
  }

  /** The generation op of these options (shared by dbrx_generate and dbrx_chat). */
  final Generation generation() {
    if (generation == null) {
      DbrxFunctions.Options o = options();
      SamplingDefaults defaults = o.defaultParams() == null ? SamplingDefaults.runtimeDefaults()
          : SamplingDefaults.runtimeDefaults().with(o.defaultParams());
      generation = new Generation(defaults, o.seed(), o.systemPrompt());
    }
    return generation;
  }

  /**
   * Runs one row. An input that cannot be read, encoded or run becomes the result's error; a model
   * that cannot be loaded fails the task.
   */
  final <I, R, O> Row runOne(InferenceOp<I, R, O> op, Supplier<I> input) {
    Prepared<R> prepared;
    try {
      prepared = op.prepare(input.get());
    } catch (RuntimeException e) {
      prepared = new Prepared<>(null, 0, e.getMessage() == null ? e.toString() : e.getMessage());
    }
    BatchCounts counts = new BatchCounts();
    List<Row> result;
    if (prepared.error() != null) {
      result = op.run(null, List.of(prepared), counts);
    } else {
      try (LoadedModel model = ModelRegistry.acquire(options().model(), DeviceSelection.forCurrentTask())) {
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
}
