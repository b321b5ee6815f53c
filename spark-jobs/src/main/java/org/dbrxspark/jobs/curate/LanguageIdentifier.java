package org.dbrxspark.jobs.curate;

import com.github.pemistahl.lingua.api.IsoCode639_1;
import com.github.pemistahl.lingua.api.Language;
import com.github.pemistahl.lingua.api.LanguageDetector;
import com.github.pemistahl.lingua.api.LanguageDetectorBuilder;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Language identification with Lingua, among a fixed list of candidate languages, on a bounded
 * sample of each document: {@code sampleChars} characters in windows spread over it ({@link
 * #sample}).
 *
 * <p>Lingua's cost is one n-gram lookup per candidate language per n-gram of the sample. With a
 * {@code shortlist}, a first pass over {@value #FIRST_PASS_CHARS} characters of the sample ranks
 * all candidates, and the sample is then scored among the best {@code shortlist} of them only: a
 * language that is not in the top few on a short passage rarely wins on a longer one
 * (LanguageIdentifierAccuracyTest and BENCHMARKS.md measure this). Texts no longer than the first
 * pass are scored among all candidates directly. In low-accuracy mode both passes are Lingua's own
 * answer, rules and statistics, computed by {@link TrigramRanking} from its models in one lookup
 * per trigram; Lingua's detector answers only for the rare sample whose trigrams {@link
 * TrigramRanking} cannot sum in Lingua's order, and in high-accuracy mode.
 *
 * <p>Detectors are built once per JVM and candidate set (Lingua's n-gram models are shared by all
 * detectors and load lazily per language), so an executor pays the model loading once, not per task
 * or row.
 *
 * @param candidates ISO 639-1 codes of the languages to choose among
 * @param highAccuracy Lingua's high-accuracy mode (all n-gram sizes on texts under 120 characters);
 *     low-accuracy mode uses trigrams only, as Lingua itself does on longer texts
 * @param sampleChars how many characters of each document are looked at
 * @param shortlist how many candidates the first pass keeps; 0 for no first pass
 */
public record LanguageIdentifier(
    List<String> candidates, boolean highAccuracy, int sampleChars, int shortlist)
    implements Serializable {
  /** The language code returned when no candidate fits. */
  public static final String UNKNOWN = "unknown";

  /** Length of the first pass that picks the shortlist. */
  static final int FIRST_PASS_CHARS = 200;

  /** How many windows a sample of a longer text is made of. */
  static final int WINDOWS = 4;

  private static final Map<Key, LanguageDetector> DETECTORS = new ConcurrentHashMap<>();

  // Lingua looks a code up by a scan of its languages: once per candidate list, not per document.
  private static final Map<List<String>, Set<Language>> CANDIDATE_SETS = new ConcurrentHashMap<>();

  private record Key(Set<Language> languages, boolean highAccuracy) {}

  /** Validates the codes and sizes now, so that a typo fails before Spark work starts. */
  public LanguageIdentifier {
    candidates = List.copyOf(candidates);
    if (candidates.size() < 2) {
      throw new IllegalArgumentException(
          "language identification needs at least two candidate languages");
    }
    candidates.forEach(LanguageIdentifier::language);
    if (sampleChars < 1) {
      throw new IllegalArgumentException(
          "--lid-sample-chars must be at least 1, got " + sampleChars);
    }
    if (shortlist == 1 || shortlist < 0) {
      throw new IllegalArgumentException(
          "--lid-shortlist must be 0 (no shortlist) or at least 2, got " + shortlist);
    }
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
    String sample = sample(text, sampleChars);
    Set<Language> among = allCandidates();
    TrigramRanking ranking = highAccuracy ? null : TrigramRanking.of(among);
    if (shortlist > 0 && sample.length() > FIRST_PASS_CHARS) {
      String firstPass = sample(sample, FIRST_PASS_CHARS);
      Map<Language, Double> ranked = ranking == null ? null : ranking.confidences(firstPass, among);
      Set<Language> best =
          best(
              ranked != null ? ranked : detector(among).computeLanguageConfidenceValues(firstPass),
              shortlist);
      if (best.size() >= 2) {
        among = best;
      }
    }
    Map<Language, Double> confidences = ranking == null ? null : ranking.confidences(sample, among);
    if (confidences == null) {
      confidences = detector(among).computeLanguageConfidenceValues(sample);
    }
    Language top = null;
    double score = 0;
    for (Map.Entry<Language, Double> e : confidences.entrySet()) {
      if (top == null || e.getValue() > score) {
        top = e.getKey();
        score = e.getValue();
      }
    }
    if (top == null || top == Language.UNKNOWN || score <= 0) {
      return new Detection(UNKNOWN, 0);
    }
    return new Detection(code(top), score);
  }

  private static String code(Language language) {
    return language.getIsoCode639_1().name().toLowerCase(Locale.ROOT);
  }

  /**
   * At most {@code n} characters of {@code text}: all of it when it is that short, else {@value
   * #WINDOWS} windows spread evenly from its start to its end, each trimmed to whole words, so that
   * a boilerplate opening (a licence header, a message catalogue's preamble) cannot decide alone.
   */
  static String sample(String text, int n) {
    if (text.length() <= n) {
      return text;
    }
    int width = Math.max(1, n / WINDOWS);
    StringBuilder out = new StringBuilder(n + WINDOWS);
    for (int i = 0; i < WINDOWS; i++) {
      int start = (int) ((long) (text.length() - width) * i / (WINDOWS - 1));
      int end = start + width;
      if (start > 0 && !Character.isWhitespace(text.charAt(start - 1))) {
        int space = indexOfSpace(text, start, end);
        start = space < 0 ? start : space + 1;
      }
      if (end < text.length() && !Character.isWhitespace(text.charAt(end))) {
        int space = lastIndexOfSpace(text, start, end);
        end = space < 0 ? end : space;
      }
      if (Character.isLowSurrogate(text.charAt(start))) {
        start++;
      }
      if (end > start && Character.isHighSurrogate(text.charAt(end - 1))) {
        end--;
      }
      if (end > start) {
        out.append(out.isEmpty() ? "" : "\n").append(text, start, end);
      }
    }
    return out.toString();
  }

  private static int indexOfSpace(String text, int from, int to) {
    for (int i = from; i < to; i++) {
      if (Character.isWhitespace(text.charAt(i))) {
        return i;
      }
    }
    return -1;
  }

  private static int lastIndexOfSpace(String text, int from, int to) {
    for (int i = to - 1; i >= from; i--) {
      if (Character.isWhitespace(text.charAt(i))) {
        return i;
      }
    }
    return -1;
  }

  /** The {@code k} languages with the highest positive confidence, ties in Lingua's order. */
  private static Set<Language> best(Map<Language, Double> confidences, int k) {
    List<Map.Entry<Language, Double>> ranked = new ArrayList<>(confidences.entrySet());
    ranked.removeIf(e -> e.getKey() == Language.UNKNOWN || e.getValue() <= 0);
    ranked.sort(Map.Entry.<Language, Double>comparingByValue().reversed());
    Set<Language> best = EnumSet.noneOf(Language.class);
    for (int i = 0; i < Math.min(k, ranked.size()); i++) {
      best.add(ranked.get(i).getKey());
    }
    return best;
  }

  private Set<Language> allCandidates() {
    return CANDIDATE_SETS.computeIfAbsent(
        candidates,
        codes -> {
          Set<Language> all = EnumSet.noneOf(Language.class);
          codes.forEach(c -> all.add(language(c)));
          return Collections.unmodifiableSet(all);
        });
  }

  private LanguageDetector detector(Set<Language> languages) {
    return DETECTORS.computeIfAbsent(
        new Key(Set.copyOf(languages), highAccuracy),
        k -> {
          LanguageDetectorBuilder b =
              LanguageDetectorBuilder.fromLanguages(k.languages().toArray(Language[]::new));
          return (highAccuracy ? b : b.withLowAccuracyMode()).build();
        });
  }
}
