package org.dbrxspark.runtime.engine;

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
 * @param logprobs log-probability of each generated token under the model (temperature 1, no
 *     filtering), or {@code null} when not requested
 * @param error why the request failed, or {@code null}
 */
public record GenerationResult(
    int[] completion,
    String text,
    FinishReason finishReason,
    boolean incomplete,
    int promptTokens,
    float[] logprobs,
    String error) {

  /** Generated tokens. */
  public int completionTokens() {
    return completion.length;
  }

  static GenerationResult failed(int promptTokens, String error) {
    return new GenerationResult(
        new int[0], "", FinishReason.ERROR, false, promptTokens, null, error);
  }
}
