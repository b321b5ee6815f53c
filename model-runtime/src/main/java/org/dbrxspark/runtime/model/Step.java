package org.dbrxspark.runtime.model;

/**
 * New tokens of one sequence for a forward pass.
 *
 * @param cache the sequence's cache; the tokens are appended to it
 * @param tokens the new token ids, at positions {@code cache.length()} onwards
 * @param allPositions keep the final hidden state of every new token (scoring, embeddings), or only
 *     of the last one (generation)
 */
public record Step(KvCache cache, int[] tokens, boolean allPositions) {
  public Step {
    if (tokens.length == 0) {
      throw new IllegalArgumentException("a step needs at least one token");
    }
  }

  /** Rows of final hidden state this step yields. */
  public int outputRows() {
    return allPositions ? tokens.length : 1;
  }
}
