package org.dbrxspark.runtime.backend;

/**
 * The new tokens of a forward step as the KV-cache operations see them: for token {@code t}, the
 * storage its sequence's blocks live in, the sequence's block table (block {@code p / blockTokens}
 * holds position {@code p}) and the token's position. A token attends to positions {@code [0,
 * positions[t]]} of its own sequence, its own included.
 */
public record KvBatch(KvStorage[] storages, int[][] blockTables, int[] positions) {
  public KvBatch {
    if (storages.length != positions.length || blockTables.length != positions.length) {
      throw new IllegalArgumentException("a storage, a block table and a position per token");
    }
  }

  public int tokens() {
    return positions.length;
  }
}
