package org.dbrxspark.udfs.sql;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.engine.Pooling;
import org.dbrxspark.udfs.inference.Embedding;
import org.dbrxspark.udfs.metrics.DbrxMetrics;

/** {@code dbrx_embed(text)}: the L2-normalised mean-pooled embedding. See {@link DbrxFunctions}. */
public final class EmbedFunction extends ModelFunction<String> implements UDF1<String, Row> {
  private static final long serialVersionUID = 1L;
  private static final Embedding EMBEDDING = new Embedding(Pooling.MEAN);

  /**
   * For {@code spark.udf.registerJavaFunction}: options come from the {@code spark.dbrx.*}
   * settings.
   */
  public EmbedFunction() {
    super(null, null);
  }

  EmbedFunction(DbrxFunctions.Options options, DbrxMetrics metrics) {
    super(options, metrics);
  }

  @Override
  public Row call(String text) {
    return runOne(text);
  }

  @Override
  StructType resultType() {
    return Embedding.RESULT;
  }

  @Override
  String name() {
    return "dbrx_embed";
  }

  @Override
  Embedding op() {
    return EMBEDDING;
  }

  @Override
  String input(Object[] args) {
    return (String) args[0];
  }
}
