package org.dbrxspark.jobs.dedup;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.dbrxspark.jobs.text.Hash64;
import org.dbrxspark.jobs.text.Words;

/**
 * Shingles, MinHash signatures and LSH band keys for one document.
 *
 * <p>Words are those of {@link org.dbrxspark.jobs.text.Words}: maximal runs of letters and digits,
 * lower-cased; the exact key and the shingles read the normalised text. Shingles are word n-grams
 * (a document shorter than n words is one shingle). A shingle is hashed to 64 bits with FNV-1a over
 * its UTF-16 code units followed by the MurmurHash3 finaliser, then reduced modulo the Mersenne
 * prime p = 2^61 - 1. The hash family is h_i(x) = (a_i * x + b_i) mod p for i = 1..numPerm, with
 * a_i in [1, p) and b_i in [0, p) drawn from {@code SplittableRandom(seed)}; the signature is the
 * minimum of each h_i over the shingle set. A band key hashes its {@code rows} values the same way
 * as a shingle. Everything depends only on the text and the parameters, never on the JVM or the
 * partitioning.
 *
 * @param ngram words per shingle
 * @param numPerm signature length
 * @param seed seed of the hash family
 * @param lsh bands and rows
 */
public record MinHasher(int ngram, int numPerm, long seed, LshParams lsh) implements Serializable {
  static final long PRIME = (1L << 61) - 1;

  public MinHasher {
    if (lsh.bands() * lsh.rows() > numPerm) {
      throw new IllegalArgumentException("bands x rows exceeds the signature length");
    }
  }

  /** Parameters as stored next to signatures, so that incompatible indexes are refused. */
  public String describe() {
    return "ngram="
        + ngram
        + ",perm="
        + numPerm
        + ",seed="
        + seed
        + ",bands="
        + lsh.bands()
        + ",rows="
        + lsh.rows()
        + ",words="
        + Words.SPLIT_VERSION;
  }

  /** SHA-256 of the normalised text, first 128 bits in hex: the exact-duplicate key. */
  static String exactHash(String normalised) {
    try {
      byte[] d =
          MessageDigest.getInstance("SHA-256").digest(normalised.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }

  /** The sorted, distinct shingle hashes of a normalised text; empty when it has no words. */
  long[] shingles(String normalised) {
    if (normalised.isEmpty()) {
      return new long[0];
    }
    String[] words = normalised.split(" ");
    int count = Math.max(1, words.length - ngram + 1);
    long[] out = new long[count];
    for (int i = 0; i < count; i++) {
      long h = Hash64.FNV_OFFSET;
      for (int j = i; j < Math.min(words.length, i + ngram); j++) {
        if (j > i) {
          h = (h ^ ' ') * Hash64.FNV_PRIME;
        }
        h = Hash64.fnv1a(h, words[j], 0, words[j].length());
      }
      out[i] = Long.remainderUnsigned(Hash64.fmix64(h), PRIME);
    }
    Arrays.sort(out);
    return Arrays.stream(out).distinct().toArray();
  }

  /** The MinHash signature of a shingle set. */
  long[] signature(long[] shingles) {
    long[] a = new long[numPerm];
    long[] b = new long[numPerm];
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = 0; i < numPerm; i++) {
      a[i] = 1 + random.nextLong(PRIME - 1);
      b[i] = random.nextLong(PRIME);
    }
    long[] sig = new long[numPerm];
    Arrays.fill(sig, PRIME);
    for (long x : shingles) {
      for (int i = 0; i < numPerm; i++) {
        long h = mulAddMod(a[i], x, b[i]);
        if (h < sig[i]) {
          sig[i] = h;
        }
      }
    }
    return sig;
  }

  /** One key per band; empty for a document without shingles, which then never collides. */
  long[] bandKeys(long[] signature, boolean empty) {
    if (empty) {
      return new long[0];
    }
    long[] keys = new long[lsh.bands()];
    for (int band = 0; band < lsh.bands(); band++) {
      long h = Hash64.FNV_OFFSET;
      for (int r = 0; r < lsh.rows(); r++) {
        h = Hash64.fmix64(h ^ signature[band * lsh.rows() + r]) * Hash64.FNV_PRIME;
      }
      keys[band] = Hash64.fmix64(h);
    }
    return keys;
  }

  /** (a * x + b) mod (2^61 - 1) for a, x, b below 2^61, without overflow. */
  static long mulAddMod(long a, long x, long b) {
    long hi = Math.multiplyHigh(a, x);
    long lo = a * x;
    // a*x = hi * 2^64 + lo; 2^64 = 8 * 2^61 = 8 (mod p).
    long low61 = lo & PRIME;
    long high = (lo >>> 61) | (hi << 3);
    long r = low61 + high;
    r = (r & PRIME) + (r >>> 61);
    r += b;
    r = (r & PRIME) + (r >>> 61);
    return r >= PRIME ? r - PRIME : r;
  }
}
