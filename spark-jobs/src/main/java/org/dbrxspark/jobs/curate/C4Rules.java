package org.dbrxspark.jobs.curate;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * C4's line rules (Raffel et al. 2020, section 2.2), which edit the text, and its document signals.
 * A line is removed when it mentions javascript or a cookie / terms / privacy policy, has fewer
 * than {@code minWordsPerLine} words, or (when {@code requireTerminalPunct}, off by default as in
 * FineWeb) does not end in terminal punctuation; citation markers such as {@code [1]} and {@code
 * [edit]} are deleted. Blank lines are kept as paragraph breaks.
 *
 * @param enabled whether lines are removed at all
 */
record C4Rules(boolean enabled, int minWordsPerLine, boolean requireTerminalPunct)
    implements Serializable {
  private static final List<String> POLICY =
      List.of(
          "terms of use",
          "privacy policy",
          "cookie policy",
          "uses cookies",
          "use of cookies",
          "use cookies");
  private static final Pattern CITATION =
      Pattern.compile("\\[\\d*]|\\[edit]|\\[citation needed]", Pattern.CASE_INSENSITIVE);

  /**
   * A sentence end: Latin terminal punctuation before a space or the end, or a full-width one
   * (Chinese and Japanese write the next sentence straight after it), or a Khmer (khan, bariyoosan)
   * or Myanmar (section) full stop.
   */
  private static final Pattern SENTENCE_END =
      Pattern.compile("[.!?\u2026]+[\"')\\]]*(?=\\s|$)|[\u3002\uff01\uff1f\u17d4\u17d5\u104b]+");

  /** The text with offending lines removed; {@code removed[0]} receives how many. */
  String filterLines(String text, int[] removed) {
    if (!enabled) {
      return text;
    }
    StringBuilder sb = new StringBuilder(text.length());
    for (String raw : text.split("\n", -1)) {
      String line = CITATION.matcher(raw).replaceAll("").strip();
      if (line.isEmpty()) {
        if (sb.length() > 0 && !endsWithBlankLine(sb)) {
          sb.append('\n');
        }
        continue;
      }
      if (keep(line)) {
        sb.append(line).append('\n');
      } else {
        removed[0]++;
      }
    }
    return sb.toString().replaceAll("\n{3,}", "\n\n").strip();
  }

  private static boolean endsWithBlankLine(StringBuilder sb) {
    return sb.length() >= 2
        && sb.charAt(sb.length() - 1) == '\n'
        && sb.charAt(sb.length() - 2) == '\n';
  }

  private boolean keep(String line) {
    String lower = line.toLowerCase(Locale.ROOT);
    if (lower.contains("javascript") || POLICY.stream().anyMatch(lower::contains)) {
      return false;
    }
    if (TextView.wordCount(line) < minWordsPerLine) {
      return false;
    }
    return !requireTerminalPunct || TextView.endsWithTerminalPunctuation(line);
  }

  /** Fills the C4 document signals for the text after the line rules. */
  static void compute(TextView after, String before, double[] out) {
    out[Signal.LOREM_IPSUM.ordinal()] =
        GopherSignals.count(before.toLowerCase(Locale.ROOT), "lorem ipsum");
    out[Signal.CURLY_BRACKETS.ordinal()] = GopherSignals.count(before, "{");
    int sentences = 0;
    Matcher m = SENTENCE_END.matcher(after.text);
    while (m.find()) {
      sentences++;
    }
    out[Signal.SENTENCES.ordinal()] = sentences;
  }
}
