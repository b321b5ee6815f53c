package org.dbrxspark.jobs.dedup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.SplittableRandom;
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
            long want = BigInteger.valueOf(a).multiply(BigInteger.valueOf(x)).add(BigInteger.valueOf(b)).mod(p)
                .longValue();
            assertEquals(want, MinHasher.mulAddMod(a, x, b));
        }
    }

    @Test
    void signatureAgreementEstimatesJaccard() {
        String a = MinHasher.normalise(DedupDocs.base(300, 1));
        String b = MinHasher.normalise(DedupDocs.substitute(DedupDocs.base(300, 1), 8, 3));
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
        String t = MinHasher.normalise("Hello, World!  The QUICK brown fox; jumps over the lazy dog.");
        assertEquals("hello world the quick brown fox jumps over the lazy dog", t);
        assertArrayEquals(hasher.signature(hasher.shingles(t)), other.signature(other.shingles(t)));
        assertEquals(MinHasher.exactHash(t), MinHasher.exactHash(MinHasher.normalise("hello world THE quick brown fox "
            + "jumps over the lazy dog")));
        MinHasher seeded = new MinHasher(5, 256, 7, new LshParams(32, 8));
        assertTrue(seeded.signature(seeded.shingles(t))[0] != hasher.signature(hasher.shingles(t))[0]);
        assertEquals(0, hasher.bandKeys(hasher.signature(new long[0]), true).length, "no words, no buckets");
    }

    @Test
    void defaultBandingFindsNearDuplicatesAndSkipsDistantOnes() {
        MinHasher defaults = new MinHasher(5, 128, 42, LshParams.optimal(0.8, 128));
        int near = 0;
        int far = 0;
        for (int seed = 10; seed < 40; seed++) {
            String base = DedupDocs.base(200, seed);
            near += collide(defaults, base, DedupDocs.substitute(base, 2, seed)) ? 1 : 0;
            far += collide(defaults, base, DedupDocs.substitute(base, 13, seed)) ? 1 : 0;
        }
        // Expected: P(candidate | J=0.9) = 0.93, P(candidate | J=0.5) < 0.001.
        assertTrue(near >= 25, near + " of 30 pairs at J~0.9 became candidates");
        assertEquals(0, far, "pairs at J~0.5 became candidates");
    }

    private static boolean collide(MinHasher h, String a, String b) {
        long[] ka = h.bandKeys(h.signature(h.shingles(MinHasher.normalise(a))), false);
        long[] kb = h.bandKeys(h.signature(h.shingles(MinHasher.normalise(b))), false);
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
        double best = LshParams.falsePositiveArea(0.8, p.bands(), p.rows())
            + LshParams.falseNegativeArea(0.8, p.bands(), p.rows());
        for (int b = 1; b <= 128; b++) {
            for (int r = 1; b * r <= 128; r++) {
                assertTrue(best <= LshParams.falsePositiveArea(0.8, b, r) + LshParams.falseNegativeArea(0.8, b, r)
                    + 1e-12);
            }
        }
        assertTrue(p.collisionProbability(0.95) > 0.99 && p.collisionProbability(0.5) < 0.01, p.toString());
        LshParams loose = LshParams.optimal(0.5, 128);
        assertTrue(loose.rows() < p.rows(), "a lower threshold needs fewer rows per band");
    }
}
