package org.dbrxspark.jobs.curate;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.github.pemistahl.lingua.api.Language;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.Character.UnicodeScript;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Lingua's low-accuracy ranking of candidate languages for a text, computed from Lingua's own
 * n-gram models in primitive tables, for the shortlist's first pass ({@link LanguageIdentifier}).
 *
 * <p>Lingua scores a text for a language as the sum, over the text's distinct trigrams (three
 * letters in a row once the text is lower-cased and its punctuation and digits removed), of the log
 * relative frequency of the trigram in that language, falling back to the trigram's first two
 * letters and then its first letter when the language has not seen it; a language with no such
 * frequency at all is not ranked. It keeps one string-keyed hash map per language, so a first pass
 * over 22 candidates makes 22 lookups per trigram, and those lookups were most of curate's time.
 * Here one probe per trigram finds every language that has seen it.
 *
 * <p>Lingua first applies rules to the text's scripts and letters. The ranking covers the case
 * where those rules leave the statistics to decide: every letter in one script, written by at least
 * two of the candidates. For any other text {@link #rank} returns null and the caller asks Lingua.
 * Lingua always makes the final decision among the shortlist, rules included.
 */
final class TrigramRanking {
  private static final Map<Set<Language>, TrigramRanking> CACHE = new ConcurrentHashMap<>();

  private final Language[] languages;
  private final Map<UnicodeScript, boolean[]> writers;

  // Trigram -> row; a row's entries (language index, log frequency) are in [rowStart[r],
  // rowStart[r + 1]).
  private final NgramTable trigramRows;
  private final int[] rowStart;
  private final byte[] entryLanguage;
  private final float[] entryLogFrequency;

  // Bigram or unigram -> row of one log frequency per language (NaN where unseen).
  private final NgramTable bigramRows;
  private final float[] bigramLogFrequency;
  private final NgramTable unigramRows;
  private final float[] unigramLogFrequency;

  /** The ranking among {@code candidates}, built once per JVM and candidate set. */
  static TrigramRanking of(Set<Language> candidates) {
    TrigramRanking built = CACHE.get(candidates); // no copy of the set on every document
    return built != null
        ? built
        : CACHE.computeIfAbsent(Set.copyOf(candidates), TrigramRanking::new);
  }

  private TrigramRanking(Set<Language> candidates) {
    // In Lingua's order, so that ties rank as Lingua ranks them; an entry's language index is a
    // byte, enough for Lingua's 75 languages.
    languages = candidates.stream().sorted().toArray(Language[]::new);
    Entries trigrams = new Entries();
    Entries bigrams = new Entries();
    Entries unigrams = new Entries();
    for (int lang = 0; lang < languages.length; lang++) {
      load(languages[lang], 3, lang, trigrams);
      load(languages[lang], 2, lang, bigrams);
      load(languages[lang], 1, lang, unigrams);
    }
    int[] rowOf = trigrams.rowIds();
    trigramRows = trigrams.table(rowOf);
    rowStart = new int[trigrams.rows + 1];
    for (int e = 0; e < trigrams.size; e++) {
      rowStart[rowOf[e] + 1]++;
    }
    for (int r = 0; r < trigrams.rows; r++) {
      rowStart[r + 1] += rowStart[r];
    }
    int[] next = Arrays.copyOf(rowStart, trigrams.rows);
    entryLanguage = new byte[trigrams.size];
    entryLogFrequency = new float[trigrams.size];
    for (int e = 0; e < trigrams.size; e++) {
      int at = next[rowOf[e]]++;
      entryLanguage[at] = (byte) trigrams.language[e];
      entryLogFrequency[at] = trigrams.logFrequency[e];
    }
    int[] bigramRowOf = bigrams.rowIds();
    bigramRows = bigrams.table(bigramRowOf);
    bigramLogFrequency = bigrams.dense(bigramRowOf, languages.length);
    int[] unigramRowOf = unigrams.rowIds();
    unigramRows = unigrams.table(unigramRowOf);
    unigramLogFrequency = unigrams.dense(unigramRowOf, languages.length);
    writers = writersByScript();
  }

  /**
   * The languages of {@code among} (a subset of the candidates) in the order Lingua's low-accuracy
   * mode ranks them for {@code text}, best first, ties in Lingua's language order; or null when
   * fewer than two are ranked or Lingua's script rules would have a say ({@link #scores}).
   */
  List<Language> rank(String text, Set<Language> among) {
    Map<Language, Float> scores = scores(text);
    if (scores == null) {
      return null;
    }
    scores.keySet().retainAll(among);
    if (scores.size() < 2) {
      return null;
    }
    // Lingua's confidence is the best sum over a language's sum: the highest sum ranks first.
    List<Language> ranked = new ArrayList<>(scores.keySet());
    ranked.sort(Comparator.<Language>comparingDouble(l -> -scores.get(l)).thenComparing(l -> l));
    return ranked;
  }

  /**
   * Lingua's low-accuracy sum of log frequencies of {@code text} for each candidate that writes its
   * script and has one (below zero), in language order; or null when Lingua's script rules would
   * have a say: letters of more than one script or of a script Lingua leaves to its rules, or
   * characters outside the Basic Multilingual Plane (Lingua slices those by code point).
   */
  Map<Language, Float> scores(String text) {
    String lower = text.toLowerCase(Locale.ROOT);
    StringBuilder cleaned = new StringBuilder(lower.length());
    UnicodeScript script = null;
    for (int i = 0; i < lower.length(); i++) {
      char c = lower.charAt(i);
      if (Character.isSurrogate(c)) {
        return null;
      }
      if (isPunctuationOrNumber(c)) {
        continue; // Lingua deletes these, joining the letters on either side
      }
      cleaned.append(c);
      if (Character.isLetter(c)) {
        UnicodeScript s = UnicodeScript.of(c);
        if (s != UnicodeScript.COMMON && s != UnicodeScript.INHERITED) {
          if (script != null && s != script) {
            return null;
          }
          script = s;
        }
      }
    }
    boolean[] writes = script == null ? null : writers.get(script);
    if (writes == null) {
      return null;
    }
    float[] sum = new float[languages.length];
    boolean[] seen = new boolean[languages.length];
    NgramTable distinct = new NgramTable(Math.max(1, cleaned.length()));
    for (int i = 0; i + 3 <= cleaned.length(); i++) {
      char a = cleaned.charAt(i);
      char b = cleaned.charAt(i + 1);
      char c = cleaned.charAt(i + 2);
      if (Character.isLetter(a)
          && Character.isLetter(b)
          && Character.isLetter(c)
          && distinct.putIfAbsent(key(a, b, c), 0) < 0) {
        addTrigram(a, b, c, sum, seen);
      }
    }
    Map<Language, Float> scores = new EnumMap<>(Language.class);
    for (int lang = 0; lang < languages.length; lang++) {
      if (writes[lang] && sum[lang] < 0) {
        scores.put(languages[lang], sum[lang]);
      }
    }
    return scores;
  }

  /**
   * Whether Lingua's letter rules cannot apply to {@code text}: once punctuation and digits are
   * removed it is ASCII only. Every character those rules look for (a letter only one language
   * uses, or one of a few languages) is outside ASCII, so among languages written in Latin script
   * Lingua's answer is then its statistics alone, the top of {@link #rank}, with confidence 1.
   */
  static boolean lettersAreAscii(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c >= 0x80 && !isPunctuationOrNumber(c)) {
        return false;
      }
    }
    return true;
  }

  private void addTrigram(char a, char b, char c, float[] sum, boolean[] seen) {
    Arrays.fill(seen, false);
    int row = trigramRows.get(key(a, b, c));
    if (row >= 0) {
      for (int e = rowStart[row]; e < rowStart[row + 1]; e++) {
        sum[entryLanguage[e]] += entryLogFrequency[e];
        seen[entryLanguage[e]] = true;
      }
    }
    int bigram = bigramRows.get(key(a, b));
    int unigram = unigramRows.get(key(a));
    int width = languages.length;
    for (int lang = 0; lang < width; lang++) {
      if (seen[lang]) {
        continue;
      }
      float f = bigram >= 0 ? bigramLogFrequency[bigram * width + lang] : Float.NaN;
      if (Float.isNaN(f) && unigram >= 0) {
        f = unigramLogFrequency[unigram * width + lang];
      }
      if (!Float.isNaN(f)) {
        sum[lang] += f;
      }
    }
  }

  private static boolean isPunctuationOrNumber(char c) {
    return switch (Character.getType(c)) {
      case Character.CONNECTOR_PUNCTUATION,
          Character.DASH_PUNCTUATION,
          Character.START_PUNCTUATION,
          Character.END_PUNCTUATION,
          Character.INITIAL_QUOTE_PUNCTUATION,
          Character.FINAL_QUOTE_PUNCTUATION,
          Character.OTHER_PUNCTUATION,
          Character.DECIMAL_DIGIT_NUMBER,
          Character.LETTER_NUMBER,
          Character.OTHER_NUMBER ->
          true;
      default -> false;
    };
  }

  /** Up to three UTF-16 units in one key, with the length so that "a" and "a\0" differ. */
  private static long key(char... chars) {
    long key = chars.length;
    for (char c : chars) {
      key = key << 16 | c;
    }
    return key;
  }

  /**
   * For each script that Lingua's rules leave to the statistics, which candidates write it:
   * Lingua's own lists. Its other scripts (Thai, Han, Hangul, Greek, ...) are written by one
   * language each and are decided by its rules.
   */
  private Map<UnicodeScript, boolean[]> writersByScript() {
    Map<UnicodeScript, List<Language>> lingua =
        Map.of(
            UnicodeScript.LATIN, Language.Companion.allWithLatinScript(),
            UnicodeScript.CYRILLIC, Language.Companion.allWithCyrillicScript(),
            UnicodeScript.ARABIC, Language.Companion.allWithArabicScript(),
            UnicodeScript.DEVANAGARI, Language.Companion.allWithDevanagariScript());
    Map<UnicodeScript, boolean[]> writers = new EnumMap<>(UnicodeScript.class);
    lingua.forEach(
        (script, writing) -> {
          boolean[] writes = new boolean[languages.length];
          for (int lang = 0; lang < languages.length; lang++) {
            writes[lang] = writing.contains(languages[lang]);
          }
          writers.put(script, writes);
        });
    return writers;
  }

  /**
   * Reads {@code language}'s n-gram model from Lingua's jar: an object whose "ngrams" map a
   * relative frequency written as a fraction to the space-separated n-grams that have it. The
   * frequency is computed as Lingua computes it, in float.
   */
  private static void load(Language language, int n, int lang, Entries into) {
    String name = new String[] {"unigrams", "bigrams", "trigrams"}[n - 1];
    String path =
        "/language-models/"
            + language.getIsoCode639_1().name().toLowerCase(Locale.ROOT)
            + "/"
            + name
            + ".json";
    try (InputStream in = Language.class.getResourceAsStream(path)) {
      if (in == null) {
        return; // Lingua has no such model for this language (Chinese has unigrams only)
      }
      try (JsonParser p = new JsonFactory().createParser(in)) {
        while (p.nextToken() != null) {
          if (p.currentToken() == JsonToken.FIELD_NAME && p.getCurrentName().contains("/")) {
            String[] fraction = p.getCurrentName().split("/");
            float frequency = Float.parseFloat(fraction[0]) / Integer.parseInt(fraction[1]);
            float logFrequency = (float) Math.log(frequency);
            p.nextToken();
            for (String ngram : p.getText().split(" ")) {
              if (ngram.length() == n) {
                into.add(key(ngram.toCharArray()), lang, logFrequency);
              }
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read Lingua's model " + path, e);
    }
  }

  /** (n-gram, language, log frequency) triples as they are read, before they become tables. */
  private static final class Entries {
    long[] key = new long[1024];
    int[] language = new int[1024];
    float[] logFrequency = new float[1024];
    int size;
    int rows;

    void add(long k, int lang, float f) {
      if (size == key.length) {
        key = Arrays.copyOf(key, size * 2);
        language = Arrays.copyOf(language, size * 2);
        logFrequency = Arrays.copyOf(logFrequency, size * 2);
      }
      key[size] = k;
      language[size] = lang;
      logFrequency[size++] = f;
    }

    /** Each entry's row: the distinct n-grams numbered in the order first read. */
    int[] rowIds() {
      NgramTable numbering = new NgramTable(Math.max(1, size));
      int[] rowOf = new int[size];
      rows = 0;
      for (int e = 0; e < size; e++) {
        int row = numbering.putIfAbsent(key[e], rows);
        rowOf[e] = row >= 0 ? row : rows++;
      }
      return rowOf;
    }

    /** A table from each distinct n-gram to its row, sized for the rows alone. */
    NgramTable table(int[] rowOf) {
      NgramTable table = new NgramTable(Math.max(1, rows));
      for (int e = 0; e < size; e++) {
        table.putIfAbsent(key[e], rowOf[e]);
      }
      return table;
    }

    /** One row of log frequencies per distinct n-gram, one column per language. */
    float[] dense(int[] rowOf, int languages) {
      float[] dense = new float[Math.max(1, rows) * languages];
      Arrays.fill(dense, Float.NaN);
      for (int e = 0; e < size; e++) {
        dense[rowOf[e] * languages + language[e]] = logFrequency[e];
      }
      return dense;
    }
  }
}
