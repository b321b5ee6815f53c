package org.dbrxspark.jobs.text;

import java.util.Arrays;
import java.util.Locale;

/**
 * The words of a text as the matching jobs see them: the text is lower-cased (root locale), and a
 * word is a maximal run of letters and digits (Unicode categories L and N), so punctuation and
 * spaces only separate words. Each word keeps where it was in the original text, so a match can be
 * shown as the text it came from.
 */
public final class Words {
  /** Bit per {@link Character#getType} value that is a letter (L*) or a number (N*). */
  private static final long WORD_TYPES =
      1L << Character.UPPERCASE_LETTER
          | 1L << Character.LOWERCASE_LETTER
          | 1L << Character.TITLECASE_LETTER
          | 1L << Character.MODIFIER_LETTER
          | 1L << Character.OTHER_LETTER
          | 1L << Character.DECIMAL_DIGIT_NUMBER
          | 1L << Character.LETTER_NUMBER
          | 1L << Character.OTHER_NUMBER;

  private final String original;
  private final String lower;
  private final int[] starts;
  private final int[] ends;

  private Words(String original, String lower, int[] starts, int[] ends) {
    this.original = original;
    this.lower = lower;
    this.starts = starts;
    this.ends = ends;
  }

  /** Splits {@code text} (null reads as empty). */
  public static Words of(String text) {
    String original = text == null ? "" : text;
    String lower = original.toLowerCase(Locale.ROOT);
    int[] starts = new int[16];
    int[] ends = new int[16];
    int count = 0;
    int start = -1;
    for (int i = 0; i < lower.length(); ) {
      int cp = lower.codePointAt(i);
      boolean word = (WORD_TYPES >>> Character.getType(cp) & 1) != 0;
      if (word && start < 0) {
        start = i;
      } else if (!word && start >= 0) {
        if (count == starts.length) {
          starts = Arrays.copyOf(starts, count * 2);
          ends = Arrays.copyOf(ends, count * 2);
        }
        starts[count] = start;
        ends[count++] = i;
        start = -1;
      }
      i += Character.charCount(cp);
    }
    if (start >= 0) {
      if (count == starts.length) {
        starts = Arrays.copyOf(starts, count + 1);
        ends = Arrays.copyOf(ends, count + 1);
      }
      starts[count] = start;
      ends[count++] = lower.length();
    }
    return new Words(original, lower, Arrays.copyOf(starts, count), Arrays.copyOf(ends, count));
  }

  /** The normalised text: the words, lower case, separated by single spaces. */
  public static String normalise(String text) {
    return of(text).normalised();
  }

  public int count() {
    return starts.length;
  }

  /** Word {@code i}, lower case. */
  public String word(int i) {
    return lower.substring(starts[i], ends[i]);
  }

  /**
   * 64-bit hash of word {@code i}: FNV-1a over its UTF-16 code units, then {@link Hash64#fmix64}.
   */
  public long wordHash(int i) {
    return Hash64.fmix64(Hash64.fnv1a(Hash64.FNV_OFFSET, lower, starts[i], ends[i]));
  }

  public String normalised() {
    StringBuilder sb = new StringBuilder(lower.length());
    for (int i = 0; i < starts.length; i++) {
      sb.append(i == 0 ? "" : " ").append(lower, starts[i], ends[i]);
    }
    return sb.toString();
  }

  /**
   * The original text of words {@code from} to {@code to} (inclusive), with whatever separated them
   * there.
   */
  public String originalSpan(int from, int to) {
    return original.substring(originalOffset(starts[from]), originalOffset(ends[to]));
  }

  /**
   * Where offset {@code at} of the lower-cased text is in the original. They differ only when
   * lower-casing lengthened a character (U+0130 becomes i and a combining dot); the root locale
   * never shortens one, and its only context rule (final sigma) keeps the length.
   */
  int originalOffset(int at) {
    if (lower.length() == original.length()) {
      return at;
    }
    int lowerAt = 0;
    int i = 0;
    while (i < original.length() && lowerAt < at) {
      int cp = original.codePointAt(i);
      int n = Character.charCount(cp);
      lowerAt += original.substring(i, i + n).toLowerCase(Locale.ROOT).length();
      i += n;
    }
    return i;
  }
}
