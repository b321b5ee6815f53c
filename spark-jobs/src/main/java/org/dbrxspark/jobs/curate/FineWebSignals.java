package org.dbrxspark.jobs.curate;

/** FineWeb's custom filter signals (Penedo et al. 2024, section 3.3), on the text after C4. */
final class FineWebSignals {
  private static final int SHORT_LINE_CHARS = 30;

  private FineWebSignals() {}

  static void compute(TextView v, double[] out) {
    int punct = 0;
    int shortLines = 0;
    for (String line : v.lines) {
      if (TextView.endsWithTerminalPunctuation(line)) {
        punct++;
      }
      if (line.length() <= SHORT_LINE_CHARS) {
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
