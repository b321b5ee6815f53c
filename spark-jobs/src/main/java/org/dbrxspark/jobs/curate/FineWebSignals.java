package org.dbrxspark.jobs.curate;

/** FineWeb's custom filter signals (Penedo et al. 2024, section 3.3), on the text after C4. */
final class FineWebSignals {
  private static final int SHORT_LINE_CHARS = 30;

  /**
   * A Chinese or Japanese character carries about three Latin ones' worth of text (the same
   * declaration takes 3.8 times the characters in English as in Chinese, 2.6 times as in Japanese),
   * so their short lines are shorter. Thai spells words out in letters much as English does.
   */
  private static final int SHORT_LINE_HAN_CHARS = 10;

  private FineWebSignals() {}

  static void compute(TextView v, double[] out) {
    int shortChars =
        v.writing == WritingSystem.CHINESE || v.writing == WritingSystem.JAPANESE
            ? SHORT_LINE_HAN_CHARS
            : SHORT_LINE_CHARS;
    int punct = 0;
    int shortLines = 0;
    for (String line : v.lines) {
      if (TextView.endsWithTerminalPunctuation(line)) {
        punct++;
      }
      if (line.length() <= shortChars) {
        shortLines++;
      }
    }
    int lines = v.lines.size();
    out[Signal.LINE_PUNCT_FRAC.ordinal()] = lines == 0 ? 0 : (double) punct / lines;
    out[Signal.SHORT_LINE_FRAC.ordinal()] = lines == 0 ? 0 : (double) shortLines / lines;
    double dupChars = GopherSignals.duplicates(v.lines)[1];
    int chars = v.text.length() - GopherSignals.count(v.text, "\n");
    out[Signal.CHAR_DUP_FRAC.ordinal()] = GopherSignals.frac(dupChars, chars);
    int words = v.words.size();
    int newlines = GopherSignals.count(v.text, "\n");
    out[Signal.NEWLINE_WORD_RATIO.ordinal()] =
        words == 0 ? (newlines > 0 ? Double.MAX_VALUE : 0) : (double) newlines / words;
  }
}
