package org.dbrxspark.jobs.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class ChunkPlanTest {
  @Test
  void consecutiveBucketsUntilTheChunkHoldsCommitEveryRows() {
    TreeMap<Integer, Long> pending = new TreeMap<>();
    pending.put(0, 2L);
    pending.put(3, 0L);
    pending.put(5, 3L);
    pending.put(9, 4L);
    pending.put(12, 1L);
    pending.put(20, 0L);
    assertEquals(
        List.of(
            new ChunkPlan.Chunk(0, 5, 5),
            new ChunkPlan.Chunk(9, 9, 4),
            new ChunkPlan.Chunk(12, 12, 1)),
        ChunkPlan.of(pending, 4),
        "the last chunk holds what is left");
    assertEquals(
        List.of(new ChunkPlan.Chunk(0, 12, 10)),
        ChunkPlan.of(pending, 100),
        "one chunk, even if short");
    assertEquals(List.of(), ChunkPlan.of(new TreeMap<>(), 4), "nothing pending, nothing to commit");
  }
}
