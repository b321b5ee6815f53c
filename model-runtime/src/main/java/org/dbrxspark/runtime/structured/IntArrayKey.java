package org.dbrxspark.runtime.structured;

import java.util.Arrays;

/**
 * An {@code int[]} as a hash key, compared by its contents: a DFA state's subset of NFA states, a
 * state's signature in the refinement, a column of transitions. {@code IntBuffer} compares by
 * contents too, but determinizing a long string took 20% longer with it as the key.
 *
 * @param values not modified once the key is made
 */
record IntArrayKey(int[] values) {
  @Override
  public boolean equals(Object o) {
    return o instanceof IntArrayKey other && Arrays.equals(values, other.values);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(values);
  }
}
