package org.dbrxspark.benchmarks.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * Words with Zipfian frequencies: the word of rank k (from 1) is drawn with probability
 * proportional to 1 / k^exponent. The head is the vocabulary of a real corpus (lower-case ASCII
 * words of two letters or more, plus "a" and "i", seen at least twice), ranked by frequency, so
 * that the common words are real function words ("the", "of", "and"); made-up pronounceable words
 * fill the tail up to the requested size. Word ids are ranks from 0; every word is distinct and
 * consists of the letters a-z only, so a word sequence normalises to itself.
 */
final class ZipfVocabulary {
  private static final Pattern LETTERS = Pattern.compile("\\p{L}+");
  private static final Pattern ASCII_WORD = Pattern.compile("[a-z]{2,}|a|i");
  private static final String[] ONSETS = {
    "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br", "cl",
    "dr", "fr", "gr", "pl", "st", "tr", "sh", "th"
  };
  private static final String[] VOWELS = {"a", "e", "i", "o", "u", "ai", "ea", "ou", "io"};
  private static final String[] CODAS = {"", "", "", "n", "r", "s", "l", "t", "nd", "st"};

  private final String[] words;
  private final double[] cumulative;

  private ZipfVocabulary(String[] words, double exponent) {
    this.words = words;
    cumulative = new double[words.length];
    double sum = 0;
    for (int k = 0; k < words.length; k++) {
      sum += 1 / Math.pow(k + 1, exponent);
      cumulative[k] = sum;
    }
    for (int k = 0; k < words.length; k++) {
      cumulative[k] /= sum;
    }
  }

  /**
   * A vocabulary of {@code size} words headed by the words of {@code corpus} (JSONL, gzip, field
   * "text").
   */
  static ZipfVocabulary fromCorpus(Path corpus, int size, double exponent) throws IOException {
    Map<String, Integer> counts = new HashMap<>();
    ObjectMapper json = new ObjectMapper();
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(corpus)), StandardCharsets.UTF_8))) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        Matcher m =
            LETTERS.matcher(json.readTree(line).path("text").asText().toLowerCase(Locale.ROOT));
        while (m.find()) {
          counts.merge(m.group(), 1, Integer::sum);
        }
      }
    }
    List<String> head = new ArrayList<>();
    counts.forEach(
        (w, n) -> {
          if (n >= 2 && ASCII_WORD.matcher(w).matches()) {
            head.add(w);
          }
        });
    head.sort(
        Comparator.<String>comparingInt(counts::get)
            .reversed()
            .thenComparing(Comparator.naturalOrder()));
    return new ZipfVocabulary(withMadeUpTail(head, size), exponent);
  }

  private static String[] withMadeUpTail(List<String> head, int size) {
    List<String> all = new ArrayList<>(head.subList(0, Math.min(size, head.size())));
    Set<String> seen = new HashSet<>(all);
    SplittableRandom random = new SplittableRandom(0);
    while (all.size() < size) {
      StringBuilder w = new StringBuilder();
      int syllables = 2 + random.nextInt(2);
      for (int s = 0; s < syllables; s++) {
        w.append(ONSETS[random.nextInt(ONSETS.length)])
            .append(VOWELS[random.nextInt(VOWELS.length)]);
      }
      w.append(CODAS[random.nextInt(CODAS.length)]);
      if (seen.add(w.toString())) {
        all.add(w.toString());
      }
    }
    return all.toArray(String[]::new);
  }

  int size() {
    return words.length;
  }

  String word(int id) {
    return words[id];
  }

  /** A word id drawn from the Zipf distribution. */
  int sample(SplittableRandom random) {
    int at = Arrays.binarySearch(cumulative, random.nextDouble());
    return Math.min(words.length - 1, at >= 0 ? at : -at - 1);
  }
}
