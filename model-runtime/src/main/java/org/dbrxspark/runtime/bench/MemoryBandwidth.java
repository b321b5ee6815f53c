package org.dbrxspark.runtime.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Read bandwidth of this machine as the runtime sees it: threads summing a direct buffer far
 * larger than the caches through the same Vector API loads the kernels use.
 */
public final class MemoryBandwidth {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  /** Where the sums go, so the JIT cannot drop the reads. */
  private static volatile float sink;

  private MemoryBandwidth() {}

  /** Best-of-{@code repeats} read bandwidth in bytes per second over a {@code bytes} buffer. */
  public static double measure(long bytes, int threads, int repeats) throws Exception {
    int perThread = (int) Math.min(Integer.MAX_VALUE - 64, bytes / threads) & ~63;
    List<ByteBuffer> parts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      ByteBuffer part = ByteBuffer.allocateDirect(perThread).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < perThread; i += 4096) {
        part.put(i, (byte) i);
      }
      parts.add(part);
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      double best = 0;
      for (int r = 0; r < repeats; r++) {
        long start = System.nanoTime();
        List<Future<Float>> sums = new ArrayList<>();
        for (ByteBuffer part : parts) {
          sums.add(pool.submit(() -> sum(part)));
        }
        for (Future<Float> s : sums) {
          sink += s.get();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        best = Math.max(best, (double) perThread * threads / seconds);
      }
      return best;
    } finally {
      pool.shutdown();
    }
  }

  private static float sum(ByteBuffer buffer) {
    FloatVector a = FloatVector.zero(F);
    FloatVector b = FloatVector.zero(F);
    int step = F.length() * 4;
    int limit = buffer.capacity() - 2 * step;
    for (int i = 0; i <= limit; i += 2 * step) {
      a = a.add(FloatVector.fromByteBuffer(F, buffer, i, ByteOrder.LITTLE_ENDIAN));
      b = b.add(FloatVector.fromByteBuffer(F, buffer, i + step, ByteOrder.LITTLE_ENDIAN));
    }
    return a.add(b).reduceLanes(VectorOperators.ADD);
  }
}
