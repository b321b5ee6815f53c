package org.dbrxspark.udfs.inference;

import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.EmbeddingResult;
import org.dbrxspark.runtime.engine.Pooling;

/** L2-normalised sentence embeddings of size d_model. */
public final class Embedding extends InferenceOp<String, int[], EmbeddingResult> {
  private static final long serialVersionUID = 1L;

  /** {@code struct<embedding: array<float>, token_count, error>}. */
  public static final StructType RESULT =
      new StructType()
          .add("embedding", DataTypes.createArrayType(DataTypes.FloatType, false))
          .add("token_count", DataTypes.IntegerType)
          .add("error", DataTypes.StringType);

  private final Pooling pooling;

  public Embedding(Pooling pooling) {
    this.pooling = pooling;
  }

  @Override
  public String name() {
    return "embed";
  }

  @Override
  public StructType resultType() {
    return RESULT;
  }

  @Override
  protected Prepared<int[]> encode(String text) {
    return Prepared.tokenIds(text);
  }

  @Override
  protected List<EmbeddingResult> execute(
      DbrxRuntime runtime, List<int[]> requests, BatchCounts counts) {
    return runtime.embedder().embed(requests, pooling);
  }

  @Override
  protected Row resultRow(EmbeddingResult r, BatchCounts counts) {
    return r.error() != null
        ? errorRow(r.error(), 0)
        : RowFactory.create(r.vector(), r.tokenCount(), null);
  }

  @Override
  protected Row errorRow(String error, int tokens) {
    return RowFactory.create(null, null, error);
  }
}
