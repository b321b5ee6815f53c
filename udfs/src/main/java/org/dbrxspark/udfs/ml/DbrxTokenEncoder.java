package org.dbrxspark.udfs.ml;

import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.udfs.inference.Tokenization;
import org.dbrxspark.udfs.registry.ModelSpec;

/**
 * Appends {@code struct<ids: array<int>, count: int, error: string>}: the DBRX token ids of the
 * input text (special-token strings are encoded as plain text). Loads no model.
 */
public final class DbrxTokenEncoder extends DbrxTransformer<DbrxTokenEncoder> {
  private static final long serialVersionUID = 1L;

  public DbrxTokenEncoder() {
    this(Identifiable.randomUID("dbrxTokenEncoder"));
  }

  public DbrxTokenEncoder(String uid) {
    super(uid, "text", "tokens");
  }

  @Override
  protected ModelSpec modelSpec() {
    return null;
  }

  @Override
  protected void validateColumns(StructType schema) {
    SchemaChecks.require(schema, "inputCol", getInputCol(), SchemaChecks.STRING, "a string");
  }

  @Override
  protected Plan<?> plan(StructType schema) {
    int text = index(schema, getInputCol());
    return new Plan<>(new Tokenization(), row -> row.getString(text));
  }

  public static MLReader<DbrxTokenEncoder> read() {
    return new DefaultParamsReader<>();
  }

  public static DbrxTokenEncoder load(String path) {
    return read().load(path);
  }
}
