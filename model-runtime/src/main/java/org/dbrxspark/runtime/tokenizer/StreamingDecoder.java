package org.dbrxspark.runtime.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns generated ids into text one token at a time without splitting UTF-8 characters: a character
 * whose bytes span several tokens (common for emoji and CJK) comes out whole once its last byte
 * arrives. The concatenation of all {@link #push} results and the final {@link #flush} equals
 * {@link DbrxTokenizer#decode} of the same ids.
 *
 * <p>One instance per generated sequence; not thread-safe.
 */
public final class StreamingDecoder {

  private final DbrxTokenizer tokenizer;

  /** Bytes received but not yet emitted: at most the start of one unfinished character. */
  private byte[] pending = new byte[0];

  /** A decoder for one sequence generated with ids of {@code tokenizer}. */
  public StreamingDecoder(DbrxTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /**
   * Adds one token and returns the text it completes, possibly empty.
   *
   * @throws IllegalArgumentException for an id the tokenizer never produces
   */
  public String push(int id) {
    byte[] token = tokenizer.bytesOf(id);
    byte[] bytes = Arrays.copyOf(pending, pending.length + token.length);
    System.arraycopy(token, 0, bytes, pending.length, token.length);
    int complete = completePrefixLength(bytes);
    pending = Arrays.copyOfRange(bytes, complete, bytes.length);
    return new String(bytes, 0, complete, StandardCharsets.UTF_8);
  }

  /** Returns the held-back bytes, each unfinished sequence as U+FFFD, and starts afresh. */
  public String flush() {
    String rest = new String(pending, StandardCharsets.UTF_8);
    pending = new byte[0];
    return rest;
  }

  /**
   * Length of the prefix that excludes a trailing, still unfinished multi-byte sequence. Cutting
   * just before a non-continuation byte never changes how the rest decodes, because a decoder
   * always starts a fresh sequence (or a fresh error) at such a byte.
   */
  static int completePrefixLength(byte[] bytes) {
    int end = bytes.length;
    for (int start = end - 1; start >= 0 && start >= end - 4; start--) {
      if (!isContinuation(bytes[start])) {
        return end - start < sequenceLength(bytes[start]) ? start : end;
      }
    }
    return end;
  }

  private static boolean isContinuation(byte b) {
    return (b & 0xC0) == 0x80;
  }

  /**
   * Length of the sequence a lead byte announces; 1 for ASCII and for bytes never valid as lead.
   */
  private static int sequenceLength(byte lead) {
    int b = lead & 0xFF;
    if (b >= 0xC2 && b <= 0xDF) {
      return 2;
    }
    if (b >= 0xE0 && b <= 0xEF) {
      return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
      return 4;
    }
    return 1;
  }
}
