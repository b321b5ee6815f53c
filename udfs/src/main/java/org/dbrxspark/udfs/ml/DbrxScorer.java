package org.dbrxspark.udfs.ml;

import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.udfs.inference.Scoring;

/**
 * Appends {@code struct<logprob_sum: double, token_count: int, perplexity: double, error: string>}:
 * how likely the model finds the input text, optionally conditioned on a prefix column (whose
 * tokens are not scored). Without a prefix the text's first token is not scored: DBRX has no BOS
 * token to condition it on.
 */
public final class DbrxScorer extends DbrxModelTransformer<DbrxScorer> {
  private static final long serialVersionUID = 1L;

  private final Param<String> prefixCol;

  public DbrxScorer() {
    this(Identifiable.randomUID("dbrxScorer"));
  }

  public DbrxScorer(String uid) {
    super(uid, "text", "score");
    prefixCol = new Param<>(this, "prefixCol", "optional string column the text is conditioned on");
  }

  public Param<String> prefixCol() {
    return prefixCol;
  }

  public String getPrefixCol() {
    return $(prefixCol);
  }

  /**
   * A string column the text is conditioned on (not set by default); null values mean no prefix.
   */
  public DbrxScorer setPrefixCol(String value) {
    set(prefixCol, value);
    return this;
  }

  @Override
  protected void validateColumns(StructType schema) {
    SchemaChecks.require(schema, "inputCol", getInputCol(), SchemaChecks.STRING, "a string");
    if (isDefined(prefixCol)) {
      SchemaChecks.require(schema, "prefixCol", getPrefixCol(), SchemaChecks.STRING, "a string");
    }
  }

  @Override
  protected Plan<?> plan(StructType schema) {
    int text = index(schema, getInputCol());
    int prefix = isDefined(prefixCol) ? index(schema, getPrefixCol()) : -1;
    return new Plan<>(
        new Scoring(),
        row -> new Scoring.Input(row.getString(text), prefix < 0 ? null : row.getString(prefix)));
  }

  public static MLReader<DbrxScorer> read() {
    return new DefaultParamsReader<>();
  }

  public static DbrxScorer load(String path) {
    return read().load(path);
  }
}
