package org.dbrxspark.jobs.curate;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A cleaned text split once into the units the signals count: lines, paragraphs and words. */
final class TextView {
  final String text;

  /** Non-blank lines, trimmed. */
  final List<String> lines = new ArrayList<>();

  /** Blocks separated by blank lines. */
  final List<String> paragraphs = new ArrayList<>();

  /** Whitespace-separated tokens. */
  final List<String> tokens = new ArrayList<>();

  /** Tokens with a letter or digit, outer punctuation stripped, lower case. */
  final List<String> words = new ArrayList<>();

  TextView(String text) {
    this.text = text;
    for (String line : text.split("\n")) {
      String t = line.strip();
      if (!t.isEmpty()) {
        lines.add(t);
      }
    }
    for (String p : text.split("\n\\s*\n")) {
      String t = p.strip();
      if (!t.isEmpty()) {
        paragraphs.add(t);
      }
    }
    for (String tok : text.split("\\s+")) {
      if (tok.isEmpty()) {
        continue;
      }
      tokens.add(tok);
      String w = stripPunctuation(tok);
      if (!w.isEmpty()) {
        words.add(w.toLowerCase(Locale.ROOT));
      }
    }
  }

  /** {@code token} without leading and trailing characters that are not letters or digits. */
  static String stripPunctuation(String token) {
    int start = 0;
    int end = token.length();
    while (start < end && !Character.isLetterOrDigit(token.codePointAt(start))) {
      start += Character.charCount(token.codePointAt(start));
    }
    while (end > start && !Character.isLetterOrDigit(token.codePointBefore(end))) {
      end -= Character.charCount(token.codePointBefore(end));
    }
    return token.substring(start, end);
  }

  static boolean endsWithTerminalPunctuation(String line) {
    return line.endsWith(".")
        || line.endsWith("!")
        || line.endsWith("?")
        || line.endsWith("\"")
        || line.endsWith("'")
        || line.endsWith("\u2026");
  }
}
