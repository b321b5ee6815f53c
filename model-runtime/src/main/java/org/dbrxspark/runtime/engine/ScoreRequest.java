package org.dbrxspark.runtime.engine;

/**
 * Text to score, optionally conditioned on a prefix.
 *
 * @param prefix tokens the text is conditioned on; not scored (may be empty)
 * @param text tokens whose log-probabilities are wanted. With an empty prefix the first token has
 *     nothing to be conditioned on (DBRX uses no BOS token), so scoring starts at the second.
 */
public record ScoreRequest(int[] prefix, int[] text) {
  public ScoreRequest {
    prefix = prefix.clone();
    text = text.clone();
  }
}
