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
  /** Lao, Khmer, Myanmar: segmented like the others, with no thresholds of their own. */
  OTHER_UNSPACED;

  static final int MIN_KANA_PERCENT = 20;

  /** The lower-case name, as docs and the signals' description show it. */
  public String label() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * The writing system of {@code text}: spaced unless letters of unspaced scripts outnumber the
   * others, and then the unspaced script with most letters (Han and kana together counting as
   * Japanese when there is enough kana).
   */
  static WritingSystem of(String text) {
    int spaced = 0;
    int han = 0;
    int kana = 0;
    int thai = 0;
    int other = 0;
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
        case HAN -> han++;
        case HIRAGANA, KATAKANA -> kana++;
        case THAI -> thai++;
        default -> other++;
      }
    }
    int unspaced = han + kana + thai + other;
    if (unspaced <= spaced) {
      return SPACED;
    }
    if (thai >= han + kana && thai >= other) {
      return THAI;
    }
    if (other > han + kana) {
      return OTHER_UNSPACED;
    }
    return kana * 100 >= (han + kana) * MIN_KANA_PERCENT ? JAPANESE : CHINESE;
  }
}
