package org.dbrxspark.jobs.text;

/**
 * The full stops of scripts that may write the next sentence straight after them, without a space:
 * the ideographic and full-width ones of Chinese and Japanese (。！？), Khmer's khan and bariyoosan (។
 * ៕) and Myanmar's section mark (။). Curate's sentence count and the RAG chunker's sentence cuts
 * both end a sentence at them.
 */
public final class ScriptFullStops {
  private ScriptFullStops() {}

  /** Whether {@code c} is one of these full stops. */
  public static boolean is(char c) {
    return c == '\u3002'
        || c == '\uff01'
        || c == '\uff1f'
        || c == '\u17d4'
        || c == '\u17d5'
        || c == '\u104b';
  }
}
