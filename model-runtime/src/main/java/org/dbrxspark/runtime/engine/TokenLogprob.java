package org.dbrxspark.runtime.engine;

/**
 * A token and its log-probability under the model at one position.
 *
 * @param token the token id
 * @param logprob its log-probability (temperature 1, before penalties, biases and masks)
 */
public record TokenLogprob(int token, float logprob) {}
