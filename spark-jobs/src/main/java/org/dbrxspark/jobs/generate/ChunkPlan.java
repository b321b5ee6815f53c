package org.dbrxspark.jobs.generate;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * How one generate run divides its pending rows into commits. Every id falls into one of {@link
 * #BUCKETS} buckets by a hash of the id alone; a chunk is a range of consecutive buckets holding at
 * least {@code commitEvery} pending rows (the last one may hold fewer). So a row's chunk depends
 * only on its id and on what is still pending, never on partitioning or file order.
 */
final class ChunkPlan {
  /**
   * Buckets of the id hash: an input of more than this many times commit-every rows gets bigger
   * chunks.
   */
  static final int BUCKETS = 1 << 14;

  /** Buckets {@code first..last} (inclusive) holding {@code rows} pending rows. */
  record Chunk(int first, int last, long rows) {}

  private ChunkPlan() {}

  /**
   * Chunks of at least {@code commitEvery} rows over the buckets that have pending rows, in bucket
   * order.
   */
  static List<Chunk> of(SortedMap<Integer, Long> pendingPerBucket, long commitEvery) {
    List<Chunk> chunks = new ArrayList<>();
    int first = -1;
    int last = -1;
    long rows = 0;
    for (Map.Entry<Integer, Long> bucket : pendingPerBucket.entrySet()) {
      if (bucket.getValue() == 0) {
        continue;
      }
      if (first < 0) {
        first = bucket.getKey();
      }
      last = bucket.getKey();
      rows += bucket.getValue();
      if (rows >= commitEvery) {
        chunks.add(new Chunk(first, last, rows));
        first = -1;
        rows = 0;
      }
    }
    if (first >= 0) {
      chunks.add(new Chunk(first, last, rows));
    }
    return chunks;
  }
}
