package org.dbrxspark.jobs.curate;

import java.text.Normalizer;
import java.util.regex.Pattern;

/**
 * Cleans text before any signal is computed: repairs what invalid UTF-8 left behind (U+FFFD
 * replacement characters and unpaired surrogates are removed), applies a Unicode normal form,
 * removes control and invisible format characters, and normalises whitespace (line breaks to {@code
 * \n}, other spaces to one ASCII space, no trailing spaces, at most one blank line).
 */
public final class TextNormalizer {
  private static final Pattern TRAILING = Pattern.compile(" +\n|\n +");
  private static final Pattern BLANK_LINES = Pattern.compile("\n{3,}");

  private TextNormalizer() {}

  /**
   * Normalises {@code text}.
   *
   * @param form the normal form, or null to skip Unicode normalisation
   */
  public static String normalize(String text, Normalizer.Form form) {
    if (text == null) {
      return "";
    }
    String unified =
        text.replace("\r\n", "\n")
            .replace('\r', '\n')
            .replace('\u2028', '\n')
            .replace('\u2029', '\n')
            .replace('\u0085', '\n');
    StringBuilder sb = new StringBuilder(unified.length());
    for (int i = 0; i < unified.length(); i++) {
      char c = unified.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < unified.length()
          && Character.isLowSurrogate(unified.charAt(i + 1))) {
        sb.append(c).append(unified.charAt(++i));
      } else if (!dropped(c)) {
        sb.append(c);
      }
    }
    String cleaned = form == null ? sb.toString() : Normalizer.normalize(sb, form);
    String spaced = collapseSpaces(cleaned);
    // The two patterns below match rarely, so each runs only where a match can start.
    String trimmedLines =
        spaced.contains(" \n") || spaced.contains("\n ")
            ? TRAILING.matcher(spaced).replaceAll("\n")
            : spaced;
    String blankLines =
        trimmedLines.contains("\n\n\n")
            ? BLANK_LINES.matcher(trimmedLines).replaceAll("\n\n")
            : trimmedLines;
    return blankLines.strip();
  }

  /**
   * {@code text} with each run of spaces, tabs, vertical tabs, form feeds and other space
   * separators (Unicode Zs) made one ASCII space. The same as replacing the regex {@code [
   * \t\x0B\f\p{Zs}]+} with a space, which matched every single space of a text (most of
   * normalisation's time).
   */
  static String collapseSpaces(String text) {
    StringBuilder sb = null;
    int n = text.length();
    for (int i = 0; i < n; ) {
      char c = text.charAt(i);
      if (!isSpace(c)) {
        if (sb != null) {
          sb.append(c);
        }
        i++;
        continue;
      }
      int end = i + 1;
      while (end < n && isSpace(text.charAt(end))) {
        end++;
      }
      if (sb == null && (c != ' ' || end - i > 1)) {
        sb = new StringBuilder(n).append(text, 0, i);
      }
      if (sb != null) {
        sb.append(' ');
      }
      i = end;
    }
    return sb == null ? text : sb.toString();
  }

  /** Whether {@code c} is a space, tab, vertical tab, form feed or a space separator (Zs). */
  private static boolean isSpace(char c) {
    if (c < 0x80) {
      return c == ' ' || c == '\t' || c == 0x0B || c == '\f';
    }
    return Character.getType(c) == Character.SPACE_SEPARATOR;
  }

  /**
   * Characters removed: lone surrogates, U+FFFD, controls other than tab/newline, invisible
   * formats.
   */
  private static boolean dropped(char c) {
    if (c >= ' ' && c < 0x7F) {
      return false;
    }
    if (Character.isSurrogate(c) || c == '\uFFFD') {
      return true;
    }
    if (c == '\n' || c == '\t') {
      return false;
    }
    int type = Character.getType(c);
    // Format characters (zero-width space, BOM, bidi marks) are invisible noise, but ZWJ/ZWNJ
    // change how some scripts and emoji render, so they stay.
    return type == Character.CONTROL
        || (type == Character.FORMAT && c != '\u200C' && c != '\u200D')
        || c == '\u200B';
  }
}
