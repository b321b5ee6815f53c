package org.dbrxspark.jobs.curate;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.dbrxspark.jobs.text.Words;

/**
 * A cleaned text split once into the units the signals count: lines, paragraphs and words, and the
 * writing system that picks the thresholds.
 */
final class TextView {
  final String text;

  final WritingSystem writing;

  /** Non-blank lines, trimmed. */
  final List<String> lines = new ArrayList<>();

  /** Blocks separated by blank lines. */
  final List<String> paragraphs = new ArrayList<>();

  /**
   * Whitespace-separated tokens; a token in a script written without spaces counts as its words, as
   * Gopher's "words" are.
   */
  final List<String> tokens = new ArrayList<>();

  /**
   * Tokens with a letter or digit, outer punctuation stripped, lower case; a token in a script
   * written without spaces is split into its words ({@link Words}).
   */
  final List<String> words = new ArrayList<>();

  TextView(String text) {
    this.text = text;
    boolean unspaced = Words.hasUnspacedScript(text);
    this.writing = unspaced ? WritingSystem.of(text) : WritingSystem.SPACED;
    int n = text.length();
    for (int start = 0; start <= n; ) {
      int end = text.indexOf('\n', start);
      end = end < 0 ? n : end;
      addStripped(text, start, end, lines);
      start = end + 1;
    }
    // Paragraphs are split where a run of whitespace holds two line breaks: the pieces between
    // text.split("\n\\s*\n"), stripped.
    int paragraphStart = 0;
    for (int i = text.indexOf('\n'); i >= 0 && i < n; ) {
      int lastBreak = i;
      int j = i + 1;
      for (; j < n && isSpace(text.charAt(j)); j++) {
        lastBreak = text.charAt(j) == '\n' ? j : lastBreak;
      }
      if (lastBreak > i) {
        addStripped(text, paragraphStart, i, paragraphs);
        paragraphStart = lastBreak + 1;
      }
      i = j < n ? text.indexOf('\n', j) : -1;
    }
    addStripped(text, paragraphStart, n, paragraphs);
    for (int end = 0, start = nextToken(text, 0); start < n; start = nextToken(text, end)) {
      end = tokenEnd(text, start);
      String tok = text.substring(start, end);
      if (unspaced && Words.hasUnspacedScript(tok)) {
        Words split = Words.of(tok);
        for (int k = 0; k < split.count(); k++) {
          tokens.add(split.word(k));
          words.add(split.word(k));
        }
      } else {
        tokens.add(tok);
        addWord(tok, words);
      }
    }
  }

  /** Whether {@code c} separates whitespace tokens: the characters of the regex {@code \s}. */
  static boolean isSpace(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
  }

  /** Where the token at or after {@code from} starts ({@code s.length()} if none). */
  private static int nextToken(String s, int from) {
    int i = from;
    while (i < s.length() && isSpace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  /** Where the token starting at {@code from} ends. */
  private static int tokenEnd(String s, int from) {
    int i = from;
    while (i < s.length() && !isSpace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  /** Adds {@code text[from, to)}, stripped, to {@code parts} unless it is blank. */
  private static void addStripped(String text, int from, int to, List<String> parts) {
    String t = text.substring(from, to).strip();
    if (!t.isEmpty()) {
      parts.add(t);
    }
  }

  /** Adds spaced token {@code token} to {@code words} unless it is all punctuation. */
  private static void addWord(String token, List<String> words) {
    String w = stripPunctuation(token);
    if (!w.isEmpty()) {
      words.add(w.toLowerCase(Locale.ROOT));
    }
  }

  /**
   * The words of one line, as the C4 line rules count them: whitespace tokens, a token in a script
   * written without spaces counting as its words.
   */
  static int wordCount(String line) {
    if (!Words.hasUnspacedScript(line)) {
      if (line.isBlank()) {
        return 0;
      }
      String t = line.strip();
      int count = 0;
      for (int start = nextToken(t, 0);
          start < t.length();
          start = nextToken(t, tokenEnd(t, start))) {
        count++;
      }
      return count;
    }
    int count = 0;
    for (int start = nextToken(line, 0); start < line.length(); ) {
      int end = tokenEnd(line, start);
      String tok = line.substring(start, end);
      count += Words.hasUnspacedScript(tok) ? Words.of(tok).count() : 1;
      start = nextToken(line, end);
    }
    return count;
  }

  /**
   * {@code token} from its first letter or digit to its last letter, digit or combining mark (a
   * Hindi word may end in a vowel sign, category Mc).
   */
  static String stripPunctuation(String token) {
    int start = 0;
    int end = token.length();
    while (start < end && !Character.isLetterOrDigit(token.codePointAt(start))) {
      start += Character.charCount(token.codePointAt(start));
    }
    while (end > start && !endsWord(token.codePointBefore(end))) {
      end -= Character.charCount(token.codePointBefore(end));
    }
    return token.substring(start, end);
  }

  private static boolean endsWord(int cp) {
    return switch (Character.getType(cp)) {
      case Character.NON_SPACING_MARK, Character.COMBINING_SPACING_MARK, Character.ENCLOSING_MARK ->
          true;
      default -> Character.isLetterOrDigit(cp);
    };
  }

  /**
   * Whether {@code line} ends a sentence: . ! ? " ' … or the full-width 。！？」』, or Khmer's ។ ៕ or
   * Myanmar's ။.
   */
  static boolean endsWithTerminalPunctuation(String line) {
    return line.endsWith(".")
        || line.endsWith("\u3002")
        || line.endsWith("\uff01")
        || line.endsWith("\uff1f")
        || line.endsWith("\u300d")
        || line.endsWith("\u300f")
        || line.endsWith("\u17d4")
        || line.endsWith("\u17d5")
        || line.endsWith("\u104b")
        || line.endsWith("!")
        || line.endsWith("?")
        || line.endsWith("\"")
        || line.endsWith("'")
        || line.endsWith("\u2026");
  }
}
