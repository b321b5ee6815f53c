package org.dbrxspark.jobs.curate;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.dbrxspark.jobs.text.ScriptFullStops;

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
  private static final String LOREM_IPSUM = "lorem ipsum";
  private static final Pattern BLANK_LINES = Pattern.compile("\n{3,}");
  private static final Pattern CITATION =
      Pattern.compile("\\[\\d*]|\\[edit]|\\[citation needed]", Pattern.CASE_INSENSITIVE);

  /** The text with offending lines removed; {@code removed[0]} receives how many. */
  String filterLines(String text, int[] removed) {
    if (!enabled) {
      return text;
    }
    StringBuilder sb = new StringBuilder(text.length());
    for (String raw : text.split("\n", -1)) {
      // Every citation marker starts with '['.
      String line = (raw.indexOf('[') < 0 ? raw : CITATION.matcher(raw).replaceAll("")).strip();
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
    String kept = sb.toString();
    return (kept.contains("\n\n\n") ? BLANK_LINES.matcher(kept).replaceAll("\n\n") : kept).strip();
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
    out[Signal.LOREM_IPSUM.ordinal()] = countIgnoringAsciiCase(before, LOREM_IPSUM);
    out[Signal.CURLY_BRACKETS.ordinal()] = GopherSignals.count(before, "{");
    out[Signal.SENTENCES.ordinal()] = sentenceEnds(after.text);
  }

  /**
   * Occurrences of {@code needle} (lower case ASCII, no overlap with itself) in {@code text}, ASCII
   * letters compared in either case: the count in the text lower-cased, without lower-casing it (no
   * other character lower-cases to the needle's letters; U+0130 gives an i and a dot).
   */
  static int countIgnoringAsciiCase(String text, String needle) {
    int count = 0;
    int last = text.length() - needle.length();
    for (int i = 0; i <= last; i++) {
      int k = 0;
      while (k < needle.length() && asciiLower(text.charAt(i + k)) == needle.charAt(k)) {
        k++;
      }
      if (k == needle.length()) {
        count++;
        i += needle.length() - 1;
      }
    }
    return count;
  }

  private static char asciiLower(char c) {
    return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
  }

  /**
   * Sentence ends in {@code text}: runs of Latin terminal punctuation (. ! ? …), with the closing
   * quotes and brackets after them, before a space or the end, and runs of script full stops: the
   * full-width ones (。！？, after which Chinese and Japanese write the next sentence straight on),
   * Khmer's khan and bariyoosan (។ ៕) and Myanmar's section mark (။). The matches of the regex
   * {@code [.!?…]+["')\]]*(?=\s|$)|[。！？។៕။]+}, counted in one scan.
   */
  static int sentenceEnds(String text) {
    int count = 0;
    int n = text.length();
    for (int i = 0; i < n; ) {
      char c = text.charAt(i);
      int end = i + 1;
      if (isLatinEnd(c)) {
        while (end < n && isLatinEnd(text.charAt(end))) {
          end++;
        }
        while (end < n && isCloser(text.charAt(end))) {
          end++;
        }
        // A shorter run is followed by punctuation, never a space, so it cannot match either.
        count += endsSentenceAt(text, end) ? 1 : 0;
      } else if (ScriptFullStops.is(c)) {
        while (end < n && ScriptFullStops.is(text.charAt(end))) {
          end++;
        }
        count++;
      }
      i = end;
    }
    return count;
  }

  private static boolean isLatinEnd(char c) {
    return c == '.' || c == '!' || c == '?' || c == '\u2026';
  }

  private static boolean isCloser(char c) {
    return c == '"' || c == '\'' || c == ')' || c == ']';
  }

  /**
   * The regex {@code (?=\s|$)} at {@code at}: a space, the end, or a line terminator that ends the
   * text ({@code $} matches before one).
   */
  private static boolean endsSentenceAt(String text, int at) {
    int left = text.length() - at;
    if (left == 0 || TextView.isSpace(text.charAt(at))) {
      return true;
    }
    char c = text.charAt(at);
    return left == 1 && (c == '\u0085' || c == '\u2028' || c == '\u2029');
  }
}
