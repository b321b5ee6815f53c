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

  /** Every script written with spaces splits as before; the others are segmented (below). */
  @Test
  void splitsAsDedupDidOverEveryCodePointOfSpacedScripts() {
    StringBuilder all = new StringBuilder();
    for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
      if (Words.isUnspaced(cp)) {
        continue;
      }
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
          "😀emoji😀 mixed мир 世界" // one dictionary word: splits as before
        }) {
      assertEquals(reference(s), Words.normalise(s), s);
    }
  }

  @Test
  void segmentsScriptsWrittenWithoutSpaces() {
    assertEquals("我们 今天 去 北京 大学", Words.normalise("我们今天去北京大学"));
    assertEquals("私 は 東京 に 住 んで い ます", Words.normalise("私は東京に住んでいます。"));
    // Thai vowel and tone marks (category Mn) stay inside their words.
    assertEquals("ภาษา ไทย ง่าย", Words.normalise("ภาษาไทยง่าย"));
    // Latin inside a CJK run keeps its own words; numbers too.
    assertEquals("iphone 手机 2020 年", Words.normalise("iPhone手机2020年"));
    Words w = Words.of("Tea，我们今天去北京。");
    assertEquals("我们今天", w.originalSpan(1, 2));
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
