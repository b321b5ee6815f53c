package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * {@link TrigramRanking} against Lingua itself, the reference it stands in for: on the held-out
 * language-ID set ({@link LidEvalSet}) and its texts with accents folded to ASCII, its scores must
 * give Lingua's confidences, and curate's detector must answer as the Lingua-only shortlist did.
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

  @Test
  void itsScoresGiveLinguasConfidences() {
    TrigramRanking ranking = TrigramRanking.of(all);
    LanguageDetector lingua = lingua(all);
    int compared = 0;
    int asciiCompared = 0;
    for (String text : texts) {
      Map<Language, Float> scores = ranking.scores(text);
      SortedMap<Language, Double> confidences = lingua.computeLanguageConfidenceValues(text);
      if (scores == null || confidences.size() < 2) {
        continue; // Lingua's rules decide these texts, and the ranking declines them
      }
      Language top = confidences.firstKey();
      for (Map.Entry<Language, Double> c : confidences.entrySet()) {
        assertTrue(scores.containsKey(c.getKey()), () -> c.getKey() + " unranked for: " + text);
        double mine = (double) scores.get(top) / scores.get(c.getKey());
        // Both sum the same floats in another order: a few ulps of a sum of hundreds of terms.
        assertEquals(c.getValue(), mine, 1e-4 * c.getValue(), () -> c.getKey() + " for: " + text);
      }
      if (TrigramRanking.lettersAreAscii(text)) {
        assertEquals(confidences.keySet(), scores.keySet(), () -> "ASCII text: " + text);
        assertEquals(top, ranking.rank(text, all).get(0), () -> "ASCII text: " + text);
        asciiCompared++;
      }
      compared++;
    }
    assertTrue(compared > 4000 && asciiCompared > 1000, compared + " / " + asciiCompared);
  }

  @Test
  void curateAnswersAsTheLinguaOnlyShortlistDidOnAsciiText() {
    LanguageIdentifier lid = new LanguageIdentifier(CANDIDATES, false, 500, 3);
    int ascii = 0;
    int otherDifferences = 0;
    for (String text : texts) {
      LanguageIdentifier.Detection expected = linguaOnly(text);
      LanguageIdentifier.Detection actual = lid.detect(text);
      if (TrigramRanking.lettersAreAscii(LanguageIdentifier.sample(text, 500))) {
        assertEquals(expected, actual, () -> "ASCII text: " + text);
        ascii++;
      } else if (!expected.equals(actual)) {
        otherDifferences++;
      }
    }
    System.out.printf(
        "%d ASCII texts identical; %d of %d others differ%n",
        ascii, otherDifferences, texts.size() - ascii);
    assertTrue(ascii > 1000, ascii + " ASCII texts");
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
