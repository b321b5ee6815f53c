package org.dbrxspark.jobs.curate;

import java.util.Locale;

/**
 * Every quality signal curate computes, in the order of the {@code signals} struct column. A value
 * of NaN means "not applicable" (for example stop words in a non-English document) and never fails
 * a filter.
 */
public enum Signal {
  CHARS("characters in the cleaned text"),
  WORDS(
      "words with at least one letter or digit (Gopher); Chinese, Japanese, Thai, Lao, Khmer and Myanmar split"
          + " into words by ICU"),
  MEAN_WORD_LENGTH("mean length of those words, outer punctuation stripped (Gopher)"),
  SYMBOL_WORD_RATIO("('#' + '...' + '\u2026') occurrences per word (Gopher)"),
  BULLET_LINES_FRAC("fraction of non-blank lines starting with a bullet (Gopher)"),
  ELLIPSIS_LINES_FRAC("fraction of non-blank lines ending with an ellipsis (Gopher)"),
  ALPHA_WORDS_FRAC("fraction of whitespace tokens with an alphabetic character (Gopher)"),
  STOP_WORDS(
      "count of Gopher's English stop words (the, be, to, of, and, that, have, with), or of Chinese, Japanese,"
          + " Thai, Lao, Khmer or Myanmar function words in those scripts; NaN in other languages"),
  DUP_LINE_FRAC("fraction of non-blank lines that repeat an earlier line (Gopher)"),
  DUP_PARA_FRAC("fraction of paragraphs that repeat an earlier paragraph (Gopher)"),
  DUP_LINE_CHAR_FRAC("fraction of characters in repeated lines (Gopher)"),
  DUP_PARA_CHAR_FRAC("fraction of characters in repeated paragraphs (Gopher)"),
  TOP_2GRAM_CHAR_FRAC("fraction of word characters in the most frequent word 2-gram (Gopher)"),
  TOP_3GRAM_CHAR_FRAC("same for 3-grams (Gopher)"),
  TOP_4GRAM_CHAR_FRAC("same for 4-grams (Gopher)"),
  DUP_5GRAM_CHAR_FRAC("fraction of word characters covered by repeated word 5-grams (Gopher)"),
  DUP_6GRAM_CHAR_FRAC("same for 6-grams (Gopher)"),
  DUP_7GRAM_CHAR_FRAC("same for 7-grams (Gopher)"),
  DUP_8GRAM_CHAR_FRAC("same for 8-grams (Gopher)"),
  DUP_9GRAM_CHAR_FRAC("same for 9-grams (Gopher)"),
  DUP_10GRAM_CHAR_FRAC("same for 10-grams (Gopher)"),
  C4_LINES_REMOVED("lines removed by the C4 line rules"),
  LOREM_IPSUM("occurrences of 'lorem ipsum' (C4)"),
  CURLY_BRACKETS("occurrences of '{' (C4)"),
  SENTENCES(
      "sentences (terminal punctuation followed by space or end, or a full-width, Khmer or Myanmar full stop)"
          + " after the C4 line rules (C4)"),
  LINE_PUNCT_FRAC("fraction of lines ending in terminal punctuation, after C4 (FineWeb)"),
  SHORT_LINE_FRAC(
      "fraction of lines of at most 30 characters (10 in Chinese and Japanese), after C4 (FineWeb)"),
  CHAR_DUP_FRAC("fraction of non-newline characters in repeated lines, after C4 (FineWeb)"),
  NEWLINE_WORD_RATIO("newlines per word, after C4 (FineWeb)"),
  PII_REDACTIONS("e-mail, IP and phone placeholders inserted"),
  LANG_SCORE("language-identification confidence of the detected language (0..1)");

  private final String description;

  Signal(String description) {
    this.description = description;
  }

  /** The field name in the {@code signals} struct, e.g. {@code mean_word_length}. */
  public String field() {
    return name().toLowerCase(Locale.ROOT);
  }

  public String description() {
    return description;
  }
}
