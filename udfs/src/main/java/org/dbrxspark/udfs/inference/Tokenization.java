package org.dbrxspark.udfs.inference;

import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.DbrxRuntime;

/**
 * DBRX token ids of a text (special-token strings stay plain text). Needs no model: the tokenizer
 * is the same for every DBRX checkpoint.
 */
public final class Tokenization extends InferenceOp<String, int[], int[]> {
  private static final long serialVersionUID = 1L;

  /** {@code struct<ids: array<int>, count, error>}. */
  public static final StructType RESULT =
      new StructType()
          .add("ids", DataTypes.createArrayType(DataTypes.IntegerType, false))
          .add("count", DataTypes.IntegerType)
          .add("error", DataTypes.StringType);

  @Override
  public String name() {
    return "tokenize";
  }

  @Override
  public StructType resultType() {
    return RESULT;
  }

  @Override
  public boolean needsModel() {
    return false;
  }

  @Override
  protected Prepared<int[]> encode(String text) {
    return Prepared.tokenIds(text);
  }

  @Override
  protected List<int[]> execute(DbrxRuntime runtime, List<int[]> requests, BatchCounts counts) {
    return requests;
  }

  @Override
  protected Row resultRow(int[] ids, BatchCounts counts) {
    return RowFactory.create(ids, ids.length, null);
  }

  @Override
  protected Row errorRow(String error, int tokens) {
    return RowFactory.create(null, null, error);
  }
}
