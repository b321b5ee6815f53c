package org.dbrxspark.jobs.dedup;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.dbrxspark.jobs.text.Words;

/** Seeded test documents with controlled word-shingle Jaccard similarity. */
final class DedupDocs {
  private static final String[] SYLLABLES = {
    "ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "du", "sa", "fi"
  };

  private DedupDocs() {}

  /** {@code words} distinct pseudo-words, different for every {@code seed}. */
  static String base(int words, int seed) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < words; i++) {
      sb.append(i == 0 ? "" : i % 12 == 11 ? ". " : " ").append(word(seed * 100_000 + i));
    }
    return sb.append('.').toString();
  }

  /**
   * {@code text} with {@code count} words replaced by shorter ones, spread evenly, from {@code
   * offset}.
   */
  static String substitute(String text, int count, int offset) {
    String[] words = text.split(" ");
    int step = words.length / count;
    for (int k = 0; k < count; k++) {
      int at = (offset + k * step) % words.length;
      words[at] = "q" + (char) ('a' + k % 26);
    }
    return String.join(" ", words);
  }

  private static String word(int n) {
    StringBuilder sb = new StringBuilder();
    int v = n;
    do {
      sb.append(SYLLABLES[v % SYLLABLES.length]);
      v /= SYLLABLES.length;
    } while (v > 0);
    return sb.toString();
  }

  static double jaccard(MinHasher h, String a, String b) {
    Set<Long> x = new HashSet<>(Arrays.stream(h.shingles(Words.normalise(a))).boxed().toList());
    Set<Long> y = new HashSet<>(Arrays.stream(h.shingles(Words.normalise(b))).boxed().toList());
    Set<Long> inter = new HashSet<>(x);
    inter.retainAll(y);
    Set<Long> union = new HashSet<>(x);
    union.addAll(y);
    return (double) inter.size() / union.size();
  }
}
