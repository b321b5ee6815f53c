package org.dbrxspark.jobs.rag;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): an item's score is the sum
 * over the rankings that contain it of 1 / (k + rank), ranks from 1. It needs no score calibration
 * between BM25 and vector similarity; k = 60 is the paper's value.
 */
final class ReciprocalRankFusion {
  /** The paper's constant. */
  static final int DEFAULT_K = 60;

  /** A fused item: its score and its rank in each input ranking (null where absent). */
  record Fused(String id, double score, Integer[] ranks) {}

  private ReciprocalRankFusion() {}

  /** Fuses rankings of ids (best first); the result is ordered by score, ties by id. */
  static List<Fused> fuse(int k, List<List<String>> rankings) {
    Map<String, Fused> byId = new HashMap<>();
    for (int r = 0; r < rankings.size(); r++) {
      List<String> ranking = rankings.get(r);
      for (int i = 0; i < ranking.size(); i++) {
        String id = ranking.get(i);
        Fused old = byId.get(id);
        Integer[] ranks = old == null ? new Integer[rankings.size()] : old.ranks();
        if (ranks[r] != null) {
          continue; // an id listed twice counts at its best rank
        }
        ranks[r] = i + 1;
        byId.put(id, new Fused(id, (old == null ? 0 : old.score()) + 1.0 / (k + i + 1), ranks));
      }
    }
    List<Fused> fused = new ArrayList<>(byId.values());
    fused.sort(Comparator.comparingDouble(Fused::score).reversed().thenComparing(Fused::id));
    return fused;
  }
}
