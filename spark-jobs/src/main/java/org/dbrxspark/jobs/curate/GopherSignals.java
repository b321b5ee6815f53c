package org.dbrxspark.jobs.curate;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Gopher quality and repetition signals (Rae et al. 2021, appendix A). */
final class GopherSignals {
  static final Set<String> STOP_WORDS =
      Set.of("the", "be", "to", "of", "and", "that", "have", "with");

  /**
   * Function words that any running Chinese, Japanese, Thai, Lao, Khmer or Myanmar text uses, as
   * ICU segments them (conjunctions, particles, prepositions, the copula, negation): Gopher's test
   * (prose has some) carried to the languages whose words it could not see. FineWeb-2 likewise
   * draws its stop words per language.
   */
  static final Set<String> CHINESE_STOP_WORDS =
      Set.of("的", "了", "是", "在", "和", "有", "也", "就", "都", "而", "与", "及", "对", "为", "其", "这", "不");

  static final Set<String> JAPANESE_STOP_WORDS =
      Set.of("の", "に", "は", "を", "が", "で", "と", "た", "て", "も", "な", "から", "まで", "です", "ます");

  static final Set<String> THAI_STOP_WORDS =
      Set.of(
          "ที่", "และ", "ใน", "ของ", "เป็น", "การ", "ได้", "มี", "ให้", "ว่า", "จะ", "ไม่", "กับ",
          "แห่ง", "โดย", "หรือ", "ซึ่ง", "นี้", "อย่าง");

  static final Set<String> LAO_STOP_WORDS =
      Set.of(
          "ແລະ", "ທີ່", "ຂອງ", "ໃນ", "ຈະ", "ມີ", "ຫຼື", "ນັ້ນ", "ໂດຍ", "ການ", "ໃຫ້", "ເປັນ", "ໄດ້",
          "ດ້ວຍ", "ຕາມ", "ວ່າ", "ບໍ່", "ນີ້", "ຈາກ", "ກັບ", "ແຕ່");

  static final Set<String> KHMER_STOP_WORDS =
      Set.of(
          "និង", "មាន", "ការ", "ឬ", "របស់", "ដែល", "ដោយ", "ក្នុង", "បាន", "នៃ", "ឱ្យ", "ជា", "នេះ",
          "ពី", "ថា", "តាម", "លើ", "នឹង", "មិន", "ទៅ");

  static final Set<String> MYANMAR_STOP_WORDS =
      Set.of(
          "ကို", "များ", "သည်", "နှင့်", "ရှိ", "ဖြစ်", "ခြင်း", "သော", "တွင်", "မှ", "ရန်",
          "ဖြင့်", "အတွက်", "က", "လည်း", "မည်", "သို့");
  private static final String BULLETS = "\u2022\u2023\u25E6\u2043\u25CF\u25CB\u25AA\u00B7-*";
  private static final Signal[] TOP = {
    Signal.TOP_2GRAM_CHAR_FRAC, Signal.TOP_3GRAM_CHAR_FRAC, Signal.TOP_4GRAM_CHAR_FRAC
  };

  /** The repeated n-gram signals, n = 5 to 10. */
  static final Signal[] DUP = {
    Signal.DUP_5GRAM_CHAR_FRAC,
    Signal.DUP_6GRAM_CHAR_FRAC,
    Signal.DUP_7GRAM_CHAR_FRAC,
    Signal.DUP_8GRAM_CHAR_FRAC,
    Signal.DUP_9GRAM_CHAR_FRAC,
    Signal.DUP_10GRAM_CHAR_FRAC
  };

  private GopherSignals() {}

  /**
   * Fills the Gopher signals of {@code v} into {@code out}; {@code english} gates the English
   * stop-word count in spaced text.
   */
  static void compute(TextView v, boolean english, double[] out) {
    int words = v.words.size();
    out[Signal.WORDS.ordinal()] = words;
    // Word lengths in code points, for the mean and for every n-gram fraction alike: in UTF-16
    // units a repeated emoji would count twice over a total that counts it once.
    int[] lengths = new int[words];
    double wordChars = 0;
    for (int i = 0; i < words; i++) {
      String w = v.words.get(i);
      lengths[i] = w.codePointCount(0, w.length());
      wordChars += lengths[i];
    }
    out[Signal.MEAN_WORD_LENGTH.ordinal()] = words == 0 ? 0 : wordChars / words;
    int symbols = count(v.text, "#") + count(v.text, "...") + count(v.text, "\u2026");
    out[Signal.SYMBOL_WORD_RATIO.ordinal()] =
        words == 0 ? (symbols > 0 ? Double.MAX_VALUE : 0) : (double) symbols / words;
    int bullets = 0;
    int ellipses = 0;
    for (String line : v.lines) {
      if (BULLETS.indexOf(line.charAt(0)) >= 0) {
        bullets++;
      }
      if (line.endsWith("...") || line.endsWith("\u2026")) {
        ellipses++;
      }
    }
    out[Signal.BULLET_LINES_FRAC.ordinal()] = frac(bullets, v.lines.size());
    out[Signal.ELLIPSIS_LINES_FRAC.ordinal()] = frac(ellipses, v.lines.size());
    int alpha = 0;
    for (String t : v.tokens) {
      if (hasLetter(t)) {
        alpha++;
      }
    }
    out[Signal.ALPHA_WORDS_FRAC.ordinal()] =
        v.tokens.isEmpty() ? 0 : (double) alpha / v.tokens.size();
    Set<String> stopWords =
        switch (v.writing) {
          case SPACED -> english ? STOP_WORDS : null;
          case CHINESE -> CHINESE_STOP_WORDS;
          case JAPANESE -> JAPANESE_STOP_WORDS;
          case THAI -> THAI_STOP_WORDS;
          case LAO -> LAO_STOP_WORDS;
          case KHMER -> KHMER_STOP_WORDS;
          case MYANMAR -> MYANMAR_STOP_WORDS;
        };
    out[Signal.STOP_WORDS.ordinal()] = stopWords == null ? Double.NaN : count(v.words, stopWords);

    double[] lineDup = duplicates(v.lines);
    out[Signal.DUP_LINE_FRAC.ordinal()] = frac(lineDup[0], v.lines.size());
    out[Signal.DUP_LINE_CHAR_FRAC.ordinal()] = frac(lineDup[1], v.text.length());
    double[] paraDup = duplicates(v.paragraphs);
    out[Signal.DUP_PARA_FRAC.ordinal()] = frac(paraDup[0], v.paragraphs.size());
    out[Signal.DUP_PARA_CHAR_FRAC.ordinal()] = frac(paraDup[1], v.text.length());

    long[] ids = new long[words];
    Map<String, Integer> vocabulary = new HashMap<>(words * 2);
    for (int i = 0; i < words; i++) {
      String w = v.words.get(i);
      Integer id = vocabulary.putIfAbsent(w, vocabulary.size());
      ids[i] = id == null ? vocabulary.size() - 1 : id;
    }
    NgramTable ngrams = new NgramTable(words);
    for (int n = 2; n <= 4; n++) {
      out[TOP[n - 2].ordinal()] = topNgramCharFrac(ids, lengths, n, wordChars, ngrams);
    }
    duplicateNgramCharFracs(ids, lengths, wordChars, ngrams, out);
  }

  /**
   * {count of repeated elements, characters in them}, counting every occurrence after the first.
   */
  static double[] duplicates(List<String> elements) {
    Set<String> seen = new HashSet<>(elements.size() * 2);
    double count = 0;
    double chars = 0;
    for (String e : elements) {
      if (!seen.add(e)) {
        count++;
        chars += e.length();
      }
    }
    return new double[] {count, chars};
  }

  /**
   * Characters of the most frequent n-gram times its count, over all word characters (0 if none
   * repeats).
   */
  private static double topNgramCharFrac(
      long[] ids, int[] lengths, int n, double wordChars, NgramTable counts) {
    if (ids.length < n) {
      return 0;
    }
    counts.clear();
    int best = 0;
    int bestChars = 0;
    for (int i = 0; i + n <= ids.length; i++) {
      int c = counts.increment(ngramKey(ids, i, n));
      if (c > best) {
        best = c;
        bestChars = 0;
        for (int j = i; j < i + n; j++) {
          bestChars += lengths[j];
        }
      }
    }
    return best < 2 ? 0 : Math.min(1, bestChars * (double) best / wordChars);
  }

  /**
   * For n = 5 to 10, the word characters covered by any n-gram that occurs more than once, each
   * word counted once. An (n+1)-gram can only repeat where the n-grams at its first and second
   * words both do, so each n looks only at the starts the n before left.
   */
  private static void duplicateNgramCharFracs(
      long[] ids, int[] lengths, double wordChars, NgramTable first, double[] out) {
    int[] starts = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      starts[i] = i;
    }
    int count = ids.length;
    boolean[] repeated = new boolean[ids.length];
    boolean[] covered = new boolean[ids.length];
    for (int n = 5; n <= 10; n++) {
      first.clear();
      Arrays.fill(repeated, false);
      Arrays.fill(covered, false);
      for (int k = 0; k < count && starts[k] + n <= ids.length; k++) {
        int i = starts[k];
        int prev = first.putIfAbsent(ngramKey(ids, i, n), i);
        if (prev >= 0) {
          repeated[i] = true;
          repeated[prev] = true;
          Arrays.fill(covered, i, i + n, true);
          Arrays.fill(covered, prev, prev + n, true);
        }
      }
      double chars = 0;
      for (int i = 0; i < ids.length; i++) {
        if (covered[i]) {
          chars += lengths[i];
        }
      }
      out[DUP[n - 5].ordinal()] = ids.length < n ? 0 : chars / wordChars;
      int left = 0;
      for (int k = 0; k < count; k++) {
        int i = starts[k];
        if (i + 1 < ids.length && repeated[i] && repeated[i + 1]) {
          starts[left++] = i;
        }
      }
      count = left;
    }
  }

  /**
   * A 64-bit key for the n word ids starting at {@code from}; collisions are negligible at document
   * scale.
   */
  private static long ngramKey(long[] ids, int from, int n) {
    long h = 0xcbf29ce484222325L;
    for (int j = from; j < from + n; j++) {
      h = (h ^ ids[j]) * 0x100000001b3L;
      h ^= h >>> 29;
    }
    return h;
  }

  /** Whether {@code token} holds a letter ({@link Character#isAlphabetic}). */
  private static boolean hasLetter(String token) {
    for (int i = 0; i < token.length(); ) {
      int cp = token.codePointAt(i);
      if (Character.isAlphabetic(cp)) {
        return true;
      }
      i += Character.charCount(cp);
    }
    return false;
  }

  /** How many of {@code words} are in {@code set}. */
  private static int count(List<String> words, Set<String> set) {
    int count = 0;
    for (String w : words) {
      if (set.contains(w)) {
        count++;
      }
    }
    return count;
  }

  static int count(String text, String needle) {
    int count = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length())) {
      count++;
    }
    return count;
  }

  static double frac(double part, double whole) {
    return whole == 0 ? 0 : part / whole;
  }
}
