package org.dbrxspark.runtime.engine;

/** Why a generation ended. */
public enum FinishReason {
  /** An end-of-sequence token or a stop string. */
  STOP,
  /** max_new_tokens, or the model's max_seq_len, was reached. */
  LENGTH,
  /** The request was invalid or failed; see the result's error. */
  ERROR;

  /** The lower-case name used in JSON and table output. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
