package org.dbrxspark.jobs.core;

import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.shiftrightunsigned;
import static org.apache.spark.sql.functions.xxhash64;

import org.apache.spark.sql.Column;

/**
 * Seeded per-row hashes for decisions that must depend only on a row's content and the seed, never
 * on partitioning or row order (sampling, splits, orderings).
 */
public final class SeededHash {
  private static final double TWO_TO_53 = 9007199254740992.0;

  private SeededHash() {}

  /**
   * A uniform draw in [0, 1): the top 53 bits of xxhash64(seed, parts...) over 2^53. Decisions
   * drawn for different purposes with the same seed should add a distinct literal part (a salt), or
   * they would be correlated.
   */
  public static Column uniform(long seed, Column... parts) {
    return shiftrightunsigned(hash(seed, parts), 11).cast("double").divide(TWO_TO_53);
  }

  /** A non-negative 63-bit sort key: the top 63 bits of xxhash64(seed, parts...). */
  public static Column sortKey(long seed, Column... parts) {
    return shiftrightunsigned(hash(seed, parts), 1);
  }

  private static Column hash(long seed, Column... parts) {
    Column[] all = new Column[parts.length + 1];
    all[0] = lit(seed);
    System.arraycopy(parts, 0, all, 1, parts.length);
    return xxhash64(all);
  }
}
