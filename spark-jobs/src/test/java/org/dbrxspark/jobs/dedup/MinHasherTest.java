package org.dbrxspark.jobs.dedup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.SplittableRandom;
import org.dbrxspark.jobs.text.Words;
import org.junit.jupiter.api.Test;

class MinHasherTest {
  private final MinHasher hasher = new MinHasher(5, 256, 42, new LshParams(32, 8));

  @Test
  void mulAddModMatchesBigInteger() {
    SplittableRandom r = new SplittableRandom(1);
    BigInteger p = BigInteger.valueOf(MinHasher.PRIME);
    for (int i = 0; i < 10_000; i++) {
      long a = r.nextLong(MinHasher.PRIME);
      long x = r.nextLong(MinHasher.PRIME);
      long b = r.nextLong(MinHasher.PRIME);
      long want =
          BigInteger.valueOf(a)
              .multiply(BigInteger.valueOf(x))
              .add(BigInteger.valueOf(b))
              .mod(p)
              .longValue();
      assertEquals(want, MinHasher.mulAddMod(a, x, b));
    }
  }

  @Test
  void signatureAgreementEstimatesJaccard() {
    String a = Words.normalise(DedupDocs.base(300, 1));
    String b = Words.normalise(DedupDocs.substitute(DedupDocs.base(300, 1), 8, 3));
    double exact = DedupDocs.jaccard(hasher, a, b);
    long[] sa = hasher.signature(hasher.shingles(a));
    long[] sb = hasher.signature(hasher.shingles(b));
    int same = 0;
    for (int i = 0; i < sa.length; i++) {
      same += sa[i] == sb[i] ? 1 : 0;
    }
    assertEquals(exact, same / 256.0, 0.08, "MinHash estimate of " + exact);
  }

  @Test
  void deterministicAcrossInstancesAndNormalisesCaseAndPunctuation() {
    MinHasher other = new MinHasher(5, 256, 42, new LshParams(32, 8));
    String t = Words.normalise("Hello, World!  The QUICK brown fox; jumps over the lazy dog.");
    assertEquals("hello world the quick brown fox jumps over the lazy dog", t);
    assertArrayEquals(hasher.signature(hasher.shingles(t)), other.signature(other.shingles(t)));
    assertEquals(
        MinHasher.exactHash(t),
        MinHasher.exactHash(
            Words.normalise("hello world THE quick brown fox " + "jumps over the lazy dog")));
    MinHasher seeded = new MinHasher(5, 256, 7, new LshParams(32, 8));
    assertTrue(seeded.signature(seeded.shingles(t))[0] != hasher.signature(hasher.shingles(t))[0]);
    assertEquals(
        0, hasher.bandKeys(hasher.signature(new long[0]), true).length, "no words, no buckets");
  }

  @Test
  void recallBandingFindsPairsAtTheThresholdAndSkipsDistantOnes() {
    MinHasher defaults =
        new MinHasher(5, 128, 42, LshParams.forRecall(0.8, 128, LshParams.RECALL_AT_THRESHOLD));
    int atThreshold = 0;
    int distant = 0;
    for (int seed = 10; seed < 40; seed++) {
      String base = DedupDocs.base(200, seed);
      String near = DedupDocs.substitute(base, 4, seed);
      String far = DedupDocs.substitute(base, 21, seed);
      assertEquals(0.81, DedupDocs.jaccard(defaults, base, near), 0.02);
      assertEquals(0.30, DedupDocs.jaccard(defaults, base, far), 0.02);
      atThreshold += collide(defaults, base, near) ? 1 : 0;
      distant += collide(defaults, base, far) ? 1 : 0;
    }
    // Expected: P(candidate | J=0.81) = 0.97 (29 of 30), P(candidate | J=0.30) = 0.003 (0.1 of 30).
    assertTrue(atThreshold >= 26, atThreshold + " of 30 pairs at J~0.81 became candidates");
    assertTrue(distant <= 2, distant + " of 30 pairs at J~0.3 became candidates");
  }

  @Test
  void recallBandingHasTheFewestFalseCandidatesAmongThoseReachingTheRecall() {
    LshParams p = LshParams.forRecall(0.8, 128, 0.95);
    assertTrue(p.bands() * p.rows() <= 128);
    assertTrue(p.collisionProbability(0.8) >= 0.95, p.toString());
    double area = LshParams.falsePositiveArea(0.8, p.bands(), p.rows());
    for (int b = 1; b <= 128; b++) {
      for (int r = 1; b * r <= 128; r++) {
        if (new LshParams(b, r).collisionProbability(0.8) >= 0.95) {
          assertTrue(area <= LshParams.falsePositiveArea(0.8, b, r) + 1e-12, b + " x " + r);
        }
      }
    }
    assertTrue(
        LshParams.optimal(0.8, 128).collisionProbability(0.8) < 0.5,
        "the balanced banding, for unverified runs, misses most pairs at the threshold");
    // Two permutations cannot reach 0.95 at J = 0.5: the likeliest banding, 2 bands of 1 row.
    assertEquals(new LshParams(2, 1), LshParams.forRecall(0.5, 2, 0.95));
  }

  private static boolean collide(MinHasher h, String a, String b) {
    long[] ka = h.bandKeys(h.signature(h.shingles(Words.normalise(a))), false);
    long[] kb = h.bandKeys(h.signature(h.shingles(Words.normalise(b))), false);
    for (int i = 0; i < ka.length; i++) {
      if (ka[i] == kb[i]) {
        return true;
      }
    }
    return false;
  }

  @Test
  void lshParamsMinimiseFalsePositivesPlusNegatives() {
    LshParams p = LshParams.optimal(0.8, 128);
    assertTrue(p.bands() * p.rows() <= 128);
    double best =
        LshParams.falsePositiveArea(0.8, p.bands(), p.rows())
            + LshParams.falseNegativeArea(0.8, p.bands(), p.rows());
    for (int b = 1; b <= 128; b++) {
      for (int r = 1; b * r <= 128; r++) {
        assertTrue(
            best
                <= LshParams.falsePositiveArea(0.8, b, r)
                    + LshParams.falseNegativeArea(0.8, b, r)
                    + 1e-12);
      }
    }
    assertTrue(
        p.collisionProbability(0.95) > 0.99 && p.collisionProbability(0.5) < 0.01, p.toString());
    LshParams loose = LshParams.optimal(0.5, 128);
    assertTrue(loose.rows() < p.rows(), "a lower threshold needs fewer rows per band");
  }
}
