package org.dbrxspark.runtime.engine;

/**
 * Batching limits of the engine.
 *
 * @param maxBatchTokens tokens one forward step may process (prompt tokens of admitted requests
 *     plus one per running sequence); bounds activation memory and step latency
 * @param maxSequences sequences generating at once; bounds KV-cache memory
 */
public record EngineOptions(int maxBatchTokens, int maxSequences) {
  public EngineOptions {
    if (maxBatchTokens < 1) {
      throw new IllegalArgumentException("max_batch_tokens must be >= 1, got " + maxBatchTokens);
    }
    if (maxSequences < 1) {
      throw new IllegalArgumentException("max_sequences must be >= 1, got " + maxSequences);
    }
  }

  /** 2048 tokens per step, 32 sequences at once. */
  public static EngineOptions defaults() {
    return new EngineOptions(2048, 32);
  }
}
