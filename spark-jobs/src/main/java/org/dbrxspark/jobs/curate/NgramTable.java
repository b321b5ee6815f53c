package org.dbrxspark.jobs.curate;

import java.util.Arrays;

/**
 * A map from 64-bit n-gram keys to int values for one document's n-gram counts, in primitive
 * arrays: the Gopher repetition signals look up every n-gram of every document for n = 2 to 10,
 * which boxed {@code HashMap<Long, ...>} entries made the costliest part of curate after language
 * identification. Open addressing with linear probing; {@link #clear} empties it for the next n.
 */
final class NgramTable {
  private final long[] keys;
  private final int[] values;
  private final boolean[] used;
  private final int mask;

  /** A table for up to {@code capacity} keys. */
  NgramTable(int capacity) {
    int size = Integer.highestOneBit(Math.max(2, capacity) * 2 - 1) * 2;
    keys = new long[size];
    values = new int[size];
    used = new boolean[size];
    mask = size - 1;
  }

  void clear() {
    Arrays.fill(used, false);
  }

  /** Adds one to {@code key}'s count (0 when absent) and returns the new count. */
  int increment(long key) {
    int slot = slot(key);
    if (!used[slot]) {
      used[slot] = true;
      keys[slot] = key;
      values[slot] = 0;
    }
    return ++values[slot];
  }

  /** {@code key}'s value if present; otherwise stores {@code value} and returns -1. */
  int putIfAbsent(long key, int value) {
    int slot = slot(key);
    if (used[slot]) {
      return values[slot];
    }
    used[slot] = true;
    keys[slot] = key;
    values[slot] = value;
    return -1;
  }

  /** {@code key}'s value, or -1 when absent. */
  int get(long key) {
    int slot = slot(key);
    return used[slot] ? values[slot] : -1;
  }

  /** The slot holding {@code key}, or the free slot where it goes. */
  private int slot(long key) {
    int slot = (int) ((key * 0x9E3779B97F4A7C15L) >>> 32) & mask;
    while (used[slot] && keys[slot] != key) {
      slot = (slot + 1) & mask;
    }
    return slot;
  }
}
