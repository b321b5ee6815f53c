package org.dbrxspark.runtime.engine;

import org.dbrxspark.runtime.config.DbrxConfig;

/** The checks every request's tokens pass before they reach the model. */
final class InputCheck {
  private InputCheck() {}

  /**
   * Why {@code ids} cannot be run, or {@code null}.
   *
   * @param what names the input in the message ("prompt", "text", ...)
   * @param maxLength the most tokens allowed
   * @param maxSeqLen the context cap that {@code maxLength} derives from, for the message
   */
  static String problem(DbrxConfig config, int[] ids, String what, int maxLength, int maxSeqLen) {
    if (ids.length == 0) {
      return "empty " + what;
    }
    if (ids.length > maxLength) {
      return what
          + " of "
          + ids.length
          + " tokens is over the limit of "
          + maxLength
          + " (max_seq_len "
          + maxSeqLen
          + ")";
    }
    for (int id : ids) {
      if (id < 0 || id >= config.vocabSize()) {
        return what
            + " token id "
            + id
            + " is outside the vocabulary [0, "
            + config.vocabSize()
            + ")";
      }
    }
    return null;
  }
}
