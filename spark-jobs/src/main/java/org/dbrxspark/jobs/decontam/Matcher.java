package org.dbrxspark.jobs.decontam;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.text.Hash64;
import org.dbrxspark.jobs.text.Words;

/**
 * Word n-grams of documents and benchmark items, and the verdict on one document.
 *
 * <p>An n-gram's hash is a polynomial over its words' 64-bit hashes ({@link Words#wordHash}),
 * rolled along the text in one step per word, then mixed with {@link Hash64#fmix64}. A document is
 * contaminated by an item when they share at least {@code minOverlap} distinct n-grams. Among such
 * items the verdict names the one with the most shared n-grams, then the earliest first match, then
 * the smallest item number; both the broadcast and the join path end in {@link #choose}, so they
 * give the same verdicts. Public, with {@link NGramTable}, so that the matching can be timed
 * without Spark (the benchmarks module's {@code MatchThroughput}).
 *
 * @param ngram words per n-gram
 * @param minOverlap distinct shared n-grams that make a document contaminated by an item
 */
public record Matcher(int ngram, int minOverlap) implements Serializable {
  /** Odd multiplier of the polynomial; any odd constant with mixed bits serves. */
  private static final long BASE = 0x9e3779b97f4a7c15L;

  static final String ITEM = "item";
  static final String NGRAMS = "ngrams";
  static final String FIRST = "first";
  static final String ITEMS = "items";

  /**
   * What one document shares with one item: the item, distinct shared n-grams, the first one's word
   * position.
   */
  static StructType tallyType() {
    return new StructType()
        .add(ITEM, DataTypes.IntegerType, false)
        .add(NGRAMS, DataTypes.IntegerType, false)
        .add(FIRST, DataTypes.IntegerType, false);
  }

  /**
   * The verdict on a contaminated document: the chosen tally, and how many items reached the
   * overlap.
   */
  static StructType verdictType() {
    return tallyType().add(ITEMS, DataTypes.IntegerType, false);
  }

  /**
   * The hash of the n-gram starting at each word; empty when the text has fewer than {@code ngram}
   * words.
   */
  long[] hashes(Words words) {
    int count = words.count() - ngram + 1;
    if (count <= 0) {
      return new long[0];
    }
    long power = 1;
    for (int i = 1; i < ngram; i++) {
      power *= BASE;
    }
    long[] wordHashes = new long[words.count()];
    for (int i = 0; i < wordHashes.length; i++) {
      wordHashes[i] = words.wordHash(i);
    }
    long[] out = new long[count];
    long rolling = 0;
    for (int i = 0; i < ngram; i++) {
      rolling = rolling * BASE + wordHashes[i];
    }
    out[0] = Hash64.fmix64(rolling);
    for (int i = 1; i < count; i++) {
      rolling = (rolling - wordHashes[i - 1] * power) * BASE + wordHashes[i + ngram - 1];
      out[i] = Hash64.fmix64(rolling);
    }
    return out;
  }

  /**
   * The distinct n-gram hashes of an item's texts, sorted: n-grams within each text, never across
   * two.
   */
  public long[] distinctHashes(List<String> texts) {
    return texts.stream()
        .flatMapToLong(t -> Arrays.stream(hashes(Words.of(t))))
        .sorted()
        .distinct()
        .toArray();
  }

  /** How many n-gram positions an item's texts have: an upper bound on its distinct n-grams. */
  int positions(List<String> texts) {
    return texts.stream().mapToInt(t -> Math.max(0, Words.of(t).count() - ngram + 1)).sum();
  }

  /**
   * The distinct n-grams of a text with the word position of each one's first occurrence, as rows
   * of (hash, position): what the join path joins on.
   */
  List<Row> firstOccurrences(String text) {
    long[] h = hashes(Words.of(text));
    Set<Long> seen = new HashSet<>();
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < h.length; i++) {
      if (seen.add(h[i])) {
        out.add(RowFactory.create(h[i], i));
      }
    }
    return out;
  }

  /** The verdict on {@code text} against {@code table}, or null when it is clean. */
  public Row verdict(String text, NGramTable table) {
    long[] h = hashes(Words.of(text));
    Set<Long> seen = null;
    // item -> {shared n-grams, first position}; ordered so that the choice is reproducible
    Map<Integer, int[]> tallies = null;
    for (int i = 0; i < h.length; i++) {
      int slot = table.find(h[i]);
      if (slot < 0) {
        continue;
      }
      if (seen == null) {
        seen = new HashSet<>();
        tallies = new TreeMap<>();
      }
      if (!seen.add(h[i])) {
        continue;
      }
      for (int p = table.postingStart(slot); p < table.postingStart(slot + 1); p++) {
        int[] t = tallies.computeIfAbsent(table.item(p), k -> new int[] {0, -1});
        t[0]++;
        if (t[1] < 0) {
          t[1] = i;
        }
      }
    }
    if (tallies == null) {
      return null;
    }
    List<Row> rows = new ArrayList<>(tallies.size());
    tallies.forEach((item, t) -> rows.add(RowFactory.create(item, t[0], t[1])));
    return choose(rows);
  }

  /**
   * The verdict from a document's tallies (rows of {@link #tallyType}, one per item it shares an
   * n-gram with): null when no item reaches {@code minOverlap}.
   */
  Row choose(List<Row> tallies) {
    Row best = null;
    int reaching = 0;
    for (Row t : tallies) {
      if (t.getInt(1) < minOverlap) {
        continue;
      }
      reaching++;
      if (best == null || better(t, best)) {
        best = t;
      }
    }
    return best == null
        ? null
        : RowFactory.create(best.getInt(0), best.getInt(1), best.getInt(2), reaching);
  }

  private static boolean better(Row a, Row b) {
    if (a.getInt(1) != b.getInt(1)) {
      return a.getInt(1) > b.getInt(1);
    }
    if (a.getInt(2) != b.getInt(2)) {
      return a.getInt(2) < b.getInt(2);
    }
    return a.getInt(0) < b.getInt(0);
  }

  /** The original text of the n-gram at word position {@code first} of {@code text}. */
  String span(String text, int first) {
    return Words.of(text).originalSpan(first, first + ngram - 1);
  }
}
