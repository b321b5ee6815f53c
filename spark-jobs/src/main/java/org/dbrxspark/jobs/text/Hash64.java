package org.dbrxspark.jobs.text;

/** The 64-bit hashing the matching jobs build their word and n-gram hashes from. */
public final class Hash64 {
  /** FNV-1a's 64-bit offset basis: the state before the first character. */
  public static final long FNV_OFFSET = 0xcbf29ce484222325L;

  /** FNV-1a's 64-bit prime. */
  public static final long FNV_PRIME = 0x100000001b3L;

  private Hash64() {}

  /** FNV-1a over the UTF-16 code units {@code text[from, to)}, continuing from state {@code h}. */
  public static long fnv1a(long h, CharSequence text, int from, int to) {
    long state = h;
    for (int k = from; k < to; k++) {
      state = (state ^ text.charAt(k)) * FNV_PRIME;
    }
    return state;
  }

  /** MurmurHash3's 64-bit finaliser: spreads every input bit over the output. */
  public static long fmix64(long k) {
    long x = k;
    x ^= x >>> 33;
    x *= 0xff51afd7ed558ccdL;
    x ^= x >>> 33;
    x *= 0xc4ceb9fe1a85ec53L;
    x ^= x >>> 33;
    return x;
  }
}
