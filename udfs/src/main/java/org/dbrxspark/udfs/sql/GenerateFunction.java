package org.dbrxspark.udfs.sql;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF2;
import org.dbrxspark.udfs.inference.Generation;
import org.dbrxspark.udfs.metrics.DbrxMetrics;

/**
 * {@code dbrx_generate(prompt, params_json)}: generation from a prompt; {@code params_json} may be
 * null. See {@link DbrxFunctions}.
 */
public final class GenerateFunction extends ModelFunction implements UDF2<String, String, Row> {
  private static final long serialVersionUID = 1L;

  /** For {@code spark.udf.registerJavaFunction}: options come from the {@code spark.dbrx.*} settings. */
  public GenerateFunction() {
    super(null, null);
  }

  GenerateFunction(DbrxFunctions.Options options, DbrxMetrics metrics) {
    super(options, metrics);
  }

  @Override
  public Row call(String prompt, String paramsJson) {
    return runOne(generation(), () -> new Generation.Input(prompt, null, null, paramsJson, null, null, null));
  }
}
