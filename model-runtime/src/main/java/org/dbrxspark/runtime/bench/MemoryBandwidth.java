package org.dbrxspark.runtime.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.dbrxspark.runtime.kernels.VectorMath;

/**
 * This machine's read bandwidth: threads summing arrays far larger than the caches with the
 * Vector API, the fastest read path a JVM has (JDK 17 reads mapped buffers more slowly, so this is
 * the ceiling the mapped-weight kernels are measured against, not their own speed).
 */
public final class MemoryBandwidth {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  /** Where the sums go, so the JIT cannot drop the reads. */
  private static volatile float sink;

  private MemoryBandwidth() {}

  /** Best-of-{@code repeats} read bandwidth in bytes per second over {@code bytes} of arrays. */
  public static double measure(long bytes, int threads, int repeats) throws Exception {
    int floatsPerThread = (int) Math.min(Integer.MAX_VALUE - 64, bytes / threads / Float.BYTES) / F.length() * F.length();
    List<float[]> parts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      float[] part = new float[floatsPerThread];
      for (int i = 0; i < part.length; i += 1024) {
        part[i] = i;
      }
      parts.add(part);
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      double best = 0;
      for (int r = 0; r < repeats; r++) {
        long start = System.nanoTime();
        List<Future<Float>> sums = new ArrayList<>();
        for (float[] part : parts) {
          sums.add(pool.submit(() -> sum(part)));
        }
        for (Future<Float> s : sums) {
          sink += s.get();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        best = Math.max(best, (double) floatsPerThread * Float.BYTES * threads / seconds);
      }
      return best;
    } finally {
      pool.shutdown();
    }
  }

  private static float sum(float[] part) {
    FloatVector a = FloatVector.zero(F);
    FloatVector b = FloatVector.zero(F);
    int step = F.length();
    for (int i = 0; i + 2 * step <= part.length; i += 2 * step) {
      a = a.add(FloatVector.fromArray(F, part, i));
      b = b.add(FloatVector.fromArray(F, part, i + step));
    }
    return VectorMath.sumLanes(a.add(b));
  }
}
