package org.dbrxspark.runtime.engine;

/**
 * One prompt to continue.
 *
 * @param prompt the prompt's token ids (already templated, e.g. ChatML)
 * @param params how to sample
 */
public record GenerationRequest(int[] prompt, SamplingParams params) {
  public GenerationRequest {
    prompt = prompt.clone();
  }
}
