package org.dbrxspark.jobs.curate;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.github.pemistahl.lingua.api.Language;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Lingua's low-accuracy ranking of candidate languages for a text, computed from Lingua's own
 * n-gram models in primitive tables, for both passes of the shortlist ({@link LanguageIdentifier}).
 *
 * <p>Lingua scores a text for a language as the sum, over the text's distinct trigrams (three
 * letters in a row once the text is lower-cased and its punctuation and digits removed), of the log
 * relative frequency of the trigram in that language, falling back to the trigram's first two
 * letters and then its first letter when the language has not seen it; a language with no such
 * frequency at all is not ranked. It keeps one string-keyed hash map per language, so a first pass
 * over 22 candidates makes 22 lookups per trigram, and those lookups were most of curate's time.
 * Here one probe per trigram finds every language that has seen it.
 *
 * <p>Lingua first applies rules to the text's words and letters, and the statistics rank only the
 * languages the rules leave. {@link #confidences} applies the same rules ({@link LinguaRules}), so
 * it gives Lingua's whole answer, except on the rare text whose trigrams it cannot add in Lingua's
 * order ({@link #hashSetOrder}), where it returns null and the caller asks Lingua.
 */
final class TrigramRanking {
  private static final Map<Set<Language>, TrigramRanking> CACHE = new ConcurrentHashMap<>();

  /** The size at which a bucket of a {@link java.util.HashMap} becomes a tree. */
  private static final int TREE_BIN = 9;

  private final Language[] languages;

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
  }

  /**
   * Lingua's low-accuracy confidences for {@code text} among {@code among} (a subset of the
   * candidates), as its {@code computeLanguageConfidenceValues} gives them: best first, 1.0 for the
   * best and its sum over each other's below, ties in Lingua's language order. Lingua's rules come
   * first ({@link LinguaRules}): a language they name is the only one, with 1.0, and the statistics
   * rank only the languages they leave; an empty map when no language fits. Null when the order of
   * Lingua's sums is not known ({@link #hashSetOrder}).
   */
  Map<Language, Double> confidences(String text, Set<Language> among) {
    LinguaRules.Text cleaned = LinguaRules.clean(text);
    Map<Language, Double> confidences = new LinkedHashMap<>();
    if (!cleaned.hasLetter()) {
      return confidences;
    }
    Language named = LinguaRules.decide(cleaned, among);
    Set<Language> left = named != null ? Set.of(named) : LinguaRules.filter(cleaned, among);
    if (left.size() == 1) {
      confidences.put(left.iterator().next(), 1.0);
      return confidences;
    }
    if (cleaned.cleaned().length() < 3) {
      return confidences; // Lingua's low-accuracy mode needs a trigram
    }
    int[] scored = new int[left.size()];
    int k = 0;
    for (int lang = 0; lang < languages.length; lang++) {
      if (left.contains(languages[lang])) {
        scored[k++] = lang;
      }
    }
    float[] sums = sums(cleaned.cleaned(), scored);
    if (sums == null) {
      return null;
    }
    List<Integer> ranked = new ArrayList<>();
    float highest = Float.NEGATIVE_INFINITY;
    for (int lang : scored) {
      if (sums[lang] < 0) {
        ranked.add(lang);
        highest = Math.max(highest, sums[lang]);
      }
    }
    // Lingua's confidence is the highest sum over a language's sum, in float: the best has 1.0.
    double[] confidence = new double[languages.length];
    for (int lang : ranked) {
      confidence[lang] = highest / sums[lang];
    }
    ranked.sort(Comparator.<Integer>comparingDouble(l -> -confidence[l]).thenComparing(l -> l));
    ranked.forEach(lang -> confidences.put(languages[lang], confidence[lang]));
    return confidences;
  }

  /**
   * Lingua's low-accuracy sum of log frequencies of {@code cleaned} (a text {@link
   * LinguaRules#clean} cleaned) for the candidates {@code scored} (language indices, ascending), in
   * language order, 0 for the others: over the distinct trigrams of three letters, each trigram's
   * log frequency or its back-off's. The floats are added in the order Lingua adds them, so that
   * each sum is Lingua's to the bit; null where that order is not known ({@link #hashSetOrder}).
   * Each language's sum depends on its own terms only, so leaving out the languages the rules
   * dropped (most of them on the shortlist's second pass) changes no bit of the others.
   */
  private float[] sums(String cleaned, int[] scored) {
    NgramTable distinct = new NgramTable(Math.max(1, cleaned.length()));
    int[] at = new int[cleaned.length()];
    int[] hash = new int[cleaned.length()];
    int n = 0;
    // Letters in a row up to the trigram's last unit, and the last surrogate: a trigram without
    // one is letters only when that run is three long, which spares three isLetter calls a unit.
    int letters = Character.isLetter(cleaned.charAt(0)) ? 1 : 0;
    letters = Character.isLetter(cleaned.charAt(1)) ? letters + 1 : 0;
    int surrogate = Character.isSurrogate(cleaned.charAt(0)) ? 0 : -1;
    surrogate = Character.isSurrogate(cleaned.charAt(1)) ? 1 : surrogate;
    for (int i = 0; i + 3 <= cleaned.length(); i++) {
      char a = cleaned.charAt(i);
      char b = cleaned.charAt(i + 1);
      char c = cleaned.charAt(i + 2);
      letters = Character.isLetter(c) ? letters + 1 : 0;
      surrogate = Character.isSurrogate(c) ? i + 2 : surrogate;
      boolean lettersOnly = surrogate >= i ? lettersOnly(cleaned, i, i + 3) : letters >= 3;
      if (lettersOnly && distinct.putIfAbsent(key(a, b, c), 0) < 0) {
        at[n] = i;
        hash[n++] = (a * 31 + b) * 31 + c; // String.hashCode of the trigram
      }
    }
    int[] order = hashSetOrder(hash, n);
    if (order == null) {
      return null;
    }
    float[] sum = new float[languages.length];
    // Per language: 1 where scored; set to 2 while the current trigram has its own frequency.
    byte[] state = new byte[languages.length];
    for (int lang : scored) {
      state[lang] = 1;
    }
    for (int t : order) {
      int i = at[t];
      addTrigram(
          cleaned.charAt(i), cleaned.charAt(i + 1), cleaned.charAt(i + 2), scored, sum, state);
    }
    return sum;
  }

  /**
   * Whether {@code text}'s units {@code from} to {@code to} are letters only, as Lingua's regex
   * {@code \\p{L}+} sees them: a surrogate pair inside them is one code point, a half of one at
   * their edge no letter.
   */
  private static boolean lettersOnly(String text, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = text.charAt(i);
      int codePoint = c;
      if (Character.isHighSurrogate(c)
          && i + 1 < to
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        codePoint = Character.toCodePoint(c, text.charAt(++i));
      }
      if (!Character.isLetter(codePoint)) {
        return false;
      }
    }
    return true;
  }

  /**
   * The order in which a {@link java.util.HashSet} built with Java's defaults iterates {@code n}
   * strings with hash codes {@code hash}, added in that order: Lingua collects a text's trigrams in
   * one, and float sums depend on the order of their terms. A hash map iterates its table's buckets
   * in turn, each in the order its entries came; its table starts with 16 buckets and doubles when
   * it is three quarters full, or when a bucket reaches {@value #TREE_BIN} entries while it has
   * fewer than 64. A bucket that reaches that size in a bigger table becomes a tree, whose order is
   * not the entries' (and breaks ties by identity hash code): null then.
   */
  static int[] hashSetOrder(int[] hash, int n) {
    int buckets = 16;
    int[] size = new int[buckets];
    for (int i = 0; i < n; i++) {
      if (++size[bucket(hash[i], buckets)] >= TREE_BIN) {
        if (buckets >= 64) {
          return null;
        }
        buckets *= 2;
        size = bucketSizes(hash, i + 1, buckets);
      }
      if (i + 1 > buckets / 4 * 3) {
        buckets *= 2;
        size = bucketSizes(hash, i + 1, buckets);
      }
    }
    int[] start = new int[buckets + 1];
    for (int b = 0; b < buckets; b++) {
      start[b + 1] = start[b] + size[b];
    }
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[start[bucket(hash[i], buckets)]++] = i;
    }
    return order;
  }

  private static int bucket(int hash, int buckets) {
    return (hash ^ hash >>> 16) & (buckets - 1); // HashMap's spread of the hash code
  }

  private static int[] bucketSizes(int[] hash, int n, int buckets) {
    int[] size = new int[buckets];
    for (int i = 0; i < n; i++) {
      size[bucket(hash[i], buckets)]++;
    }
    return size;
  }

  /**
   * Adds one trigram's term to each scored language's sum: its log frequency in that language, else
   * its first two letters', else its first letter's, else nothing. The bigram and unigram tables
   * are probed only when a scored language lacks the trigram (each probe is a likely cache miss).
   */
  private void addTrigram(char a, char b, char c, int[] scored, float[] sum, byte[] state) {
    int row = trigramRows.get(key(a, b, c));
    int found = 0;
    if (row >= 0) {
      for (int e = rowStart[row]; e < rowStart[row + 1]; e++) {
        int lang = entryLanguage[e];
        if (state[lang] == 1) {
          sum[lang] += entryLogFrequency[e];
          state[lang] = 2;
          found++;
        }
      }
    }
    if (found == scored.length) {
      for (int lang : scored) {
        state[lang] = 1;
      }
      return;
    }
    int bigram = bigramRows.get(key(a, b));
    int unigram = -2; // not looked up yet
    int width = languages.length;
    for (int lang : scored) {
      if (state[lang] == 2) {
        state[lang] = 1;
        continue;
      }
      float f = bigram >= 0 ? bigramLogFrequency[bigram * width + lang] : Float.NaN;
      if (Float.isNaN(f)) {
        unigram = unigram == -2 ? unigramRows.get(key(a)) : unigram;
        if (unigram >= 0) {
          f = unigramLogFrequency[unigram * width + lang];
        }
      }
      if (!Float.isNaN(f)) {
        sum[lang] += f;
      }
    }
  }

  /**
   * Lingua deletes these characters from a text before anything else: {@code \\p{P}}, {@code
   * \\p{N}}.
   */
  static boolean isPunctuationOrNumber(int c) {
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
