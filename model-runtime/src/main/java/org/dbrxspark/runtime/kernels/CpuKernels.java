package org.dbrxspark.runtime.kernels;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.function.IntConsumer;
import java.util.concurrent.RecursiveAction;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.dbrxspark.runtime.checkpoint.DType;

/**
 * Vector API kernels. Each weight row (or row segment) is widened once into a float scratch
 * buffer and then used for every token of the batch, so weights are read from memory exactly
 * once per call whatever the batch size.
 */
final class CpuKernels implements Kernels {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
  private static final int LANES = F.length();
  /** Output columns per task in the down-projection: a few KB of accumulators per token. */
  private static final int COLUMN_BLOCK = 256;
  /**
   * Register blocks per task in the down-projection: each row's band is one bulk copy of a few
   * hundred bytes, wide enough to amortise the copy call.
   */
  private static final int BAND_BLOCKS = 4;
  /** Weight bytes per task: large enough to amortise the fork/join hand-off. */
  private static final long BYTES_PER_TASK = 128 * 1024;

  private final ForkJoinPool pool;
  private final int threads;

  CpuKernels(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    this.threads = threads;
    this.pool = new ForkJoinPool(threads);
  }

  @Override
  public void close() {
    pool.shutdown();
  }

  @Override
  public int threads() {
    return threads;
  }

  @Override
  public void matmulTransposed(float[] x, int n, WeightMatrix w, float[] out) {
    int rows = w.rows();
    int cols = w.cols();
    checkLength("x", x, (long) n * cols);
    checkLength("out", out, (long) n * rows);
    long rowBytes = (long) cols * w.dtype().byteSize();
    int grain = (int) Math.max(1, Math.min(rows, BYTES_PER_TASK / Math.max(1, rowBytes)));
    if (readsAsPairs(w, cols)) {
      int half = cols / 2;
      float[] even = new float[n * half];
      float[] odd = new float[n * half];
      Bf16Pairs.deinterleave(x, n, cols, even, odd);
      forRange(rows, grain, (from, to) -> Bf16Pairs.dotRows(w.ints(), cols, from, to, even, odd, n, out, rows));
      return;
    }
    forRange(rows, grain, (from, to) -> {
      float[] row = new float[cols];
      for (int j = from; j < to; j++) {
        widen(w, (long) j * cols, cols, row);
        dotRowWithTokens(x, n, cols, row, out, rows, j);
      }
    });
  }

  @Override
  public void matmul(float[] x, int n, WeightMatrix w, float[] out) {
    int rows = w.rows();
    int cols = w.cols();
    checkLength("x", x, (long) n * rows);
    checkLength("out", out, (long) n * cols);
    int blocks = (cols + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
    if (readsAsPairs(w, cols)) {
      int bandWidth = BAND_BLOCKS * Bf16Pairs.COLUMN_BLOCK;
      int vectorColumns = cols / Bf16Pairs.COLUMN_BLOCK * Bf16Pairs.COLUMN_BLOCK;
      int bands = (vectorColumns + bandWidth - 1) / bandWidth;
      forRange(bands + 1, 1, (from, to) -> {
        for (int b = from; b < to; b++) {
          int c0 = b * bandWidth;
          if (b < bands) {
            Bf16Pairs.accumulateColumns(w.ints(), rows, cols, c0, Math.min(bandWidth, vectorColumns - c0), x, n, out);
          } else {
            Bf16Pairs.accumulateColumnsScalar(w.ints(), rows, cols, vectorColumns, cols - vectorColumns, x, n, out);
          }
        }
      });
      return;
    }
    forRange(blocks, 1, (from, to) -> {
      float[] segment = new float[COLUMN_BLOCK];
      for (int b = from; b < to; b++) {
        int c0 = b * COLUMN_BLOCK;
        int width = Math.min(COLUMN_BLOCK, cols - c0);
        for (int t = 0; t < n; t++) {
          Arrays.fill(out, t * cols + c0, t * cols + c0 + width, 0f);
        }
        for (int i = 0; i < rows; i++) {
          widen(w, (long) i * cols + c0, width, segment);
          for (int t = 0; t < n; t++) {
            VectorMath.axpy(x[t * rows + i], segment, 0, out, t * cols + c0, width);
          }
        }
      }
    });
  }

  /** BF16 rows of even length take the int-pair kernels; everything else is widened first. */
  private static boolean readsAsPairs(WeightMatrix w, int cols) {
    return w.dtype() == DType.BF16 && cols % 2 == 0;
  }

  @Override
  public void parallelFor(int count, IntConsumer body) {
    forRange(count, 1, (from, to) -> {
      for (int i = from; i < to; i++) {
        body.accept(i);
      }
    });
  }

  /** out[t, j] = dot(x[t, :], row) for every token t, four tokens at a time. */
  private static void dotRowWithTokens(float[] x, int n, int cols, float[] row, float[] out, int outCols, int j) {
    int bound = F.loopBound(cols);
    int t = 0;
    for (; t + 4 <= n; t += 4) {
      int x0 = t * cols;
      int x1 = x0 + cols;
      int x2 = x1 + cols;
      int x3 = x2 + cols;
      FloatVector a0 = FloatVector.zero(F);
      FloatVector a1 = FloatVector.zero(F);
      FloatVector a2 = FloatVector.zero(F);
      FloatVector a3 = FloatVector.zero(F);
      int i = 0;
      for (; i < bound; i += LANES) {
        FloatVector wv = FloatVector.fromArray(F, row, i);
        a0 = FloatVector.fromArray(F, x, x0 + i).fma(wv, a0);
        a1 = FloatVector.fromArray(F, x, x1 + i).fma(wv, a1);
        a2 = FloatVector.fromArray(F, x, x2 + i).fma(wv, a2);
        a3 = FloatVector.fromArray(F, x, x3 + i).fma(wv, a3);
      }
      float s0 = VectorMath.sumLanes(a0);
      float s1 = VectorMath.sumLanes(a1);
      float s2 = VectorMath.sumLanes(a2);
      float s3 = VectorMath.sumLanes(a3);
      for (; i < cols; i++) {
        s0 += x[x0 + i] * row[i];
        s1 += x[x1 + i] * row[i];
        s2 += x[x2 + i] * row[i];
        s3 += x[x3 + i] * row[i];
      }
      out[t * outCols + j] = s0;
      out[(t + 1) * outCols + j] = s1;
      out[(t + 2) * outCols + j] = s2;
      out[(t + 3) * outCols + j] = s3;
    }
    for (; t < n; t++) {
      out[t * outCols + j] = VectorMath.dot(x, t * cols, row, 0, cols);
    }
  }

  /** Widens {@code count} weights starting at element {@code first} into {@code dst} as float32. */
  static void widen(WeightMatrix w, long first, int count, float[] dst) {
    widen(w, first, count, dst, 0);
  }

  /** Widens {@code count} weights from element {@code first} into {@code dst[dstOffset ..]}. */
  static void widen(WeightMatrix w, long first, int count, float[] dst, int dstOffset) {
    ByteBuffer bytes = w.bytes();
    switch (w.dtype()) {
      case F32 -> widenF32(w, first, count, dst, dstOffset);
      case BF16 -> widenBf16(bytes, first * 2, count, dst, dstOffset);
      case F16 -> widenF16(bytes, first * 2, count, dst, dstOffset);
    }
  }

  private static void widenF32(WeightMatrix w, long first, int count, float[] dst, int dstOffset) {
    w.floats().get(Math.toIntExact(first), dst, dstOffset, count);
  }

  private static void widenBf16(ByteBuffer bytes, long byteOffset, int count, float[] dst, int dstOffset) {
    int base = Math.toIntExact(byteOffset);
    for (int i = 0; i < count; i++) {
      // bf16 is the top half of a float32.
      dst[dstOffset + i] = Float.intBitsToFloat(bytes.getShort(base + i * 2) << 16);
    }
  }

  private static void widenF16(ByteBuffer bytes, long byteOffset, int count, float[] dst, int dstOffset) {
    int base = Math.toIntExact(byteOffset);
    for (int i = 0; i < count; i++) {
      dst[dstOffset + i] = DType.f16ToFloat(bytes.getShort(base + i * 2));
    }
  }

  private static void checkLength(String name, float[] array, long needed) {
    if (array.length < needed) {
      throw new IllegalArgumentException(name + " has " + array.length + " floats, needs " + needed);
    }
  }

  /** A body that handles the index range {@code [from, to)}. */
  @FunctionalInterface
  private interface RangeBody {
    void run(int from, int to);
  }

  private void forRange(int total, int grain, RangeBody body) {
    if (total <= grain || threads == 1) {
      body.run(0, total);
      return;
    }
    // Split into at most a few chunks per thread: finer splits only add hand-off cost.
    int chunk = Math.max(grain, (total + threads * 4 - 1) / (threads * 4));
    RangeTask task = new RangeTask(0, total, chunk, body);
    if (ForkJoinTask.getPool() == pool) {
      task.invoke();
    } else {
      pool.invoke(task);
    }
  }

  private static final class RangeTask extends RecursiveAction {
    private final int from;
    private final int to;
    private final int chunk;
    private final RangeBody body;

    RangeTask(int from, int to, int chunk, RangeBody body) {
      this.from = from;
      this.to = to;
      this.chunk = chunk;
      this.body = body;
    }

    @Override
    protected void compute() {
      if (to - from <= chunk) {
        body.run(from, to);
        return;
      }
      int mid = from + (to - from) / 2;
      invokeAll(new RangeTask(from, mid, chunk, body), new RangeTask(mid, to, chunk, body));
    }
  }
}
