package org.dbrxspark.runtime.engine;

import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.KvBlockPool;

/**
 * Batching limits of the engine and the size of its KV cache.
 *
 * @param maxBatchTokens tokens one forward step may process (prompt tokens of admitted requests
 *     plus one per running sequence); bounds activation memory and step latency
 * @param maxSequences sequences generating at once
 * @param maxSeqLen the positions one sequence fills (its prompt and every generated token but the
 *     last, which is sampled and never fed back); 0 for the model's max_seq_len
 * @param kvDtype how the KV cache stores keys and values
 * @param kvCacheTokens positions the KV cache holds at once over all sequences; 0 for {@code
 *     maxSequences x maxSeqLen}, which never makes a sequence wait for cache memory
 * @param prefixCaching keep the KV blocks of prompts for later prompts that start with the same
 *     tokens, within the KV cache's budget (see {@link KvBlockPool}); outputs are the same either
 *     way
 */
public record EngineOptions(
    int maxBatchTokens,
    int maxSequences,
    int maxSeqLen,
    KvDType kvDtype,
    long kvCacheTokens,
    boolean prefixCaching) {
  /**
   * The default KV dtype. f16, as in llama.cpp: half the memory of f32, and its rounding (relative
   * 2^-11 per element) is far below the spread of sampled outputs; bf16 keeps f32's range but
   * rounds 8x coarser. {@code logits} and the golden tests use f32.
   */
  public static final KvDType DEFAULT_KV_DTYPE = KvDType.F16;

  public EngineOptions {
    if (maxBatchTokens < 1) {
      throw new IllegalArgumentException("max_batch_tokens must be >= 1, got " + maxBatchTokens);
    }
    if (maxSequences < 1) {
      throw new IllegalArgumentException("max_sequences must be >= 1, got " + maxSequences);
    }
    if (maxSeqLen < 0) {
      throw new IllegalArgumentException(
          "max_seq_len must be >= 1 (or 0 for the model's), got " + maxSeqLen);
    }
    if (kvDtype == null) {
      throw new IllegalArgumentException("kv_dtype is missing");
    }
    if (kvCacheTokens < 0) {
      throw new IllegalArgumentException(
          "kv_cache_tokens must be >= 1 (or 0 for max_sequences x max_seq_len), got "
              + kvCacheTokens);
    }
    if (kvCacheTokens > 0 && kvCacheTokens < maxSeqLen) {
      throw new IllegalArgumentException(oneSequenceProblem(kvCacheTokens, maxSeqLen));
    }
  }

  /** With prefix caching. */
  public EngineOptions(
      int maxBatchTokens, int maxSequences, int maxSeqLen, KvDType kvDtype, long kvCacheTokens) {
    this(maxBatchTokens, maxSequences, maxSeqLen, kvDtype, kvCacheTokens, true);
  }

  /**
   * The model's full context, the default KV dtype, a cache for every sequence at full length, and
   * prefix caching.
   */
  public EngineOptions(int maxBatchTokens, int maxSequences) {
    this(maxBatchTokens, maxSequences, 0, DEFAULT_KV_DTYPE, 0);
  }

  /** These options with prefix caching on or off. */
  public EngineOptions withPrefixCaching(boolean value) {
    return new EngineOptions(
        maxBatchTokens, maxSequences, maxSeqLen, kvDtype, kvCacheTokens, value);
  }

  /** 2048 tokens per step, 32 sequences at once, prefix caching. */
  public static EngineOptions defaults() {
    return new EngineOptions(2048, 32);
  }

  /** The longest sequence served with a model of {@code config}. */
  public int maxSeqLen(DbrxConfig config) {
    int cap = maxSeqLen == 0 ? config.maxSeqLen() : maxSeqLen;
    if (cap > config.maxSeqLen()) {
      throw new IllegalArgumentException(
          "max_seq_len " + cap + " is over the model's max_seq_len " + config.maxSeqLen());
    }
    return cap;
  }

  /** Positions the KV cache holds at once with a model of {@code config}. */
  public long kvCacheTokens(DbrxConfig config) {
    long tokens = kvCacheTokens == 0 ? (long) maxSequences * maxSeqLen(config) : kvCacheTokens;
    // One sequence at full length must fit, or it could wait for blocks that never come free.
    if (tokens < maxSeqLen(config)) {
      throw new IllegalArgumentException(oneSequenceProblem(tokens, maxSeqLen(config)));
    }
    return tokens;
  }

  private static String oneSequenceProblem(long kvCacheTokens, int maxSeqLen) {
    return "kv_cache_tokens "
        + kvCacheTokens
        + " cannot hold one sequence of max_seq_len "
        + maxSeqLen
        + "; raise it or lower max_seq_len";
  }

  /**
   * An empty KV block pool of the configured dtype, size and prefix caching, in {@code model}'s
   * backend.
   */
  public KvBlockPool newKvPool(DbrxModel model) {
    return model.newKvPool(kvDtype, kvCacheTokens(model.config()), prefixCaching);
  }
}
