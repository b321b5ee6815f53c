package org.dbrxspark.udfs.inference;

import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.ScoreRequest;
import org.dbrxspark.runtime.engine.ScoreResult;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/** Log-probability and perplexity of a text, optionally conditioned on a prefix. */
public final class Scoring extends InferenceOp<Scoring.Input, ScoreRequest, ScoreResult> {
  private static final long serialVersionUID = 1L;

  /** {@code struct<logprob_sum, token_count, perplexity, error>}. */
  public static final StructType RESULT =
      new StructType()
          .add("logprob_sum", DataTypes.DoubleType)
          .add("token_count", DataTypes.IntegerType)
          .add("perplexity", DataTypes.DoubleType)
          .add("error", DataTypes.StringType);

  /** The text to score and an optional (null) prefix it is conditioned on. */
  public record Input(String text, String prefix) {}

  @Override
  public String name() {
    return "score";
  }

  @Override
  public StructType resultType() {
    return RESULT;
  }

  @Override
  protected Prepared<ScoreRequest> encode(Input in) {
    if (in.text() == null) {
      return Prepared.failed("the text is null", 0);
    }
    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    int[] text = tokenizer.encode(in.text());
    int[] prefix = in.prefix() == null ? new int[0] : tokenizer.encode(in.prefix());
    return Prepared.ok(new ScoreRequest(prefix, text), prefix.length + text.length);
  }

  @Override
  protected List<ScoreResult> execute(
      DbrxRuntime runtime, List<ScoreRequest> requests, BatchCounts counts) {
    return runtime.scorer().score(requests);
  }

  @Override
  protected Row resultRow(ScoreResult r, BatchCounts counts) {
    return r.error() != null
        ? errorRow(r.error(), 0)
        : RowFactory.create(r.logprobSum(), r.tokenCount(), r.perplexity(), null);
  }

  @Override
  protected Row errorRow(String error, int tokens) {
    return RowFactory.create(null, null, null, error);
  }
}
