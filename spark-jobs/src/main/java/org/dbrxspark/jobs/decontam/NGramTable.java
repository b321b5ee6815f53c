package org.dbrxspark.jobs.decontam;

import java.io.Serializable;
import java.util.Arrays;

/**
 * The benchmark n-gram hashes and, for each, the items that have it: what the broadcast path ships
 * to every executor. Hashes are kept sorted (unsigned) with an index on their top bits, so a lookup
 * is one index read and a short scan; an item list is in item order. Public, with {@link Matcher},
 * so that the matching can be timed without Spark (the benchmarks module's {@code
 * MatchThroughput}).
 */
public final class NGramTable implements Serializable {
  /**
   * Estimated bytes per benchmark n-gram: its hash, its item, its posting offset, the top-bits
   * index.
   */
  static final int BYTES_PER_NGRAM = 8 + 4 + 4 + 4;

  /** Hashes with the sign bit flipped, so that signed order is the hashes' unsigned order. */
  private final long[] keys;

  private final int[] postingStart;
  private final int[] postings;
  private final int indexBits;

  /**
   * For each value of the top {@code indexBits} bits, where its keys start; one more at the end.
   */
  private final int[] index;

  private NGramTable(long[] keys, int[] postingStart, int[] postings) {
    this.keys = keys;
    this.postingStart = postingStart;
    this.postings = postings;
    this.indexBits =
        Math.max(1, Math.min(26, 64 - Long.numberOfLeadingZeros(Math.max(1, keys.length))));
    this.index = new int[(1 << indexBits) + 1];
    int k = 0;
    for (int b = 0; b <= 1 << indexBits; b++) {
      while (k < keys.length && top(keys[k] ^ Long.MIN_VALUE) < b) {
        k++;
      }
      index[b] = k;
    }
  }

  /**
   * The table of {@code itemHashes}: entry i holds the distinct n-gram hashes of item i, so items
   * are numbered by their place in it.
   */
  public static NGramTable build(long[][] itemHashes) {
    int pairs = 0;
    for (long[] h : itemHashes) {
      pairs = Math.addExact(pairs, h.length);
    }
    long[] all = new long[pairs];
    int at = 0;
    for (long[] h : itemHashes) {
      for (long x : h) {
        all[at++] = x ^ Long.MIN_VALUE;
      }
    }
    Arrays.sort(all);
    int distinct = 0;
    for (int i = 0; i < all.length; i++) {
      if (i == 0 || all[i] != all[i - 1]) {
        all[distinct++] = all[i];
      }
    }
    long[] keys = Arrays.copyOf(all, distinct);
    int[] start = new int[distinct + 1];
    for (long[] h : itemHashes) {
      for (long x : h) {
        start[Arrays.binarySearch(keys, x ^ Long.MIN_VALUE) + 1]++;
      }
    }
    for (int i = 0; i < distinct; i++) {
      start[i + 1] += start[i];
    }
    int[] fill = Arrays.copyOf(start, distinct);
    int[] postings = new int[pairs];
    for (int item = 0; item < itemHashes.length; item++) {
      for (long x : itemHashes[item]) {
        postings[fill[Arrays.binarySearch(keys, x ^ Long.MIN_VALUE)]++] = item;
      }
    }
    return new NGramTable(keys, start, postings);
  }

  private int top(long hash) {
    return (int) (hash >>> (64 - indexBits));
  }

  /** The slot of {@code hash}, or -1 when no item has it. */
  int find(long hash) {
    int b = top(hash);
    long key = hash ^ Long.MIN_VALUE;
    for (int k = index[b]; k < index[b + 1]; k++) {
      if (keys[k] >= key) {
        return keys[k] == key ? k : -1;
      }
    }
    return -1;
  }

  /**
   * The items of slot {@code slot} are {@code postings()[postingStart(slot) .. postingStart(slot +
   * 1))}.
   */
  int postingStart(int slot) {
    return postingStart[slot];
  }

  int item(int posting) {
    return postings[posting];
  }

  /** Distinct n-gram hashes. */
  public int size() {
    return keys.length;
  }

  /** (item, n-gram) pairs. */
  int pairs() {
    return postings.length;
  }

  /** The bytes the table's arrays take. */
  public long bytes() {
    return 8L * keys.length + 4L * postingStart.length + 4L * postings.length + 4L * index.length;
  }
}
