package org.dbrxspark.runtime.backend;

/**
 * The experts a router chose: for token {@code t}, {@code experts[t * k + j]} is its j-th choice
 * (in descending probability) with routing weight {@code weights[t * k + j]}. Held on the host: the
 * forward pass groups tokens by expert with it.
 */
public record Routing(int k, int[] experts, float[] weights) {
  public Routing {
    if (experts.length != weights.length || experts.length % k != 0) {
      throw new IllegalArgumentException(
          experts.length
              + " experts and "
              + weights.length
              + " weights are not whole rows of k = "
              + k);
    }
  }

  /** Tokens routed. */
  public int tokens() {
    return experts.length / k;
  }
}
