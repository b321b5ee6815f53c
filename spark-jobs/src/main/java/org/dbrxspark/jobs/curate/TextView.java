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
      if (unspaced && Words.hasUnspacedScript(tok)) {
        Words split = Words.of(tok);
        for (int i = 0; i < split.count(); i++) {
          tokens.add(split.word(i));
          words.add(split.word(i));
        }
      } else {
        tokens.add(tok);
        addWord(tok, words);
      }
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
      return line.isBlank() ? 0 : line.strip().split("\\s+").length;
    }
    int count = 0;
    for (String tok : line.split("\\s+")) {
      if (Words.hasUnspacedScript(tok)) {
        count += Words.of(tok).count();
      } else if (!tok.isEmpty()) {
        count++;
      }
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
