package org.dbrxspark.jobs.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Locale;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class WordsTest {
  /** dedup's normalisation before the word split moved here, kept as the reference. */
  private static final Pattern NON_WORD = Pattern.compile("[^\\p{L}\\p{N}]+");

  private static String reference(String text) {
    return NON_WORD.matcher(text.toLowerCase(Locale.ROOT)).replaceAll(" ").strip();
  }

  @Test
  void splitsAsDedupDidOverEveryCodePoint() {
    StringBuilder all = new StringBuilder();
    for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
      all.appendCodePoint(cp);
      if (cp % 7 == 0) {
        all.append(' ');
      }
    }
    all.append('\uD800').append("ab").append('\uDC00');
    assertEquals(reference(all.toString()), Words.normalise(all.toString()));
    for (String s :
        new String[] {
          "",
          "  ",
          "Hello, World!  The QUICK brown fox; jumps.",
          "İstanbul ΣΟΦΟΣ",
          "x²+y² = ½ Ⅻ",
          "don't stop-me now",
          "😀emoji😀 mixed мир 世界"
        }) {
      assertEquals(reference(s), Words.normalise(s), s);
    }
  }

  @Test
  void spansAreTheOriginalText() {
    Words w = Words.of("Tea, or COFFEE? (İstanbul's) best -- café.");
    assertEquals("tea or coffee i stanbul s best café", w.normalised());
    assertEquals("Tea, or COFFEE", w.originalSpan(0, 2));
    // U+0130 lower-cases to two characters: the split sees "i" and a combining dot.
    assertEquals("İstanbul's", w.originalSpan(3, 5));
    assertEquals("best -- café", w.originalSpan(6, 7));
  }
}
