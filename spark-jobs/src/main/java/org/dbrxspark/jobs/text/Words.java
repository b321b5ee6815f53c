package org.dbrxspark.jobs.text;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Locale;
import org.apache.lucene.analysis.icu.segmentation.ICUTokenizer;
import org.apache.lucene.analysis.tokenattributes.OffsetAttribute;

/**
 * The words of a text as the matching jobs see them: the text is lower-cased (root locale), and a
 * word is a letter or digit (Unicode categories L and N) followed by letters, digits and combining
 * marks (M: the vowel signs and viramas of Devanagari, Bengali, Tamil..., Thai vowels and tones,
 * accents of decomposed Latin), so punctuation and spaces only separate words. A zero-width
 * non-joiner or joiner between two such characters is inside the word too: Persian writes it within
 * words (می‌خواهم is one word), and Indic scripts use it to choose a conjunct's form. Scripts
 * written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) would give
 * one word per phrase that way, so a run holding them is split again by Lucene's ICU tokenizer,
 * which finds their words with ICU's dictionaries. Text without those scripts never reaches ICU.
 * Each word keeps where it was in the original text, so a match can be shown as the text it came
 * from.
 */
public final class Words {
  /**
   * Raised whenever a text's words change, so that stores of word hashes made with another split
   * (dedup's signature index) are refused rather than silently matching less. 2: combining marks
   * stay inside words. 3: so do zero-width (non-)joiners between word characters.
   */
  public static final int SPLIT_VERSION = 3;

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

  /** Bit per {@link Character#getType} value that is a combining mark (M*). */
  private static final long MARK_TYPES =
      1L << Character.NON_SPACING_MARK
          | 1L << Character.COMBINING_SPACING_MARK
          | 1L << Character.ENCLOSING_MARK;

  private static final int ZWNJ = 0x200C;
  private static final int ZWJ = 0x200D;

  /** The first code point of the first unspaced script (Thai); everything below is spaced. */
  private static final int FIRST_UNSPACED = 0x0E00;

  /**
   * One tokenizer per thread, reused: building one loads ICU's break rules. Spark runs a task's
   * rows on one thread, so the tokenizers are never shared.
   */
  private static final ThreadLocal<ICUTokenizer> ICU = ThreadLocal.withInitial(ICUTokenizer::new);

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
    WordBounds spans = new WordBounds();
    int start = -1;
    boolean unspacedRun = false;
    for (int i = 0; i < lower.length(); ) {
      int cp = lower.codePointAt(i);
      long type = 1L << Character.getType(cp);
      boolean word =
          (WORD_TYPES & type) != 0
              || start >= 0 && ((MARK_TYPES & type) != 0 || joinsWordCharacters(lower, i, cp));
      if (word && start < 0) {
        start = i;
      } else if (!word && start >= 0) {
        spans.addRun(lower, start, i, unspacedRun);
        start = -1;
        unspacedRun = false;
      }
      unspacedRun |= word && isUnspaced(cp);
      i += Character.charCount(cp);
    }
    if (start >= 0) {
      spans.addRun(lower, start, lower.length(), unspacedRun);
    }
    return new Words(
        original,
        lower,
        Arrays.copyOf(spans.starts, spans.count),
        Arrays.copyOf(spans.ends, spans.count));
  }

  /**
   * Whether {@code cp} at {@code i}, inside a word, is a zero-width non-joiner or joiner that the
   * next character continues (a letter, digit or mark), so the word goes on past it.
   */
  private static boolean joinsWordCharacters(String text, int i, int cp) {
    if (cp != ZWNJ && cp != ZWJ || i + 1 >= text.length()) {
      return false;
    }
    long next = 1L << Character.getType(text.codePointAt(i + 1));
    return ((WORD_TYPES | MARK_TYPES) & next) != 0;
  }

  /** Whether {@code text} holds a letter of a script written without spaces between words. */
  public static boolean hasUnspacedScript(String text) {
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      if (isUnspaced(cp)) {
        return true;
      }
      i += Character.charCount(cp);
    }
    return false;
  }

  /** Whether {@code cp} belongs to a script written without spaces between words. */
  public static boolean isUnspaced(int cp) {
    if (cp < FIRST_UNSPACED) {
      return false;
    }
    return switch (Character.UnicodeScript.of(cp)) {
      case HAN, HIRAGANA, KATAKANA, THAI, LAO, KHMER, MYANMAR -> true;
      default -> false;
    };
  }

  /** The word spans found so far, as offsets into the lower-cased text. */
  private static final class WordBounds {
    int[] starts = new int[16];
    int[] ends = new int[16];
    int count;

    /** Adds the run {@code [from, to)}, split by ICU when it holds an unspaced script. */
    void addRun(String lower, int from, int to, boolean unspaced) {
      if (!unspaced) {
        add(from, to);
        return;
      }
      ICUTokenizer icu = ICU.get();
      OffsetAttribute offsets = icu.addAttribute(OffsetAttribute.class);
      try {
        icu.setReader(new StringReader(lower.substring(from, to)));
        icu.reset();
        while (icu.incrementToken()) {
          add(from + offsets.startOffset(), from + offsets.endOffset());
        }
        icu.end();
      } catch (IOException e) {
        throw new UncheckedIOException(e); // a StringReader does not throw
      } finally {
        try {
          icu.close();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }

    private void add(int from, int to) {
      if (count == starts.length) {
        starts = Arrays.copyOf(starts, count * 2);
        ends = Arrays.copyOf(ends, count * 2);
      }
      starts[count] = from;
      ends[count++] = to;
    }
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
