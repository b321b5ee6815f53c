package org.dbrxspark.runtime.engine;

import java.util.List;

/**
 * The outcome of one request. A failed request has {@code finishReason == ERROR}, a message in
 * {@code error} and an empty completion; it never affects the other requests of its batch.
 *
 * @param completion generated token ids, including a final end-of-sequence token if one was drawn
 * @param text decoded completion, without the end-of-sequence token or the matched stop string
 * @param finishReason why generation ended
 * @param incomplete the text is not whole: cut off by {@code max_new_tokens} or the context ({@code
 *     LENGTH}), or, under a response format, anything but a match of the format
 * @param promptTokens tokens in the prompt
 * @param logprobs log-probability of each generated token under the model (temperature 1, before
 *     penalties, biases, masks and filtering), or {@code null} when not requested
 * @param topLogprobs per generated token, the {@code top_logprobs} most likely tokens under the
 *     same distribution, most likely first; {@code null} when not requested
 * @param error why the request failed, or {@code null}
 * @param samples with {@code n > 1}, all n completions in sample order (this result's own fields
 *     are sample 0's, and prompt tokens are counted once); otherwise empty
 */
public record GenerationResult(
    int[] completion,
    String text,
    FinishReason finishReason,
    boolean incomplete,
    int promptTokens,
    float[] logprobs,
    TokenLogprob[][] topLogprobs,
    String error,
    List<GenerationResult> samples) {

  public GenerationResult {
    samples = List.copyOf(samples);
  }

  /** Generated tokens (of sample 0). */
  public int completionTokens() {
    return completion.length;
  }

  /** Generated tokens over all samples. */
  public long allCompletionTokens() {
    return samples.isEmpty()
        ? completion.length
        : samples.stream().mapToLong(GenerationResult::completionTokens).sum();
  }

  /** Sample 0's fields with {@code all} as the samples. */
  static GenerationResult ofSamples(List<GenerationResult> all) {
    GenerationResult first = all.get(0);
    return new GenerationResult(
        first.completion,
        first.text,
        first.finishReason,
        first.incomplete,
        first.promptTokens,
        first.logprobs,
        first.topLogprobs,
        first.error,
        all.size() > 1 ? all : List.of());
  }

  static GenerationResult failed(int promptTokens, String error) {
    return new GenerationResult(
        new int[0], "", FinishReason.ERROR, false, promptTokens, null, null, error, List.of());
  }
}
