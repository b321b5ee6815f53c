package org.dbrxspark.jobs.curate;

import com.github.pemistahl.lingua.api.Language;
import com.github.pemistahl.lingua.api.LanguageDetector;
import com.github.pemistahl.lingua.api.LanguageDetectorBuilder;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * Curate's language identification as it was before the bounded sample and the shortlist (commit
 * d25a069), the reference the new configuration is measured against: Lingua in low-accuracy mode
 * among all candidates, on the first 2,000 characters.
 */
final class PreviousDetector {
  private final LanguageDetector detector;

  PreviousDetector(List<String> candidates) {
    detector =
        LanguageDetectorBuilder.fromLanguages(
                candidates.stream().map(LanguageIdentifier::language).toArray(Language[]::new))
            .withLowAccuracyMode()
            .build();
  }

  /** The language's ISO 639-1 code, or {@link LanguageIdentifier#UNKNOWN}. */
  String detect(String text) {
    SortedMap<Language, Double> confidences =
        detector.computeLanguageConfidenceValues(
            text.length() > 2000 ? text.substring(0, 2000) : text);
    Language best = null;
    double score = 0;
    for (Map.Entry<Language, Double> e : confidences.entrySet()) {
      if (best == null || e.getValue() > score) {
        best = e.getKey();
        score = e.getValue();
      }
    }
    return best == null || best == Language.UNKNOWN || score <= 0
        ? LanguageIdentifier.UNKNOWN
        : best.getIsoCode639_1().name().toLowerCase(java.util.Locale.ROOT);
  }
}
