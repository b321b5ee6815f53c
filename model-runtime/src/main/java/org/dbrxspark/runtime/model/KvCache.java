package org.dbrxspark.runtime.model;

import java.util.Arrays;

/**
 * The keys and values one sequence has produced so far, per layer, laid out
 * {@code [position][kvHead][headDim]}. Grows on demand up to the model's max_seq_len.
 */
public final class KvCache {
  private final int layers;
  private final int width;
  private final int maxLength;
  private final float[][] keys;
  private final float[][] values;
  private int length;

  KvCache(int layers, int kvHeads, int headDim, int maxLength) {
    this.layers = layers;
    this.width = kvHeads * headDim;
    this.maxLength = maxLength;
    this.keys = new float[layers][0];
    this.values = new float[layers][0];
  }

  /** Tokens cached so far: the position of the next token. */
  public int length() {
    return length;
  }

  /** Bytes held by this cache's arrays. */
  public long byteSize() {
    long floats = 0;
    for (int l = 0; l < layers; l++) {
      floats += keys[l].length + values[l].length;
    }
    return floats * Float.BYTES;
  }

  /** Makes room for {@code more} tokens beyond the current length in every layer. */
  void reserve(int more) {
    int needed = length + more;
    int capacity = keys[0].length / width;
    if (needed <= capacity) {
      return;
    }
    int grown = Math.min(maxLength, Math.max(needed, Math.max(16, capacity * 2)));
    for (int l = 0; l < layers; l++) {
      keys[l] = Arrays.copyOf(keys[l], grown * width);
      values[l] = Arrays.copyOf(values[l], grown * width);
    }
  }

  float[] keys(int layer) {
    return keys[layer];
  }

  float[] values(int layer) {
    return values[layer];
  }

  int width() {
    return width;
  }

  /** Marks {@code count} reserved positions as filled (after every layer has written them). */
  void advance(int count) {
    length += count;
  }
}
