package org.dbrxspark.jobs.curate;

import com.github.pemistahl.lingua.api.Language;
import java.lang.Character.UnicodeScript;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Lingua 1.2.2's rules, the step of its {@code LanguageDetector} before the n-gram statistics: how
 * it cleans a text and splits it into words, the languages a text's letters decide on their own,
 * and the candidates its word alphabets and accented letters leave to the statistics. Their data
 * (each language's alphabets and the letters only it uses, the letters a few languages share, the
 * alphabets of one language) is read from Lingua's own classes when this class loads, not copied; a
 * Lingua that does not keep it where 1.2.2 does fails here, loudly.
 *
 * <p>Lingua looks at some things per UTF-16 unit and at others per code point, and so does this
 * class: the words' letters per unit (half a surrogate pair names no language), the words'
 * alphabets, the punctuation and digits it deletes and whether a text has a letter per code point.
 */
final class LinguaRules {
  /** The scripts whose letters may name a language by themselves (Lingua's word rule). */
  private static final Set<UnicodeScript> UNIQUE_LETTER_SCRIPTS =
      EnumSet.of(UnicodeScript.LATIN, UnicodeScript.CYRILLIC, UnicodeScript.DEVANAGARI);

  private static final Language[] LANGUAGES = Language.values();

  /** Each language's alphabets, as scripts. */
  private static final Map<Language, Set<UnicodeScript>> SCRIPTS = new EnumMap<>(Language.class);

  /** Lingua's alphabets as scripts; a word all in one of them counts for it. */
  private static final Set<UnicodeScript> ALPHABETS = EnumSet.noneOf(UnicodeScript.class);

  private static final Set<UnicodeScript> LOGOGRAMS = EnumSet.noneOf(UnicodeScript.class);

  /** Per character: the language whose alphabet is its script and has no other language. */
  private static final Language[] ONE_LANGUAGE_SCRIPT = new Language[Character.MAX_VALUE + 1];

  /** Per character of the scripts above: the languages that list it as theirs alone. */
  private static final List<Language>[] UNIQUE_TO = perCharacter();

  /** Per character: the sets of languages that share it (Lingua's letters of a few languages). */
  private static final List<Set<Language>>[] SHARED_BY = perCharacter();

  private static final UnicodeScript[] SCRIPT_OF = new UnicodeScript[Character.MAX_VALUE + 1];

  /** Lingua's alphabets, numbered for {@link #filter}'s per-alphabet word counts. */
  private static final int[] ALPHABET_INDEX = new int[UnicodeScript.values().length];

  /** Per character: whether Lingua counts it for Japanese when no alphabet of one language has. */
  private static final boolean[] JAPANESE_ALPHABET = new boolean[Character.MAX_VALUE + 1];

  // What {@link #clean} asks of every character, as bits of one table, so that it costs one load
  // per character: deleted (punctuation or digit; a surrogate pair is looked at whole), a logogram
  // (a script Lingua treats as logograms), a letter that names a language (decide) or that a few
  // languages share (filter).
  private static final byte DELETED = 1;
  private static final byte LOGOGRAM = 2;
  private static final byte NAMING = 4;
  private static final byte SHARED = 8;
  private static final byte[] CLEAN_FLAGS = new byte[Character.MAX_VALUE + 1];

  static {
    try {
      Class<?> alphabet = Class.forName("com.github.pemistahl.lingua.internal.Alphabet");
      Map<Object, UnicodeScript> scriptOf = new LinkedHashMap<>();
      for (Object a : alphabet.getEnumConstants()) {
        UnicodeScript script = script(((Enum<?>) a).name());
        scriptOf.put(a, script);
        if (script != null) {
          ALPHABETS.add(script);
        }
      }
      Method alphabets = Language.class.getMethod("getAlphabets$lingua");
      Method unique = Language.class.getMethod("getUniqueCharacters$lingua");
      for (Language language : LANGUAGES) {
        Set<UnicodeScript> scripts = EnumSet.noneOf(UnicodeScript.class);
        for (Object a : (Collection<?>) alphabets.invoke(language)) {
          if (scriptOf.get(a) != null) {
            scripts.add(scriptOf.get(a));
          }
        }
        SCRIPTS.put(language, scripts);
        String letters = (String) unique.invoke(language);
        for (char c : letters == null ? new char[0] : letters.toCharArray()) {
          if (UNIQUE_LETTER_SCRIPTS.contains(UnicodeScript.of(c))) {
            add(UNIQUE_TO, c, language);
          }
        }
      }
      Object companion = alphabet.getField("Companion").get(null);
      Map<?, ?> oneLanguage =
          (Map<?, ?>)
              companion.getClass().getMethod("allSupportingExactlyOneLanguage").invoke(companion);
      Map<UnicodeScript, Language> oneLanguageScripts = new EnumMap<>(UnicodeScript.class);
      oneLanguage.forEach((a, l) -> oneLanguageScripts.put(scriptOf.get(a), (Language) l));
      for (int c = 0; c <= Character.MAX_VALUE; c++) {
        SCRIPT_OF[c] = UnicodeScript.of(c);
        ONE_LANGUAGE_SCRIPT[c] = oneLanguageScripts.get(SCRIPT_OF[c]);
      }
      Class<?> constant = Class.forName("com.github.pemistahl.lingua.internal.Constant");
      Object constants = constant.getField("INSTANCE").get(null);
      for (Object l :
          (Collection<?>)
              constant.getMethod("getLANGUAGES_SUPPORTING_LOGOGRAMS").invoke(constants)) {
        LOGOGRAMS.addAll(SCRIPTS.get((Language) l));
      }
      Method japanese = constant.getMethod("isJapaneseAlphabet", char.class);
      for (int c = 0; c <= Character.MAX_VALUE; c++) {
        JAPANESE_ALPHABET[c] = (Boolean) japanese.invoke(constants, (char) c);
      }
      Map<?, ?> shared =
          (Map<?, ?>) constant.getMethod("getCHARS_TO_LANGUAGES_MAPPING").invoke(constants);
      shared.forEach(
          (letters, languages) -> {
            Set<Language> sharing = EnumSet.noneOf(Language.class);
            ((Collection<?>) languages).forEach(l -> sharing.add((Language) l));
            for (char c : ((String) letters).toCharArray()) {
              add(SHARED_BY, c, sharing);
            }
          });
    } catch (ReflectiveOperationException | ClassCastException | NullPointerException e) {
      throw new ExceptionInInitializerError(
          new IllegalStateException(
              "Lingua's rule data (Alphabet, Language's alphabets and unique characters, Constant's"
                  + " CHARS_TO_LANGUAGES_MAPPING) is not where Lingua 1.2.2 keeps it: curate's"
                  + " language identification reproduces Lingua 1.2.2 and needs it",
              e));
    }
    if (!ALPHABETS.containsAll(UNIQUE_LETTER_SCRIPTS) || LOGOGRAMS.isEmpty()) {
      throw new ExceptionInInitializerError(
          "Lingua's alphabets are not Lingua 1.2.2's: " + ALPHABETS + ", logograms " + LOGOGRAMS);
    }
    Arrays.fill(ALPHABET_INDEX, -1);
    int alphabets = 0;
    for (UnicodeScript script : ALPHABETS) {
      ALPHABET_INDEX[script.ordinal()] = alphabets++;
    }
    for (int c = 0; c <= Character.MAX_VALUE; c++) {
      boolean naming =
          ONE_LANGUAGE_SCRIPT[c] != null || UNIQUE_TO[c] != null || JAPANESE_ALPHABET[c];
      CLEAN_FLAGS[c] =
          (byte)
              ((TrigramRanking.isPunctuationOrNumber(c) ? DELETED : 0)
                  | (LOGOGRAMS.contains(SCRIPT_OF[c]) ? LOGOGRAM : 0)
                  | (naming ? NAMING : 0)
                  | (SHARED_BY[c] != null ? SHARED : 0));
    }
  }

  private LinguaRules() {}

  /**
   * A text as Lingua's detector sees it: trimmed, lower-cased, without punctuation and digits, runs
   * of ASCII white space made one space; its words, the runs between spaces, each logogram (Han,
   * kana, Hangul) a word of its own; and whether it has letters that name a language ({@link
   * #decide}) or that a few languages share ({@link #filter}), which most text in Latin script has
   * not. Only the first {@code words} entries of {@code wordStart} and {@code wordEnd} are words.
   */
  record Text(
      String cleaned,
      int words,
      int[] wordStart,
      int[] wordEnd,
      boolean namingLetters,
      boolean sharedLetters) {

    boolean hasLetter() {
      return cleaned.codePoints().anyMatch(Character::isLetter);
    }
  }

  /** {@code text} cleaned as Lingua cleans it. */
  static Text clean(String text) {
    int from = 0;
    int to = text.length();
    while (from < to && isKotlinWhitespace(text.charAt(from))) {
      from++;
    }
    while (to > from && isKotlinWhitespace(text.charAt(to - 1))) {
      to--;
    }
    String lower = text.substring(from, to).toLowerCase(Locale.ROOT);
    char[] cleaned = new char[lower.length()];
    int length = 0;
    int[] starts = new int[lower.length()];
    int[] ends = new int[lower.length()];
    int words = 0;
    boolean inWord = false;
    int seen = 0; // the flags of the characters kept
    for (int i = 0; i < lower.length(); i++) {
      char c = lower.charAt(i);
      int flags = CLEAN_FLAGS[c];
      if (Character.isHighSurrogate(c)
          && i + 1 < lower.length()
          && Character.isLowSurrogate(lower.charAt(i + 1))) {
        if (TrigramRanking.isPunctuationOrNumber(lower.codePointAt(i))) {
          i++;
          continue; // a pair deleted whole
        }
      } else if ((flags & DELETED) != 0) {
        continue; // deleted, so the letters on either side join
      }
      if (c == ' ' || c == '\t' || c == '\n' || c == '\u000B' || c == '\f' || c == '\r') {
        if (length == 0 || cleaned[length - 1] != ' ') {
          cleaned[length++] = ' '; // a run of white space is one space, even at the start
        }
        inWord = false;
        continue;
      }
      boolean logogram = (flags & LOGOGRAM) != 0;
      if (!inWord || logogram) {
        starts[words++] = length; // a logogram is a word of its own
      }
      inWord = !logogram;
      seen |= flags;
      cleaned[length++] = c;
      ends[words - 1] = length;
    }
    return new Text(
        new String(cleaned, 0, length),
        words,
        starts,
        ends,
        (seen & NAMING) != 0,
        (seen & SHARED) != 0);
  }

  /**
   * The language Lingua's rules name for {@code text} on its letters alone among {@code languages},
   * or null when they leave it open. A word is a language's when that language's letters in it
   * outnumber every other language's, counting the letters of an alphabet only that language writes
   * (Thai, Greek, ...) and the letters only it uses (ß, ő, ł, ...); the text is the language most
   * of its words are, unless the words of no language are at least half of them.
   */
  static Language decide(Text text, Set<Language> languages) {
    if (!text.namingLetters()) {
      return null; // every word is of no language
    }
    int[] total = new int[LANGUAGES.length];
    int unknown = 0;
    int[] perWord = new int[LANGUAGES.length];
    List<Language> named = new ArrayList<>();
    for (int w = 0; w < text.words(); w++) {
      named.clear();
      for (int i = text.wordStart()[w]; i < text.wordEnd()[w]; i++) {
        char c = text.cleaned().charAt(i);
        Language one = ONE_LANGUAGE_SCRIPT[c];
        if (one != null && languages.contains(one)) {
          count(one, perWord, named);
        } else if (SCRIPT_OF[c] == UnicodeScript.HAN) {
          count(Language.CHINESE, perWord, named); // whether a candidate or not, as in Lingua
        } else if (JAPANESE_ALPHABET[c]) {
          count(Language.JAPANESE, perWord, named);
        } else if (UNIQUE_TO[c] != null) {
          for (Language l : UNIQUE_TO[c]) {
            if (languages.contains(l)) {
              count(l, perWord, named);
            }
          }
        }
      }
      Language word = named.size() == 1 ? named.get(0) : null;
      if (named.size() > 1) {
        named.sort((a, b) -> perWord[b.ordinal()] - perWord[a.ordinal()]);
        if (perWord[named.get(0).ordinal()] > perWord[named.get(1).ordinal()]) {
          word = named.get(0);
        }
      }
      if (word == null || !languages.contains(word)) {
        unknown++;
      } else {
        total[word.ordinal()]++;
      }
      named.forEach(l -> perWord[l.ordinal()] = 0);
    }
    // Lingua counts the words of no language as one more "language", dropped when under half.
    boolean unknownCounts = unknown > 0 && unknown >= 0.5 * text.words();
    int first = unknownCounts ? unknown : 0;
    int second = 0;
    Language top = null;
    int keys = unknownCounts ? 1 : 0; // Lingua's languages with a count

    for (Language l : LANGUAGES) {
      int n = total[l.ordinal()];
      keys += n > 0 ? 1 : 0;
      if (n > first) {
        second = first;
        first = n;
        top = l;
      } else if (n > second) {
        second = n;
      }
    }
    if (keys == 2
        && total[Language.CHINESE.ordinal()] > 0
        && total[Language.JAPANESE.ordinal()] > 0) {
      return Language.JAPANESE; // Chinese and Japanese words only: kanji among kana
    }
    return first > second ? top : null;
  }

  /**
   * The languages of {@code languages} that Lingua's rules leave for its statistics: those written
   * in the alphabet most of the words are in, narrowed to the languages whose shared letters (ä, ş,
   * č, ...) occur in at least half of the words, when any are.
   */
  static Set<Language> filter(Text text, Set<Language> languages) {
    // Words per alphabet, and the alphabets in the order of their first word.
    int[] wordsIn = new int[ALPHABETS.size()];
    UnicodeScript[] alphabets = new UnicodeScript[ALPHABETS.size()];
    int found = 0;
    for (int w = 0; w < text.words(); w++) {
      UnicodeScript script = null;
      for (int i = text.wordStart()[w]; i < text.wordEnd()[w]; i++) {
        int codePoint = text.cleaned().codePointAt(i);
        UnicodeScript s =
            codePoint <= Character.MAX_VALUE ? SCRIPT_OF[codePoint] : UnicodeScript.of(codePoint);
        i += Character.charCount(codePoint) - 1;
        if (script != null && s != script) {
          script = null;
          break;
        }
        script = s;
      }
      int alphabet = script == null ? -1 : ALPHABET_INDEX[script.ordinal()];
      if (alphabet >= 0 && wordsIn[alphabet]++ == 0) {
        alphabets[found++] = script;
      }
    }
    if (found == 0) {
      return languages;
    }
    // The first alphabet with the most words, unless all of several have as many.
    UnicodeScript most = alphabets[0];
    boolean allEqual = true;
    for (int a = 1; a < found; a++) {
      int n = wordsIn[ALPHABET_INDEX[alphabets[a].ordinal()]];
      allEqual &= n == wordsIn[ALPHABET_INDEX[alphabets[0].ordinal()]];
      if (n > wordsIn[ALPHABET_INDEX[most.ordinal()]]) {
        most = alphabets[a];
      }
    }
    if (found > 1 && allEqual) {
      return languages;
    }
    Set<Language> written = EnumSet.noneOf(Language.class);
    for (Language l : languages) {
      if (SCRIPTS.get(l).contains(most)) {
        written.add(l);
      }
    }
    if (!text.sharedLetters()) {
      return written;
    }
    int[] counts = new int[LANGUAGES.length];
    for (int w = 0; w < text.words(); w++) {
      int start = text.wordStart()[w];
      for (int i = start; i < text.wordEnd()[w]; i++) {
        char c = text.cleaned().charAt(i);
        if (SHARED_BY[c] != null && text.cleaned().indexOf(c, start) == i) {
          for (Set<Language> sharing : SHARED_BY[c]) {
            for (Language l : sharing) {
              if (written.contains(l)) {
                counts[l.ordinal()]++; // once per word that has the letter
              }
            }
          }
        }
      }
    }
    Set<Language> frequent = EnumSet.noneOf(Language.class);
    for (Language l : written) {
      if (counts[l.ordinal()] >= text.words() / 2.0) {
        frequent.add(l);
      }
    }
    return frequent.isEmpty() ? written : frequent;
  }

  private static void count(Language l, int[] perWord, List<Language> named) {
    if (perWord[l.ordinal()]++ == 0) {
      named.add(l);
    }
  }

  /** Kotlin's {@code Char.isWhitespace}, which its {@code String.trim} uses. */
  private static boolean isKotlinWhitespace(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c);
  }

  private static UnicodeScript script(String alphabet) {
    try {
      return UnicodeScript.forName(alphabet);
    } catch (IllegalArgumentException e) {
      return null; // Lingua's NONE
    }
  }

  private static <T> void add(List<T>[] table, char c, T element) {
    if (table[c] == null) {
      table[c] = new ArrayList<>(1);
    }
    table[c].add(element);
  }

  /** A table with a list or null per UTF-16 unit. */
  @SuppressWarnings("unchecked")
  private static <T> List<T>[] perCharacter() {
    return new List[Character.MAX_VALUE + 1];
  }
}
