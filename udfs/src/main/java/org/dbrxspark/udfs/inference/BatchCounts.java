package org.dbrxspark.udfs.inference;

/** What one batch processed: filled in by {@link InferenceOp#run}, read by the metrics. */
public final class BatchCounts {
  long rows;
  long promptTokens;
  long generatedTokens;
  long errors;
  long prefixCacheHitBlocks;
  long prefixCacheMissBlocks;
  long prefixCacheEvictedBlocks;

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

  /**
   * Full prompt blocks (16 tokens each) taken from the executor's prefix cache (the generator
   * only).
   */
  public long prefixCacheHitBlocks() {
    return prefixCacheHitBlocks;
  }

  /** Full prompt blocks looked up in the prefix cache and not found, hence computed. */
  public long prefixCacheMissBlocks() {
    return prefixCacheMissBlocks;
  }

  /** Cached prefix blocks dropped to make room in the KV cache. */
  public long prefixCacheEvictedBlocks() {
    return prefixCacheEvictedBlocks;
  }
}
