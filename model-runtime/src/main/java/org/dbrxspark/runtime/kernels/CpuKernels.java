package org.dbrxspark.runtime.kernels;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.dbrxspark.runtime.checkpoint.DType;

/**
 * Vector API kernels. BF16 weights go through the int-pair kernels of {@link Bf16PairKernels},
 * block types through {@link QuantizedTiles} (widened tiles, or the blocks for one token); other
 * dtypes are widened a row (or row segment) at a time into a float buffer. Either way every weight
 * is read from memory once per call, whatever the batch size. A call, or a grouped call of several
 * products, is cut into slices of work that the kernels' threads share out.
 */
final class CpuKernels implements Kernels {
  private static final VectorSpecies<Float> F = KernelShape.FLOATS;
  private static final int LANES = F.length();

  /**
   * Output columns per task in the widening down-projection: a few KB of accumulators per token.
   */
  private static final int COLUMN_BLOCK = 256;

  /** Weight bytes per row block of the BF16 down-projection: the block's copy stays in L2. */
  private static final long ROW_BLOCK_BYTES = 128 * 1024;

  /** Register blocks per column band of the BF16 down-projection when many tokens share it. */
  private static final int BAND_BLOCKS = 4;

  /** Weight bytes per slice at least: large enough to amortise handing it to a thread. */
  private static final long BYTES_PER_TASK = 128 * 1024;

  /** Slices per thread in a matmul: enough to even out threads that run slower than others. */
  private static final int SLICES_PER_THREAD = 16;

  /** Activations per range when splitting a product's input into pairs: one thread's share. */
  private static final int SPLIT_FLOATS = 32 * 1024;

  private final WorkerPool pool;
  private final int threads;

  CpuKernels(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    this.threads = threads;
    this.pool = new WorkerPool(threads);
  }

  @Override
  public void close() {
    pool.close();
  }

  @Override
  public int threads() {
    return threads;
  }

  @Override
  public void matmulTransposed(List<Product> products) {
    long totalWork = 0;
    for (Product p : products) {
      checkLength("x", p.x(), (long) p.n() * p.w().cols());
      checkLength("out", p.out(), (long) p.n() * p.w().rows());
      totalWork += work(p.w().byteSize(), p.n());
    }
    // Slices of about equal work (weight bytes times tokens) across all products, a few per
    // thread: any split gives the same sums, since each output is one row's dot product.
    long sliceWork = Math.max(BYTES_PER_TASK, totalWork / ((long) threads * SLICES_PER_THREAD));
    // An expert's gate and up products read the same input: it is split into pairs once.
    Map<float[], PairedInput> pairedInputs = new IdentityHashMap<>();
    List<Slice> slices = new ArrayList<>();
    for (Product p : products) {
      WeightMatrix w = p.w();
      int rows = w.rows();
      int cols = w.cols();
      int n = p.n();
      long rowWork = work(Math.max(1, w.dtype().bytesFor(cols)), n);
      int step = (int) Math.max(1, Math.min(rows, sliceWork / rowWork));
      float[] x = p.x();
      float[] out = p.out();
      RangeBody rowRange;
      if (readsAsPairs(w, cols)) {
        PairedInput pairs = pairedInputs.get(x);
        if (pairs == null || pairs.n() != n || pairs.cols() != cols) {
          pairs = deinterleave(x, n, cols);
          pairedInputs.put(x, pairs);
        }
        float[] even = pairs.even();
        float[] odd = pairs.odd();
        rowRange =
            (lo, hi) -> Bf16PairKernels.dotRows(w.ints(), cols, lo, hi, even, odd, n, out, rows);
      } else if (QuantizedTiles.handles(w.dtype())) {
        rowRange = (lo, hi) -> QuantizedTiles.dotRows(w, lo, hi, x, n, out, rows);
      } else {
        rowRange =
            (lo, hi) -> {
              float[] row = new float[cols];
              for (int j = lo; j < hi; j++) {
                widen(w, (long) j * cols, cols, row);
                dotRowWithTokens(x, n, cols, row, out, rows, j);
              }
            };
      }
      for (int from = 0; from < rows; from += step) {
        int lo = from;
        int hi = Math.min(rows, from + step);
        slices.add(new Slice(rowWork * (hi - lo), () -> rowRange.run(lo, hi)));
      }
    }
    runAll(slices);
  }

  /** An input {@code [n, cols]} split into its even and odd columns. */
  private record PairedInput(int n, int cols, float[] even, float[] odd) {}

  /** The even and odd columns of {@code x} ({@code [n, cols]}), split on the kernels' threads. */
  private PairedInput deinterleave(float[] x, int n, int cols) {
    int half = cols / 2;
    float[] even = new float[n * half];
    float[] odd = new float[n * half];
    parallelRanges(
        n,
        Math.max(1, SPLIT_FLOATS / cols),
        (from, to) -> Bf16PairKernels.deinterleave(x, from, to, cols, even, odd));
    return new PairedInput(n, cols, even, odd);
  }

  /** The work of a slice: its weight bytes times the tokens that read them. */
  private static long work(long weightBytes, int n) {
    return weightBytes * Math.max(1, n);
  }

  @Override
  public void matmul(List<Product> products) {
    List<Slice> slices = new ArrayList<>();
    List<Slice> reductions = new ArrayList<>();
    for (Product p : products) {
      WeightMatrix w = p.w();
      int rows = w.rows();
      int cols = w.cols();
      checkLength("x", p.x(), (long) p.n() * rows);
      checkLength("out", p.out(), (long) p.n() * cols);
      if (!readsAsPairs(w, cols)) {
        addColumnBlocks(p, slices);
      } else if ((long) p.n() * cols * Float.BYTES <= ROW_BLOCK_BYTES / 4) {
        addRowBlocks(p, slices, reductions);
      } else {
        addColumnBands(p, slices);
      }
    }
    runAll(slices);
    runAll(reductions);
  }

  /*
   * The BF16 [in, out] form sums input rows in blocks fixed by the matrix's shape, each block from
   * zero, and adds the blocks' sums in block order: every output sums the same way whatever the
   * batch size or thread count, and both ways of splitting the work below give the same bits.
   */

  /**
   * Few tokens: each task takes one block of whole rows (one contiguous read) for every column; the
   * blocks' partial sums are added afterwards.
   */
  private static void addRowBlocks(Product p, List<Slice> slices, List<Slice> reductions) {
    WeightMatrix w = p.w();
    int rows = w.rows();
    int cols = w.cols();
    int n = p.n();
    int blockRows = blockRows(w);
    int blocks = (rows + blockRows - 1) / blockRows;
    float[][] partials = new float[blocks][];
    for (int b = 0; b < blocks; b++) {
      int block = b;
      int first = b * blockRows;
      int count = Math.min(blockRows, rows - first);
      slices.add(
          new Slice(
              work(2L * count * cols, n),
              () -> {
                float[] partial = new float[n * cols];
                int[] chunk = Bf16PairKernels.copyBand(w.ints(), cols, first, count, 0, cols);
                Bf16PairKernels.addBlock(
                    chunk, count, cols / 2, 0, cols, p.x(), rows, first, n, partial);
                partials[block] = partial;
              }));
    }
    reductions.add(
        new Slice(
            (long) blocks * n * cols,
            () -> {
              float[] sum = partials[0];
              for (int b = 1; b < blocks; b++) {
                VectorMath.axpy(1f, partials[b], 0, sum, 0, n * cols);
              }
              Bf16PairKernels.storeBand(sum, n, cols, p.out(), cols, 0);
            }));
  }

  /**
   * Many tokens: each task takes a band of columns through every block. The weights are then reused
   * across tokens, and partial sums of every column would cost more than they save.
   */
  private static void addColumnBands(Product p, List<Slice> slices) {
    WeightMatrix w = p.w();
    int rows = w.rows();
    int cols = w.cols();
    int n = p.n();
    int blockRows = blockRows(w);
    int bandWidth = BAND_BLOCKS * Bf16PairKernels.COLUMN_BLOCK;
    int vectorColumns = cols / Bf16PairKernels.COLUMN_BLOCK * Bf16PairKernels.COLUMN_BLOCK;
    List<int[]> bands = new ArrayList<>();
    for (int c0 = 0; c0 < vectorColumns; c0 += bandWidth) {
      bands.add(new int[] {c0, Math.min(bandWidth, vectorColumns - c0)});
    }
    if (vectorColumns < cols) {
      bands.add(new int[] {vectorColumns, cols - vectorColumns});
    }
    for (int[] band : bands) {
      int first = band[0];
      int width = band[1];
      slices.add(
          new Slice(
              work(2L * rows * width, n),
              () -> {
                float[] acc = new float[n * width];
                for (int i0 = 0; i0 < rows; i0 += blockRows) {
                  int count = Math.min(blockRows, rows - i0);
                  int[] chunk = Bf16PairKernels.copyBand(w.ints(), cols, i0, count, first, width);
                  Bf16PairKernels.addBlock(
                      chunk, count, width / 2, 0, width, p.x(), rows, i0, n, acc);
                }
                Bf16PairKernels.storeBand(acc, n, width, p.out(), cols, first);
              }));
    }
  }

  /** Input rows per block of the BF16 down-projection: depends on the shape only. */
  private static int blockRows(WeightMatrix w) {
    return (int) Math.max(1, Math.min(w.rows(), ROW_BLOCK_BYTES / ((long) w.cols() * 2)));
  }

  /** Other dtypes: bands of output columns, each widened a row segment at a time. */
  private static void addColumnBlocks(Product p, List<Slice> slices) {
    WeightMatrix w = p.w();
    int rows = w.rows();
    int cols = w.cols();
    int n = p.n();
    float[] x = p.x();
    float[] out = p.out();
    for (int c0 = 0; c0 < cols; c0 += COLUMN_BLOCK) {
      int first = c0;
      int width = Math.min(COLUMN_BLOCK, cols - c0);
      slices.add(
          new Slice(
              work(rows * w.dtype().bytesFor(width), n),
              () -> {
                float[] segment = new float[width];
                for (int t = 0; t < n; t++) {
                  Arrays.fill(out, t * cols + first, t * cols + first + width, 0f);
                }
                for (int i = 0; i < rows; i++) {
                  widen(w, (long) i * cols + first, width, segment);
                  for (int t = 0; t < n; t++) {
                    VectorMath.axpy(x[t * rows + i], segment, 0, out, t * cols + first, width);
                  }
                }
              }));
    }
  }

  /** BF16 rows of even length take the int-pair kernels; everything else is widened first. */
  private static boolean readsAsPairs(WeightMatrix w, int cols) {
    return w.dtype() == DType.BF16 && cols % 2 == 0;
  }

  @Override
  public void parallelFor(int count, IntConsumer body) {
    pool.run(count, body);
  }

  /** out[t, j] = dot(x[t, :], row) for every token t, four tokens at a time. */
  private static void dotRowWithTokens(
      float[] x, int n, int cols, float[] row, float[] out, int outCols, int j) {
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

  /**
   * Widens {@code count} weights from element {@code first} into {@code dst[dstOffset ..]}. For a
   * block-quantized dtype both are whole blocks: every caller reads rows or column bands that start
   * and end on a block boundary.
   */
  static void widen(WeightMatrix w, long first, int count, float[] dst, int dstOffset) {
    ByteBuffer bytes = w.bytes();
    switch (w.dtype()) {
      case F32 -> widenF32(w, first, count, dst, dstOffset);
      case BF16 -> widenBf16(bytes, first * 2, count, dst, dstOffset);
      case F16 -> widenF16(bytes, first * 2, count, dst, dstOffset);
      default -> {
        int byteOffset = Math.toIntExact(w.dtype().bytesFor(first));
        if (QuantizedRows.widens(w.dtype())) {
          QuantizedRows.widen(w.dtype(), bytes, byteOffset, count, dst, dstOffset);
        } else {
          w.dtype().decode(bytes, byteOffset, dst, dstOffset, count);
        }
      }
    }
  }

  private static void widenF32(WeightMatrix w, long first, int count, float[] dst, int dstOffset) {
    w.floats().get(Math.toIntExact(first), dst, dstOffset, count);
  }

  private static void widenBf16(
      ByteBuffer bytes, long byteOffset, int count, float[] dst, int dstOffset) {
    int base = Math.toIntExact(byteOffset);
    for (int i = 0; i < count; i++) {
      // bf16 is the top half of a float32.
      dst[dstOffset + i] = Float.intBitsToFloat(bytes.getShort(base + i * 2) << 16);
    }
  }

  private static void widenF16(
      ByteBuffer bytes, long byteOffset, int count, float[] dst, int dstOffset) {
    int base = Math.toIntExact(byteOffset);
    for (int i = 0; i < count; i++) {
      dst[dstOffset + i] = DType.f16ToFloat(bytes.getShort(base + i * 2));
    }
  }

  private static void checkLength(String name, float[] array, long needed) {
    if (array.length < needed) {
      throw new IllegalArgumentException(
          name + " has " + array.length + " floats, needs " + needed);
    }
  }

  /**
   * Runs independent slices of work on the kernels' threads, the largest first: the threads claim
   * slices in turn, so the last to finish holds a small one and the others wait little.
   */
  private void runAll(List<Slice> slices) {
    List<Slice> ordered = new ArrayList<>(slices);
    ordered.sort(Comparator.comparingLong(Slice::work).reversed());
    pool.run(ordered.size(), i -> ordered.get(i).body().run());
  }

  /** A slice of a call's work, with its size in weight bytes times tokens. */
  private record Slice(long work, Runnable body) {}
}
