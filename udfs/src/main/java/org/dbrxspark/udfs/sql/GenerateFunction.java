package org.dbrxspark.udfs.sql;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.udfs.inference.Generation;
import org.dbrxspark.udfs.metrics.DbrxMetrics;

/**
 * {@code dbrx_generate(prompt, params_json)}: generation from a prompt; {@code params_json} may be
 * null. See {@link DbrxFunctions}.
 */
public final class GenerateFunction extends ModelFunction<Generation.Input>
    implements UDF2<String, String, Row> {
  private static final long serialVersionUID = 1L;

  /**
   * For {@code spark.udf.registerJavaFunction}: options come from the {@code spark.dbrx.*}
   * settings.
   */
  public GenerateFunction() {
    super(null, null);
  }

  GenerateFunction(DbrxFunctions.Options options, DbrxMetrics metrics) {
    super(options, metrics);
  }

  @Override
  public Row call(String prompt, String paramsJson) {
    return runOne(prompt, paramsJson);
  }

  @Override
  StructType resultType() {
    return Generation.RESULT;
  }

  @Override
  String name() {
    return "dbrx_generate";
  }

  @Override
  Generation op() {
    return generation();
  }

  @Override
  Generation.Input input(Object[] args) {
    return new Generation.Input((String) args[0], null, null, (String) args[1], null, null, null);
  }
}
