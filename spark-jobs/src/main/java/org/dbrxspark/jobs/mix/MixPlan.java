package org.dbrxspark.jobs.mix;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-source sampling rates for a mix: each source's share of the budget is its weight over the sum
 * of weights; its rate is that share over what the source has, capped at {@code maxEpochs}. A
 * capped source falls short of its share: the shortfall is reported, not moved to other sources, so
 * a source's weight never changes another's rate.
 */
public record MixPlan(Map<String, Source> sources, double budget) {
  /** One source's plan; amounts are in the budget's unit (tokens or documents). */
  public record Source(
      String name,
      double weight,
      long documents,
      long available,
      double target,
      double rate,
      boolean capped) {}

  /**
   * @param weights source name to weight (> 0)
   * @param available source name to its size in the budget's unit, for every source in the input
   * @param documents source name to its documents
   */
  public static MixPlan of(
      Map<String, Double> weights,
      Map<String, Long> available,
      Map<String, Long> documents,
      double budget,
      double maxEpochs) {
    List<String> missing = new ArrayList<>();
    for (String s : weights.keySet()) {
      if (!available.containsKey(s)) {
        missing.add(s);
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          "--weights names sources not in the input: "
              + missing
              + " (input sources: "
              + available.keySet()
              + ")");
    }
    double total = weights.values().stream().mapToDouble(Double::doubleValue).sum();
    Map<String, Source> plan = new LinkedHashMap<>();
    for (Map.Entry<String, Long> e : available.entrySet()) {
      String name = e.getKey();
      double weight = weights.getOrDefault(name, 0.0);
      double target = budget * weight / total;
      double rate = e.getValue() == 0 ? 0 : target / e.getValue();
      boolean capped = rate > maxEpochs;
      plan.put(
          name,
          new Source(
              name,
              weight,
              documents.getOrDefault(name, 0L),
              e.getValue(),
              target,
              capped ? maxEpochs : rate,
              capped));
    }
    return new MixPlan(plan, budget);
  }
}
