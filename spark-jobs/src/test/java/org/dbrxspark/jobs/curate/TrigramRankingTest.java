package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.pemistahl.lingua.api.Language;
import com.github.pemistahl.lingua.api.LanguageDetector;
import com.github.pemistahl.lingua.api.LanguageDetectorBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link TrigramRanking} and {@link LinguaRules} against Lingua itself, the reference they stand in
 * for: on the held-out language-ID set ({@link LidEvalSet}), its texts with accents folded to ASCII
 * and texts made to catch the rules out, each rule step and the confidences must be Lingua's, and
 * curate's detector must answer as the Lingua-only shortlist did.
 */
class TrigramRankingTest {
  private static final List<String> CANDIDATES =
      List.of("en,de,fr,es,it,pt,nl,sv,da,fi,pl,cs,hu,ro,tr,ru,uk,ar,zh,ja,ko,th".split(","));

  private static Set<Language> all;
  private static List<String> texts;

  @BeforeAll
  static void load() throws IOException {
    all = EnumSet.noneOf(Language.class);
    CANDIDATES.forEach(c -> all.add(LanguageIdentifier.language(c)));
    texts = new ArrayList<>();
    for (List<LidEvalSet.Item> band :
        LidEvalSet.load(Path.of("../data/sample-corpus/corpus.jsonl.gz")).values()) {
      for (LidEvalSet.Item item : band) {
        texts.add(item.text());
        // The same text without accents: web text often drops them, and it takes the ASCII path.
        texts.add(Normalizer.normalize(item.text(), Normalizer.Form.NFD).replaceAll("\\p{M}+", ""));
      }
    }
  }

  private static final Map<Set<Language>, LanguageDetector> DETECTORS = new HashMap<>();

  private static LanguageDetector lingua(Set<Language> languages) {
    return DETECTORS.computeIfAbsent(
        Set.copyOf(languages),
        l ->
            LanguageDetectorBuilder.fromLanguages(l.toArray(Language[]::new))
                .withLowAccuracyMode()
                .build());
  }

  /**
   * Texts made to catch the rules out: one accented word among English, words of two scripts, words
   * of an alphabet of one language among Latin ones, apostrophes and hyphens, very short texts,
   * white space Lingua trims but does not split on, letters whose lower case is longer.
   */
  static final List<String> HOSTILE =
      List.of(
          "The quick brown fox jumps over the lazy dog while the café stays open all night",
          "We met at the Straße near the station and walked on to the old town square",
          "Die Straße ist lang",
          "hello мир привет world как дела",
          "один two три four",
          "один two три four five",
          "hеllo wоrld", // Cyrillic е and о inside Latin words
          "Привет, как дела? Всё хорошо, спасибо, а у тебя?",
          "Їжак і ґанок, а ще Київ",
          "the λόγος of the κόσμος and the ἀρχή",
          "hello สวัสดี world สบายดี",
          "สวัสดีครับ",
          "l'homme aujourd'hui peut-être, c'est-à-dire l'été",
          "rock 'n' roll don't won't can't",
          "Zażółć gęślą jaźń",
          "Zażółć gęślą jaźń and the quick brown fox jumps over it",
          "şapkalı ağaçlar ve ılık rüzgâr",
          "Ţară şi ăsta îmi",
          "İstanbul'da IŞIK var",
          "Příliš žluťoučký kůň úpěl ďábelské ódy",
          "Árvíztűrő tükörfúrógép",
          "Ærø og Øresund på Åland",
          "açúcar não é maçã",
          "Ñandú y pingüino",
          "ÀÉÎÕÜ ÇÑ",
          "e\u0301te\u0301 de\u0301ja\u0300",
          "h3llo w0rld 2024 über",
          "a+b c+d e+f",
          "a+b c+d e+f über",
          "नमस्ते दुनिया",
          "मराठी ळ भाषा",
          "مرحبا بالعالم",
          "hello world\u00A0",
          "\u00A0ça va\u00A0",
          "ça\u00A0va bien",
          ". hello",
          "hello .",
          "\t\tbonjour\n\nà tous\r\n",
          "ü!",
          "ß",
          "ő",
          "é",
          "ş",
          "łódź",
          "ab",
          "a b",
          "abc",
          "a",
          "123",
          "...",
          "  ",
          "",
          "x",
          "ÿ",
          "漢字 and some text",
          "한국어 text and more text",
          "日本語のテキストです",
          "中文文本没有假名",
          "カタカナ",
          "漢字漢字 ひらがな",
          "한국어 漢字 混用",
          "hello 世界 world",
          "Привет 世界",
          "I love this \uD83D\uDE00\uD83D\uDE00 so much, it's great",
          "\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67 family time",
          "\uD83C\uDDE9\uD83C\uDDEA Deutschland über alles",
          "\uD840\uDC00\uD840\uDC01 漢字 \uD840\uDC02",
          "x\uD840\uDC00y abc",
          "the cat\uD835\uDC00 sat on the mat\uD840\uDC00 today",
          "\uD800\uDF30\uD800\uDF31\uD800\uDF32 gothic letters",
          "\uD835\uDC00\uD835\uDC01\uD835\uDC02 bold capitals",
          "digits \uD835\uDFCE\uD835\uDFCF here and there",
          "\uD801\uDC00\uD801\uDC28 deseret",
          "a\uD800b c\uDC00d lone halves",
          "\uD83D\uDE00",
          "\uD83D\uDE00 ok");

  /**
   * The held-out texts and the hostile ones, each of those also repeated past the first pass's
   * length, so that the shortlist is drawn from it.
   */
  private static List<String> withHostile() {
    List<String> checked = new ArrayList<>(texts);
    checked.addAll(HOSTILE);
    HOSTILE.forEach(
        t ->
            checked.add(
                (t + " ")
                    .repeat(
                        1 + 2 * LanguageIdentifier.FIRST_PASS_CHARS / Math.max(1, t.length()))));
    return checked;
  }

  @Test
  void itsConfidencesAreLinguasOnHeldOutAndHostileText() throws ReflectiveOperationException {
    TrigramRanking ranking = TrigramRanking.of(all);
    List<Set<Language>> shortlists = new ArrayList<>();
    for (String shortlist : List.of("de,en,fr", "pl,cs,ro", "ru,uk,en", "tr,ro,hu", "th,en,ru")) {
      Set<Language> among = EnumSet.noneOf(Language.class);
      for (String code : shortlist.split(",")) {
        among.add(LanguageIdentifier.language(code));
      }
      shortlists.add(among);
    }
    int compared = 0;
    int declined = 0;
    List<String> checked = withHostile();
    for (int t = 0; t < checked.size(); t++) {
      String text = checked.get(t);
      // The hostile texts among every shortlist; the held-out ones among all candidates and one
      // shortlist in turn, so that each shortlist still sees a fifth of them, at a third of the
      // time every pair took.
      List<Set<Language>> amongs = new ArrayList<>(List.of(all));
      if (t < texts.size()) {
        amongs.add(shortlists.get(t % shortlists.size()));
      } else {
        amongs.addAll(shortlists);
      }
      for (Set<Language> among : amongs) {
        Map<Language, Double> mine = ranking.confidences(text, among);
        if (mine == null) {
          declined++; // a trigram set Java's hash set would make a tree of
          continue;
        }
        assertRulesAsLinguas(text, among);
        SortedMap<Language, Double> lingua = lingua(among).computeLanguageConfidenceValues(text);
        assertEquals(
            List.copyOf(lingua.keySet()), List.copyOf(mine.keySet()), () -> among + ": " + text);
        // To the bit: the same floats added in the same order.
        assertEquals(lingua, mine, () -> among + ": " + text);
        compared++;
      }
    }
    System.out.printf(
        "confidences as Lingua's for %d (text, candidates) pairs; %d declined%n",
        compared, declined);
    assertTrue(compared > 15_000, compared + " compared");
    assertTrue(declined < 40, declined + " declined");
    for (String text : HOSTILE) {
      assertNotNull(ranking.confidences(text, all), () -> "takes the ranking: " + text);
    }
  }

  @Test
  void hashSetOrderIsTheOrderAHashSetIteratesIn() {
    java.util.Random random = new java.util.Random(18);
    int trees = 0;
    for (int round = 0; round < 2000; round++) {
      // Half the rounds draw letters from a few, so that buckets fill up and tables grow early.
      int letters = round % 2 == 0 ? 2000 : 3 + round % 5;
      List<String> added = new ArrayList<>();
      java.util.LinkedHashSet<String> distinct = new java.util.LinkedHashSet<>();
      java.util.HashSet<String> set = new java.util.HashSet<>();
      for (int i = random.nextInt(600); i >= 0; i--) {
        String trigram = "";
        for (int k = 0; k < 3; k++) {
          trigram += (char) ('a' + random.nextInt(letters));
        }
        added.add(trigram);
        distinct.add(trigram);
        set.add(trigram);
      }
      int[] hash = distinct.stream().mapToInt(String::hashCode).toArray();
      int[] order = TrigramRanking.hashSetOrder(hash, hash.length);
      if (order == null) {
        trees++;
        continue;
      }
      List<String> inOrder = new ArrayList<>();
      List<String> byIndex = List.copyOf(distinct);
      for (int i : order) {
        inOrder.add(byIndex.get(i));
      }
      assertEquals(List.copyOf(set), inOrder, () -> "added: " + added);
    }
    assertTrue(trees > 0 && trees < 1000, trees + " rounds would have made a tree bin");
  }

  /**
   * Each step of {@link LinguaRules} gives what Lingua's own step does (its internal methods,
   * reached by reflection): the cleaned text and its words, the language its letters name, and the
   * languages it leaves to the statistics.
   */
  private static void assertRulesAsLinguas(String text, Set<Language> among)
      throws ReflectiveOperationException {
    LanguageDetector lingua = lingua(among);
    Class<?> detector = LanguageDetector.class;
    String cleaned =
        (String) detector.getMethod("cleanUpInputText$lingua", String.class).invoke(lingua, text);
    LinguaRules.Text mine = LinguaRules.clean(text);
    assertEquals(cleaned, mine.cleaned(), () -> "cleaned: " + text);
    @SuppressWarnings("unchecked")
    List<String> words =
        (List<String>)
            detector.getMethod("splitTextIntoWords$lingua", String.class).invoke(lingua, cleaned);
    List<String> myWords = new ArrayList<>();
    for (int w = 0; w < mine.words(); w++) {
      myWords.add(mine.cleaned().substring(mine.wordStart()[w], mine.wordEnd()[w]));
    }
    assertEquals(words, myWords, () -> "words: " + text);
    if (words.isEmpty()) {
      return; // Lingua's rules do not run on a text without letters
    }
    Language named =
        (Language)
            detector.getMethod("detectLanguageWithRules$lingua", List.class).invoke(lingua, words);
    Language myNamed = LinguaRules.decide(mine, among);
    assertEquals(named, myNamed == null ? Language.UNKNOWN : myNamed, () -> "named: " + text);
    assertEquals(
        detector.getMethod("filterLanguagesByRules$lingua", List.class).invoke(lingua, words),
        LinguaRules.filter(mine, among),
        () -> among + " left by the rules: " + text);
  }

  @Test
  void curateAnswersAsTheLinguaOnlyShortlistDid() {
    LanguageIdentifier lid = new LanguageIdentifier(CANDIDATES, false, 500, 3);
    TrigramRanking ranking = TrigramRanking.of(all);
    int ranked = 0;
    int accented = 0;
    List<String> checked = withHostile();
    for (String text : checked) {
      LanguageIdentifier.Detection expected = linguaOnly(text);
      assertEquals(expected, lid.detect(text), () -> "text: " + text);
      String sample = LanguageIdentifier.sample(text, 500);
      if (ranking.confidences(sample, all) != null) {
        ranked++;
        if (sample.chars().anyMatch(c -> c >= 0x80 && Character.isLetter(c))) {
          accented++;
        }
      }
    }
    System.out.printf(
        "%d texts answered as Lingua alone answers; %d decided by the ranking, %d of them with"
            + " letters outside ASCII%n",
        checked.size(), ranked, accented);
    assertTrue(ranked > 8000 && accented > 2500, ranked + " / " + accented);
  }

  /** The shortlist as it was with Lingua alone: both passes, and the decision, by Lingua. */
  private static LanguageIdentifier.Detection linguaOnly(String text) {
    String sample = LanguageIdentifier.sample(text, 500);
    Set<Language> among = all;
    if (sample.length() > LanguageIdentifier.FIRST_PASS_CHARS) {
      Set<Language> best = EnumSet.noneOf(Language.class);
      lingua(all)
          .computeLanguageConfidenceValues(
              LanguageIdentifier.sample(sample, LanguageIdentifier.FIRST_PASS_CHARS))
          .entrySet()
          .stream()
          .filter(e -> e.getValue() > 0)
          .limit(3)
          .forEach(e -> best.add(e.getKey()));
      if (best.size() >= 2) {
        among = best;
      }
    }
    SortedMap<Language, Double> confidences = lingua(among).computeLanguageConfidenceValues(sample);
    if (confidences.isEmpty() || confidences.firstKey() == Language.UNKNOWN) {
      return new LanguageIdentifier.Detection(LanguageIdentifier.UNKNOWN, 0);
    }
    Language top = confidences.firstKey();
    return new LanguageIdentifier.Detection(
        top.getIsoCode639_1().name().toLowerCase(Locale.ROOT), confidences.get(top));
  }
}
