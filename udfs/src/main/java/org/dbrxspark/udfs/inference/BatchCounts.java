package org.dbrxspark.udfs.inference;

/** What one batch processed: filled in by {@link InferenceOp#run}, read by the metrics. */
public final class BatchCounts {
  long rows;
  long promptTokens;
  long generatedTokens;
  long errors;

  public long rows() {
    return rows;
  }

  /** Input tokens of the rows that ran (prompts, texts with their prefixes). */
  public long promptTokens() {
    return promptTokens;
  }

  /** Tokens generated (the generator only). */
  public long generatedTokens() {
    return generatedTokens;
  }

  /** Rows whose result has its error set. */
  public long errors() {
    return errors;
  }
}
