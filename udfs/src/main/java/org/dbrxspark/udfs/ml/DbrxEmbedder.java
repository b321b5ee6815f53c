package org.dbrxspark.udfs.ml;

import java.util.Locale;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.engine.Pooling;
import org.dbrxspark.udfs.inference.Embedding;

/**
 * Appends {@code struct<embedding: array<float>, token_count: int, error: string>}: the
 * L2-normalised pooled final hidden state of the input text (size d_model).
 */
public final class DbrxEmbedder extends DbrxModelTransformer<DbrxEmbedder> {
  private static final long serialVersionUID = 1L;

  private final Param<String> pooling;

  public DbrxEmbedder() {
    this(Identifiable.randomUID("dbrxEmbedder"));
  }

  public DbrxEmbedder(String uid) {
    super(uid, "text", "embedding");
    pooling =
        new Param<>(
            this,
            "pooling",
            "how token states become one vector: mean or last",
            ParamValidators.inArray(new String[] {"mean", "last"}));
    setDefault(pooling, "mean");
  }

  public Param<String> pooling() {
    return pooling;
  }

  public String getPooling() {
    return $(pooling);
  }

  /** {@code mean} (default) over all tokens, or the {@code last} token's state. */
  public DbrxEmbedder setPooling(String value) {
    set(pooling, value);
    return this;
  }

  @Override
  protected void validateColumns(StructType schema) {
    SchemaChecks.require(schema, "inputCol", getInputCol(), SchemaChecks.STRING, "a string");
  }

  @Override
  protected Plan<?> plan(StructType schema) {
    int text = index(schema, getInputCol());
    Pooling mode = Pooling.valueOf(getPooling().toUpperCase(Locale.ROOT));
    return new Plan<>(new Embedding(mode), row -> row.getString(text));
  }

  public static MLReader<DbrxEmbedder> read() {
    return new DefaultParamsReader<>();
  }

  public static DbrxEmbedder load(String path) {
    return read().load(path);
  }
}
