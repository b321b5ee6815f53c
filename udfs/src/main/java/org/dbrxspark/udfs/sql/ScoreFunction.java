package org.dbrxspark.udfs.sql;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.udfs.inference.Scoring;
import org.dbrxspark.udfs.metrics.DbrxMetrics;

/**
 * {@code dbrx_score(text, prefix)}: log-probability and perplexity of {@code text} after an
 * optional (null) {@code prefix}. See {@link DbrxFunctions}.
 */
public final class ScoreFunction extends ModelFunction<Scoring.Input>
    implements UDF2<String, String, Row> {
  private static final long serialVersionUID = 1L;
  private static final Scoring SCORING = new Scoring();

  /**
   * For {@code spark.udf.registerJavaFunction}: options come from the {@code spark.dbrx.*}
   * settings.
   */
  public ScoreFunction() {
    super(null, null);
  }

  ScoreFunction(DbrxFunctions.Options options, DbrxMetrics metrics) {
    super(options, metrics);
  }

  @Override
  public Row call(String text, String prefix) {
    return runOne(text, prefix);
  }

  @Override
  StructType resultType() {
    return Scoring.RESULT;
  }

  @Override
  String name() {
    return "dbrx_score";
  }

  @Override
  Scoring op() {
    return SCORING;
  }

  @Override
  Scoring.Input input(Object[] args) {
    return new Scoring.Input((String) args[0], (String) args[1]);
  }
}
