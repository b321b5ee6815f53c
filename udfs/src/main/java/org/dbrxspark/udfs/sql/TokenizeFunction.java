package org.dbrxspark.udfs.sql;

import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/**
 * {@code dbrx_tokenize(text)}: the DBRX token ids, {@code array<int>} (special-token strings stay
 * plain text); null for null. Loads no model.
 */
public final class TokenizeFunction implements UDF1<String, int[]> {
  private static final long serialVersionUID = 1L;

  /** {@code array<int>}. */
  public static final DataType TYPE = DataTypes.createArrayType(DataTypes.IntegerType, false);

  @Override
  public int[] call(String text) {
    return text == null ? null : DbrxTokenizer.shared().encode(text);
  }
}
