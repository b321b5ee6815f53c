package org.dbrxspark.runtime.backend;

/**
 * The memory of a paged KV cache, owned by a {@link Backend}: numbered blocks, each holding the
 * keys and values of {@link #BLOCK_TOKENS} consecutive positions of one sequence in every layer.
 * Which sequence holds which block is decided above the backend (a block pool and its caches' block
 * tables); the storage only grows to hold the blocks handed out.
 */
public interface KvStorage {
  /** Positions per block; vLLM's default block size. */
  int BLOCK_TOKENS = 16;

  KvDType dtype();

  /** Bytes of one block. */
  long blockBytes();

  /** Makes blocks {@code [0, count)} exist; called before a block is first handed out. */
  void ensureBlocks(int count);

  /** Copies every position of block {@code from} into block {@code to}; both must exist. */
  void copyBlock(int from, int to);
}
