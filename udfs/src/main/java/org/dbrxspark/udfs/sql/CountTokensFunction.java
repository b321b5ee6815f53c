package org.dbrxspark.udfs.sql;

import org.apache.spark.sql.api.java.UDF1;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/** {@code dbrx_count_tokens(text)}: the number of DBRX tokens; null for null. Loads no model. */
public final class CountTokensFunction implements UDF1<String, Integer> {
  private static final long serialVersionUID = 1L;

  @Override
  public Integer call(String text) {
    return text == null ? null : DbrxTokenizer.shared().countTokens(text);
  }
}
