package org.dbrxspark.udfs.inference;

import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/**
 * One row's input, encoded and ready for the runtime, or the reason it cannot be run.
 *
 * @param request the runtime request, or null on error
 * @param tokens input tokens of the request (0 when unknown)
 * @param error why the row cannot be run, or null
 */
public record Prepared<R>(R request, int tokens, String error) {

  static <R> Prepared<R> ok(R request, int tokens) {
    return new Prepared<>(request, tokens, null);
  }

  static <R> Prepared<R> failed(String error, int tokens) {
    return new Prepared<>(null, tokens, error);
  }

  /** The text's token ids (special-token strings encoded as plain text), or failed when null. */
  static Prepared<int[]> tokenIds(String text) {
    if (text == null) {
      return failed("the text is null", 0);
    }
    int[] ids = DbrxTokenizer.shared().encode(text);
    return ok(ids, ids.length);
  }
}
