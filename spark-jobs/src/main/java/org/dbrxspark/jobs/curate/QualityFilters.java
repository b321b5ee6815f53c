package org.dbrxspark.jobs.curate;

import static org.dbrxspark.jobs.curate.QualityFilter.Bound.MAX;
import static org.dbrxspark.jobs.curate.QualityFilter.Bound.MIN;
import static org.dbrxspark.jobs.curate.WritingSystem.CHINESE;
import static org.dbrxspark.jobs.curate.WritingSystem.JAPANESE;
import static org.dbrxspark.jobs.curate.WritingSystem.KHMER;
import static org.dbrxspark.jobs.curate.WritingSystem.LAO;
import static org.dbrxspark.jobs.curate.WritingSystem.MYANMAR;
import static org.dbrxspark.jobs.curate.WritingSystem.THAI;

import java.util.List;
import java.util.Map;

/**
 * The filters and their published defaults. Gopher: Rae et al. 2021, appendix A (quality and
 * repetition rules). C4: Raffel et al. 2020, section 2.2 (with the sentence minimum of the common
 * reimplementations). FineWeb: Penedo et al. 2024, section 3.3 (its three custom filters plus the
 * list-like newline rule).
 *
 * <p>Like FineWeb-2, some thresholds differ per language, here per {@link WritingSystem} (the
 * option re-tunes the spaced-text one; docs/jobs.md lists them all):
 *
 * <ul>
 *   <li>minimum words: a Chinese word holds more of the text than an English one (the same
 *       declaration is 1.2 English words per Chinese word; Japanese, Thai, Lao, Khmer and Myanmar
 *       split finer than English), so 40 Chinese words are Gopher's 50 English ones.
 *   <li>mean word length, in code points (combining vowel signs count): a word as ICU segments it
 *       is 1.6 to 1.9 in Chinese and Japanese prose, 3.3 to 4.1 in Thai, 3.9 to 4.6 in Lao, 4.5 to
 *       5.5 in Khmer, 4.3 to 5.3 in Myanmar, and an English word 4.5 to 5.3 (the UDHR in each,
 *       documents of 3 to 6 articles). The bounds keep Gopher's room around prose, 0.75 times the
 *       lowest and 2 times the highest to the nearest 0.5: below, characters the dictionaries
 *       cannot join (character soup); above, runs they cannot split.
 *   <li>stop words: Thai and Lao function words are single syllables, which a run of random
 *       syllables also holds by chance: 0 to 3 in the declaration's letters shuffled (20 shuffles),
 *       against at least 19 in each prose document. 5 of them separate the two; Gopher's 2 does
 *       not. In the other scripts character soup falls below the mean-word-length bound instead.
 *   <li>sentences and lines ending in punctuation: Thai and Lao end a sentence with a space, not a
 *       mark, so these do not apply to them. Khmer and Myanmar end it with their own full stops (។
 *       and ။), which count as terminal punctuation.
 * </ul>
 */
public final class QualityFilters {
  private QualityFilters() {}

  /**
   * The mean-word-length bounds {min, max} of each unspaced writing system (see above); before
   * {@link #DEFAULTS}, which reads it.
   */
  private static final Map<WritingSystem, double[]> WORD_LENGTH =
      Map.of(
          CHINESE, new double[] {1.2, 3.5},
          JAPANESE, new double[] {1.2, 3.5},
          THAI, new double[] {2.5, 8},
          LAO, new double[] {3, 9},
          KHMER, new double[] {3.5, 11},
          MYANMAR, new double[] {3, 10.5});

  /** Every filter with its default threshold, in the order they are reported. */
  public static final List<QualityFilter> DEFAULTS =
      List.of(
          f("min-chars", Signal.CHARS, MIN, 1, "Reject empty documents"),
          f("gopher-min-words", Signal.WORDS, MIN, 50, "Gopher: fewer words").with(CHINESE, 40),
          f("gopher-max-words", Signal.WORDS, MAX, 100_000, "Gopher: more words"),
          wordLength(
              f(
                  "gopher-min-mean-word-length",
                  Signal.MEAN_WORD_LENGTH,
                  MIN,
                  3,
                  "Gopher: shorter mean word length"),
              0),
          wordLength(
              f(
                  "gopher-max-mean-word-length",
                  Signal.MEAN_WORD_LENGTH,
                  MAX,
                  10,
                  "Gopher: longer mean word length"),
              1),
          f(
              "gopher-max-symbol-word-ratio",
              Signal.SYMBOL_WORD_RATIO,
              MAX,
              0.1,
              "Gopher: more hash/ellipsis per word"),
          f(
              "gopher-max-bullet-lines",
              Signal.BULLET_LINES_FRAC,
              MAX,
              0.9,
              "Gopher: more lines starting with a bullet"),
          f(
              "gopher-max-ellipsis-lines",
              Signal.ELLIPSIS_LINES_FRAC,
              MAX,
              0.3,
              "Gopher: more lines ending in '...'"),
          f(
              "gopher-min-alpha-words",
              Signal.ALPHA_WORDS_FRAC,
              MIN,
              0.8,
              "Gopher: fewer words with a letter"),
          f(
                  "gopher-min-stop-words",
                  Signal.STOP_WORDS,
                  MIN,
                  2,
                  "Gopher: fewer stop words (English, or the function words of unspaced scripts)")
              .with(THAI, 5)
              .with(LAO, 5),
          f("gopher-max-dup-lines", Signal.DUP_LINE_FRAC, MAX, 0.3, "Gopher: more duplicate lines"),
          f(
              "gopher-max-dup-paragraphs",
              Signal.DUP_PARA_FRAC,
              MAX,
              0.3,
              "Gopher: more duplicate paragraphs"),
          f(
              "gopher-max-dup-line-chars",
              Signal.DUP_LINE_CHAR_FRAC,
              MAX,
              0.2,
              "Gopher: more characters in duplicate lines"),
          f(
              "gopher-max-dup-paragraph-chars",
              Signal.DUP_PARA_CHAR_FRAC,
              MAX,
              0.2,
              "Gopher: more characters in duplicate paragraphs"),
          f(
              "gopher-max-top-2gram",
              Signal.TOP_2GRAM_CHAR_FRAC,
              MAX,
              0.20,
              "Gopher: top 2-gram covers more characters"),
          f(
              "gopher-max-top-3gram",
              Signal.TOP_3GRAM_CHAR_FRAC,
              MAX,
              0.18,
              "Gopher: top 3-gram covers more characters"),
          f(
              "gopher-max-top-4gram",
              Signal.TOP_4GRAM_CHAR_FRAC,
              MAX,
              0.16,
              "Gopher: top 4-gram covers more characters"),
          f(
              "gopher-max-dup-5gram",
              Signal.DUP_5GRAM_CHAR_FRAC,
              MAX,
              0.15,
              "Gopher: repeated 5-grams cover more"),
          f(
              "gopher-max-dup-6gram",
              Signal.DUP_6GRAM_CHAR_FRAC,
              MAX,
              0.14,
              "Gopher: repeated 6-grams cover more"),
          f(
              "gopher-max-dup-7gram",
              Signal.DUP_7GRAM_CHAR_FRAC,
              MAX,
              0.13,
              "Gopher: repeated 7-grams cover more"),
          f(
              "gopher-max-dup-8gram",
              Signal.DUP_8GRAM_CHAR_FRAC,
              MAX,
              0.12,
              "Gopher: repeated 8-grams cover more"),
          f(
              "gopher-max-dup-9gram",
              Signal.DUP_9GRAM_CHAR_FRAC,
              MAX,
              0.11,
              "Gopher: repeated 9-grams cover more"),
          f(
              "gopher-max-dup-10gram",
              Signal.DUP_10GRAM_CHAR_FRAC,
              MAX,
              0.10,
              "Gopher: repeated 10-grams cover more"),
          f("c4-max-lorem-ipsum", Signal.LOREM_IPSUM, MAX, 0, "C4: 'lorem ipsum' placeholder text"),
          f("c4-max-curly-brackets", Signal.CURLY_BRACKETS, MAX, 0, "C4: '{' (code or markup)"),
          punctuation(
              f(
                  "c4-min-sentences",
                  Signal.SENTENCES,
                  MIN,
                  5,
                  "C4: fewer sentences left after the line rules")),
          punctuation(
              f(
                  "fineweb-min-line-punct",
                  Signal.LINE_PUNCT_FRAC,
                  MIN,
                  0.12,
                  "FineWeb: fewer lines ending in punctuation")),
          f(
              "fineweb-max-short-lines",
              Signal.SHORT_LINE_FRAC,
              MAX,
              0.67,
              "FineWeb: more lines of <= 30 characters"),
          f(
              "fineweb-max-char-dup",
              Signal.CHAR_DUP_FRAC,
              MAX,
              0.01,
              "FineWeb: more characters in duplicate lines"),
          f(
              "fineweb-max-newline-ratio",
              Signal.NEWLINE_WORD_RATIO,
              MAX,
              0.3,
              "FineWeb: more newlines per word (lists)"));

  /** {@code filter} with bound {@code side} (0 min, 1 max) of {@link #WORD_LENGTH}. */
  private static QualityFilter wordLength(QualityFilter filter, int side) {
    for (Map.Entry<WritingSystem, double[]> e : WORD_LENGTH.entrySet()) {
      filter = filter.with(e.getKey(), e.getValue()[side]);
    }
    return filter;
  }

  /**
   * {@code filter}, which counts sentence marks, off for scripts that end sentences with a space.
   */
  private static QualityFilter punctuation(QualityFilter filter) {
    return filter.with(THAI, Double.NaN).with(LAO, Double.NaN);
  }

  private static QualityFilter f(
      String name, Signal signal, QualityFilter.Bound bound, double threshold, String description) {
    return new QualityFilter(name, signal, bound, threshold, description);
  }
}
