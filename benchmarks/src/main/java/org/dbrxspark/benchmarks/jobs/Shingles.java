package org.dbrxspark.benchmarks.jobs;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Exact word n-gram shingle sets and their Jaccard similarity, as the dedup job defines them (words
 * are runs of letters and digits, lower-cased; a text shorter than n words is one shingle), but on
 * the shingle strings themselves rather than on 61-bit hashes. The benchmark's ground truth is
 * measured with this class, independently of the job's implementation.
 */
final class Shingles {
  private static final Pattern NON_WORD = Pattern.compile("[^\\p{L}\\p{N}]+");

  private Shingles() {}

  /** The words of {@code text}: lower case, in order. */
  static String[] words(String text) {
    String normalised = NON_WORD.matcher(text.toLowerCase(Locale.ROOT)).replaceAll(" ").strip();
    return normalised.isEmpty() ? new String[0] : normalised.split(" ");
  }

  /** The set of {@code n}-word shingles of {@code text}; empty when it has no words. */
  static Set<String> of(String text, int n) {
    String[] words = words(text);
    Set<String> out = new HashSet<>();
    if (words.length == 0) {
      return out;
    }
    int count = Math.max(1, words.length - n + 1);
    for (int i = 0; i < count; i++) {
      out.add(String.join(" ", Arrays.copyOfRange(words, i, Math.min(words.length, i + n))));
    }
    return out;
  }

  /**
   * Jaccard similarity of the {@code n}-word shingle sets of two texts; 1 when both have no words.
   */
  static double jaccard(String a, String b, int n) {
    return jaccard(of(a, n), of(b, n));
  }

  static <T> double jaccard(Set<T> x, Set<T> y) {
    if (x.isEmpty() && y.isEmpty()) {
      return 1;
    }
    Set<T> small = x.size() <= y.size() ? x : y;
    Set<T> large = small == x ? y : x;
    int common = 0;
    for (T s : small) {
      if (large.contains(s)) {
        common++;
      }
    }
    return (double) common / (x.size() + y.size() - common);
  }
}
