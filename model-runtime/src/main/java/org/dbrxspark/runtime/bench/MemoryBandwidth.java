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
 * This machine's read bandwidth: threads summing arrays far larger than the caches with the Vector
 * API, the fastest read path a JVM has (JDK 17 reads mapped buffers more slowly, so this is the
 * ceiling the mapped-weight kernels are measured against, not their own speed).
 *
 * <p>The arrays are allocated once and kept, so that a measurement can be taken right beside each
 * measurement it is compared with: on a shared host the bandwidth moves by a quarter from one
 * minute to the next.
 */
public final class MemoryBandwidth implements AutoCloseable {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final int WARM_UP_PASSES = 3;

  /** Where the sums go, so the JIT cannot drop the reads. */
  private static volatile float sink;

  private final List<float[]> parts = new ArrayList<>();
  private final ExecutorService pool;

  /**
   * Allocates {@code bytes} of arrays, one part per thread, and runs the summing loop until it is
   * compiled.
   */
  public MemoryBandwidth(long bytes, int threads) throws Exception {
    int floatsPerThread =
        (int) Math.min(Integer.MAX_VALUE - 64, bytes / threads / Float.BYTES)
            / F.length()
            * F.length();
    for (int t = 0; t < threads; t++) {
      float[] part = new float[floatsPerThread];
      for (int i = 0; i < part.length; i += 1024) {
        part[i] = i;
      }
      parts.add(part);
    }
    pool = Executors.newFixedThreadPool(threads);
    // The first passes run the loop interpreted and read at a fraction of the real rate.
    measure(WARM_UP_PASSES);
  }

  /** Best-of-{@code passes} read bandwidth in bytes per second, every thread summing its part. */
  public double measure(int passes) throws Exception {
    double best = 0;
    for (int r = 0; r < passes; r++) {
      long start = System.nanoTime();
      List<Future<Float>> sums = new ArrayList<>();
      for (float[] part : parts) {
        sums.add(pool.submit(() -> sum(part)));
      }
      for (Future<Float> s : sums) {
        sink += s.get();
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      best = Math.max(best, (double) parts.get(0).length * Float.BYTES * parts.size() / seconds);
    }
    return best;
  }

  @Override
  public void close() {
    pool.shutdown();
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
