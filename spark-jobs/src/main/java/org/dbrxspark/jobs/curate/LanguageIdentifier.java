package org.dbrxspark.jobs.curate;

import com.github.pemistahl.lingua.api.IsoCode639_1;
import com.github.pemistahl.lingua.api.Language;
import com.github.pemistahl.lingua.api.LanguageDetector;
import com.github.pemistahl.lingua.api.LanguageDetectorBuilder;
import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Language identification with Lingua, among a fixed list of candidate languages. The detector (and
 * Lingua's n-gram models, which load lazily per language) is built once per JVM and configuration,
 * so an executor pays the model loading once, not per task or row. Only the first {@value
 * #MAX_CHARS} characters are looked at: enough for a stable answer, and bounded cost on very long
 * documents.
 *
 * @param candidates ISO 639-1 codes of the languages to choose among
 * @param highAccuracy Lingua's high-accuracy mode (all n-gram sizes, more memory); low-accuracy
 *     mode uses trigrams only, which is reliable for texts longer than a sentence
 */
public record LanguageIdentifier(List<String> candidates, boolean highAccuracy)
    implements Serializable {
  /** The language code returned when no candidate fits. */
  public static final String UNKNOWN = "unknown";

  static final int MAX_CHARS = 2000;
  private static final Map<LanguageIdentifier, LanguageDetector> DETECTORS =
      new ConcurrentHashMap<>();

  /** Validates the codes now, so that a typo fails before Spark work starts. */
  public LanguageIdentifier {
    candidates = List.copyOf(candidates);
    if (candidates.size() < 2) {
      throw new IllegalArgumentException(
          "language identification needs at least two candidate languages");
    }
    candidates.forEach(LanguageIdentifier::language);
  }

  /** The ISO 639-1 code for {@code code}, or an error naming it. */
  static Language language(String code) {
    try {
      Language lang =
          Language.getByIsoCode639_1(IsoCode639_1.valueOf(code.toUpperCase(Locale.ROOT)));
      if (lang == Language.UNKNOWN) {
        throw new IllegalArgumentException();
      }
      return lang;
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown or unsupported language code '" + code + "'");
    }
  }

  /** The detected language and its confidence. */
  public record Detection(String lang, double score) {}

  /**
   * The most likely candidate for {@code text} (lower-case ISO 639-1) or {@link #UNKNOWN} with
   * score 0.
   */
  public Detection detect(String text) {
    String sample = text.length() > MAX_CHARS ? text.substring(0, MAX_CHARS) : text;
    SortedMap<Language, Double> confidences = detector().computeLanguageConfidenceValues(sample);
    if (confidences.isEmpty()) {
      return new Detection(UNKNOWN, 0);
    }
    Language best = confidences.firstKey();
    double score = confidences.get(best);
    for (Map.Entry<Language, Double> e : confidences.entrySet()) {
      if (e.getValue() > score) {
        best = e.getKey();
        score = e.getValue();
      }
    }
    if (best == Language.UNKNOWN || score <= 0) {
      return new Detection(UNKNOWN, 0);
    }
    return new Detection(best.getIsoCode639_1().name().toLowerCase(Locale.ROOT), score);
  }

  private LanguageDetector detector() {
    return DETECTORS.computeIfAbsent(
        this,
        k -> {
          LanguageDetectorBuilder b =
              LanguageDetectorBuilder.fromLanguages(
                  candidates.stream().map(LanguageIdentifier::language).toArray(Language[]::new));
          return (highAccuracy ? b : b.withLowAccuracyMode()).build();
        });
  }
}
