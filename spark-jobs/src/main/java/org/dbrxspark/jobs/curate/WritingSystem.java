package org.dbrxspark.jobs.curate;

import java.util.Locale;
import org.dbrxspark.jobs.text.Words;

/**
 * How a document's words are written, decided from its letters rather than from language
 * identification (which may be off, or not know the language): with spaces between words, or in one
 * of the scripts without them. A filter may hold another threshold for a writing system than for
 * spaced text, as FineWeb-2 tunes its thresholds per language; {@link QualityFilters} says which
 * and why.
 */
public enum WritingSystem {
  /** Words separated by spaces: Latin, Cyrillic, Greek, Arabic, Hangul, Devanagari, ... */
  SPACED,
  /** Han without kana. */
  CHINESE,
  /** Han with kana (at least {@value #MIN_KANA_PERCENT}% of the Han and kana letters). */
  JAPANESE,
  THAI,
  LAO,
  KHMER,
  MYANMAR;

  static final int MIN_KANA_PERCENT = 20;

  /** The lower-case name, as docs and the signals' description show it. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The writing system of {@code text}: spaced unless letters of unspaced scripts outnumber the
   * others, and then the unspaced script with most letters (Han and kana together counting as
   * Japanese when there is enough kana; a tie goes to the script listed first here).
   */
  static WritingSystem of(String text) {
    int spaced = 0;
    int kana = 0;
    // Letters per unspaced writing system, Han counted under CHINESE.
    int[] letters = new int[values().length];
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      if (!Character.isLetter(cp)) {
        continue;
      }
      if (!Words.isUnspaced(cp)) {
        spaced++;
        continue;
      }
      switch (Character.UnicodeScript.of(cp)) {
        case HIRAGANA, KATAKANA -> kana++;
        case THAI -> letters[THAI.ordinal()]++;
        case LAO -> letters[LAO.ordinal()]++;
        case KHMER -> letters[KHMER.ordinal()]++;
        case MYANMAR -> letters[MYANMAR.ordinal()]++;
        default -> letters[CHINESE.ordinal()]++; // HAN
      }
    }
    int han = letters[CHINESE.ordinal()];
    letters[CHINESE.ordinal()] += kana;
    int unspaced = 0;
    WritingSystem most = CHINESE;
    for (WritingSystem w : values()) {
      unspaced += letters[w.ordinal()];
      if (letters[w.ordinal()] > letters[most.ordinal()]) {
        most = w;
      }
    }
    if (unspaced <= spaced) {
      return SPACED;
    }
    if (most != CHINESE) {
      return most;
    }
    return kana * 100 >= (han + kana) * MIN_KANA_PERCENT ? JAPANESE : CHINESE;
  }
}
