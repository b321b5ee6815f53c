package org.dbrxspark.runtime.kernels;

import java.nio.IntBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * BF16 matrix kernels that read the weights as int pairs. A little-endian int holds two adjacent
 * bf16 weights: shifting it left by 16 gives the even weight as a float32, masking the low half
 * gives the odd one. So the activations are split once into even and odd columns, and the weights
 * need no conversion instructions at all: one load, a shift and an and per two floats.
 *
 * <p>Every output is accumulated in the same order whatever the number of tokens, so results are
 * reproducible bit for bit.
 */
final class Bf16PairKernels {
  private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final int LANES = I.length();
  private static final int ODD_MASK = 0xFFFF0000;

  private Bf16PairKernels() {}

  /** Pairs per bulk copy of whole rows in {@link #dotRows}: 16 KB, a few pages per copy. */
  private static final int COPY_INTS = 4096;

  /**
   * Each thread's copy buffer, reused: the kernels run on a fixed pool, and a fresh array per call
   * would be zeroed only to be overwritten.
   */
  private static final ThreadLocal<int[]> SCRATCH = ThreadLocal.withInitial(() -> new int[0]);

  private static int[] scratch(int ints) {
    int[] buffer = SCRATCH.get();
    if (buffer.length < ints) {
      buffer = new int[ints];
      SCRATCH.set(buffer);
    }
    return buffer;
  }

  /** Splits {@code x} ({@code [n, cols]}, cols even) into its even and odd columns. */
  static void deinterleave(float[] x, int n, int cols, float[] even, float[] odd) {
    int half = cols / 2;
    for (int t = 0; t < n; t++) {
      for (int k = 0; k < half; k++) {
        even[t * half + k] = x[t * cols + 2 * k];
        odd[t * half + k] = x[t * cols + 2 * k + 1];
      }
    }
  }

  /**
   * {@code out[t * outStride + j] = Σ_i x[t, i] · w[j, i]} for rows j in {@code [from, to)}: the
   * nn.Linear form, with x given as its even and odd columns ({@code [n, cols/2]} each).
   *
   * <p>Each (row, token) result sums the even and the odd products in two separate vector
   * accumulators, then adds the two and sums the lanes in order. Four tokens go with two rows at a
   * time, each weight vector loaded serving four tokens; a single token goes with four rows. Every
   * blocking takes the same sequence of operations for a given (row, token), so the result depends
   * neither on n nor on how rows are split.
   *
   * <p>Rows are first copied from the mapped file into a heap array, 16 KB per bulk copy: on JDK 17
   * vector loads from a heap array are faster than from a mapped buffer, and later JDKs have no
   * vector loads from buffers at all. The copy streams at the core's full read rate; the arithmetic
   * that follows must be short, as no read is in flight meanwhile (Java has no prefetch), which is
   * why it keeps eight independent accumulator chains.
   */
  static void dotRows(
      IntBuffer w,
      int cols,
      int from,
      int to,
      float[] even,
      float[] odd,
      int n,
      float[] out,
      int outStride) {
    int half = cols / 2;
    int rowsPerCopy = Math.max(4, COPY_INTS / half & ~3);
    int[] copy = scratch(rowsPerCopy * half);
    float[] lanes = new float[8 * LANES];
    for (int j0 = from; j0 < to; j0 += rowsPerCopy) {
      int count = Math.min(rowsPerCopy, to - j0);
      w.get(j0 * half, copy, 0, count * half);
      int t = 0;
      for (; t + 4 <= n; t += 4) {
        int r = 0;
        for (; r + 2 <= count; r += 2) {
          dotTwoRowsFourTokens(copy, r * half, half, j0 + r, even, odd, t, out, outStride, lanes);
        }
        for (; r < count; r++) {
          for (int u = t; u < t + 4; u++) {
            dotOneRowOneToken(copy, r * half, half, j0 + r, even, odd, u, out, outStride, lanes);
          }
        }
      }
      for (; t < n; t++) {
        int r = 0;
        for (; r + 4 <= count; r += 4) {
          dotFourRowsOneToken(copy, r * half, half, j0 + r, even, odd, t, out, outStride, lanes);
        }
        for (; r < count; r++) {
          dotOneRowOneToken(copy, r * half, half, j0 + r, even, odd, t, out, outStride, lanes);
        }
      }
    }
  }

  /*
   * The register blocks below are written out, not built from a helper: C2 must see each whole
   * loop to keep its vectors in registers.
   */

  /** Rows j and j + 1, copied to {@code pairs} from {@code base}, with tokens t to t + 3. */
  private static void dotTwoRowsFourTokens(
      int[] pairs,
      int base,
      int half,
      int j,
      float[] even,
      float[] odd,
      int t,
      float[] out,
      int outStride,
      float[] lanes) {
    int bound = I.loopBound(half);
    int x0 = t * half;
    int x1 = x0 + half;
    int x2 = x1 + half;
    int x3 = x2 + half;
    FloatVector e00 = FloatVector.zero(F);
    FloatVector o00 = FloatVector.zero(F);
    FloatVector e01 = FloatVector.zero(F);
    FloatVector o01 = FloatVector.zero(F);
    FloatVector e02 = FloatVector.zero(F);
    FloatVector o02 = FloatVector.zero(F);
    FloatVector e03 = FloatVector.zero(F);
    FloatVector o03 = FloatVector.zero(F);
    FloatVector e10 = FloatVector.zero(F);
    FloatVector o10 = FloatVector.zero(F);
    FloatVector e11 = FloatVector.zero(F);
    FloatVector o11 = FloatVector.zero(F);
    FloatVector e12 = FloatVector.zero(F);
    FloatVector o12 = FloatVector.zero(F);
    FloatVector e13 = FloatVector.zero(F);
    FloatVector o13 = FloatVector.zero(F);
    for (int k = 0; k < bound; k += LANES) {
      IntVector p0 = IntVector.fromArray(I, pairs, base + k);
      IntVector p1 = IntVector.fromArray(I, pairs, base + half + k);
      FloatVector we0 = p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo0 = p0.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
      FloatVector we1 = p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo1 = p1.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
      FloatVector xe = FloatVector.fromArray(F, even, x0 + k);
      FloatVector xo = FloatVector.fromArray(F, odd, x0 + k);
      e00 = xe.fma(we0, e00);
      o00 = xo.fma(wo0, o00);
      e10 = xe.fma(we1, e10);
      o10 = xo.fma(wo1, o10);
      xe = FloatVector.fromArray(F, even, x1 + k);
      xo = FloatVector.fromArray(F, odd, x1 + k);
      e01 = xe.fma(we0, e01);
      o01 = xo.fma(wo0, o01);
      e11 = xe.fma(we1, e11);
      o11 = xo.fma(wo1, o11);
      xe = FloatVector.fromArray(F, even, x2 + k);
      xo = FloatVector.fromArray(F, odd, x2 + k);
      e02 = xe.fma(we0, e02);
      o02 = xo.fma(wo0, o02);
      e12 = xe.fma(we1, e12);
      o12 = xo.fma(wo1, o12);
      xe = FloatVector.fromArray(F, even, x3 + k);
      xo = FloatVector.fromArray(F, odd, x3 + k);
      e03 = xe.fma(we0, e03);
      o03 = xo.fma(wo0, o03);
      e13 = xe.fma(we1, e13);
      o13 = xo.fma(wo1, o13);
    }
    int r1 = base + half;
    e00.add(o00).intoArray(lanes, 0);
    e10.add(o10).intoArray(lanes, LANES);
    e01.add(o01).intoArray(lanes, 2 * LANES);
    e11.add(o11).intoArray(lanes, 3 * LANES);
    e02.add(o02).intoArray(lanes, 4 * LANES);
    e12.add(o12).intoArray(lanes, 5 * LANES);
    e03.add(o03).intoArray(lanes, 6 * LANES);
    e13.add(o13).intoArray(lanes, 7 * LANES);
    out[t * outStride + j] = finish(lanes, 0, pairs, base, bound, half, even, odd, x0);
    out[t * outStride + j + 1] = finish(lanes, LANES, pairs, r1, bound, half, even, odd, x0);
    out[(t + 1) * outStride + j] =
        finish(lanes, 2 * LANES, pairs, base, bound, half, even, odd, x1);
    out[(t + 1) * outStride + j + 1] =
        finish(lanes, 3 * LANES, pairs, r1, bound, half, even, odd, x1);
    out[(t + 2) * outStride + j] =
        finish(lanes, 4 * LANES, pairs, base, bound, half, even, odd, x2);
    out[(t + 2) * outStride + j + 1] =
        finish(lanes, 5 * LANES, pairs, r1, bound, half, even, odd, x2);
    out[(t + 3) * outStride + j] =
        finish(lanes, 6 * LANES, pairs, base, bound, half, even, odd, x3);
    out[(t + 3) * outStride + j + 1] =
        finish(lanes, 7 * LANES, pairs, r1, bound, half, even, odd, x3);
  }

  /** Rows j to j + 3 with token t. */
  private static void dotFourRowsOneToken(
      int[] pairs,
      int base,
      int half,
      int j,
      float[] even,
      float[] odd,
      int t,
      float[] out,
      int outStride,
      float[] lanes) {
    int bound = I.loopBound(half);
    int x = t * half;
    int r1 = base + half;
    int r2 = r1 + half;
    int r3 = r2 + half;
    FloatVector e0 = FloatVector.zero(F);
    FloatVector o0 = FloatVector.zero(F);
    FloatVector e1 = FloatVector.zero(F);
    FloatVector o1 = FloatVector.zero(F);
    FloatVector e2 = FloatVector.zero(F);
    FloatVector o2 = FloatVector.zero(F);
    FloatVector e3 = FloatVector.zero(F);
    FloatVector o3 = FloatVector.zero(F);
    for (int k = 0; k < bound; k += LANES) {
      IntVector p0 = IntVector.fromArray(I, pairs, base + k);
      IntVector p1 = IntVector.fromArray(I, pairs, r1 + k);
      IntVector p2 = IntVector.fromArray(I, pairs, r2 + k);
      IntVector p3 = IntVector.fromArray(I, pairs, r3 + k);
      FloatVector xe = FloatVector.fromArray(F, even, x + k);
      FloatVector xo = FloatVector.fromArray(F, odd, x + k);
      e0 = xe.fma(p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e0);
      o0 = xo.fma(p0.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(), o0);
      e1 = xe.fma(p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e1);
      o1 = xo.fma(p1.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(), o1);
      e2 = xe.fma(p2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e2);
      o2 = xo.fma(p2.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(), o2);
      e3 = xe.fma(p3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e3);
      o3 = xo.fma(p3.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(), o3);
    }
    int at = t * outStride + j;
    e0.add(o0).intoArray(lanes, 0);
    e1.add(o1).intoArray(lanes, LANES);
    e2.add(o2).intoArray(lanes, 2 * LANES);
    e3.add(o3).intoArray(lanes, 3 * LANES);
    out[at] = finish(lanes, 0, pairs, base, bound, half, even, odd, x);
    out[at + 1] = finish(lanes, LANES, pairs, r1, bound, half, even, odd, x);
    out[at + 2] = finish(lanes, 2 * LANES, pairs, r2, bound, half, even, odd, x);
    out[at + 3] = finish(lanes, 3 * LANES, pairs, r3, bound, half, even, odd, x);
  }

  /** Row j with token t: the rows and tokens left over by the larger blocks. */
  private static void dotOneRowOneToken(
      int[] pairs,
      int base,
      int half,
      int j,
      float[] even,
      float[] odd,
      int t,
      float[] out,
      int outStride,
      float[] lanes) {
    int bound = I.loopBound(half);
    int x = t * half;
    FloatVector e = FloatVector.zero(F);
    FloatVector o = FloatVector.zero(F);
    for (int k = 0; k < bound; k += LANES) {
      IntVector p = IntVector.fromArray(I, pairs, base + k);
      e =
          FloatVector.fromArray(F, even, x + k)
              .fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e);
      o =
          FloatVector.fromArray(F, odd, x + k)
              .fma(p.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(), o);
    }
    e.add(o).intoArray(lanes, 0);
    out[t * outStride + j] = finish(lanes, 0, pairs, base, bound, half, even, odd, x);
  }

  /**
   * One result from the lanes its kernel stored at {@code lane0}: their sum in index order, then
   * the pairs past the last full vector. The kernels store their sums to an array rather than pass
   * vectors here: a vector argument of a call C2 does not inline is boxed, and with sixteen of them
   * the four-token kernel ran several times slower.
   */
  private static float finish(
      float[] lanes,
      int lane0,
      int[] pairs,
      int row,
      int bound,
      int half,
      float[] even,
      float[] odd,
      int x) {
    float sum = 0;
    for (int i = lane0; i < lane0 + LANES; i++) {
      sum += lanes[i];
    }
    for (int k = bound; k < half; k++) {
      int pair = pairs[row + k];
      sum += even[x + k] * Float.intBitsToFloat(pair << 16);
      sum += odd[x + k] * Float.intBitsToFloat(pair & ODD_MASK);
    }
    return sum;
  }

  /** Output columns one register block of the {@code [in, out]} form covers. */
  static final int COLUMN_BLOCK = 4 * LANES;

  /**
   * Copies rows {@code [i0, i0 + count)} of the band of columns {@code [c0, c0 + width)} into the
   * thread's scratch, {@code width / 2} pairs per row, and returns it. A band of whole rows is one
   * bulk copy, since the rows are contiguous in the file.
   */
  static int[] copyBand(IntBuffer w, int cols, int i0, int count, int c0, int width) {
    int bandInts = width / 2;
    int[] chunk = scratch(count * bandInts);
    if (width == cols) {
      w.get(i0 * bandInts, chunk, 0, count * bandInts);
    } else {
      for (int i = 0; i < count; i++) {
        w.get(((i0 + i) * cols + c0) / 2, chunk, i * bandInts, bandInts);
      }
    }
    return chunk;
  }

  /**
   * The {@code [in, out]} form over one block of input rows and one band of columns: adds {@code
   * Σ_i x[t, i] · w[i, c]}, i over the block's rows in index order, to {@code acc[t, c]}. {@code x}
   * is {@code [n, rows]}; {@code chunk} holds the block's band as {@link #copyBand} left it, from
   * int {@code offset} of each row. Each block's sum starts from zero and is added to {@code acc}
   * once, so blocks can be summed separately and added later in block order with the same result.
   *
   * <p>{@code acc} is {@code [n, width]} with each register block's columns stored as its even and
   * odd lanes (e0, o0, e1, o1); {@link #storeBand} puts them back in column order. Past the last
   * whole register block, columns are summed one pair at a time.
   */
  static void addBlock(
      int[] chunk,
      int count,
      int stride,
      int offset,
      int width,
      float[] x,
      int rows,
      int i0,
      int n,
      float[] acc) {
    int vectorWidth = width / COLUMN_BLOCK * COLUMN_BLOCK;
    for (int b = 0; b < vectorWidth; b += COLUMN_BLOCK) {
      for (int t = 0; t + 2 <= n; t += 2) {
        addTwoTokens(chunk, count, stride, offset + b / 2, x, rows, i0, t, acc, width, b);
      }
    }
    if (n % 2 == 1) {
      int t = n - 1;
      int b = 0;
      for (; b + 2 * COLUMN_BLOCK <= vectorWidth; b += 2 * COLUMN_BLOCK) {
        addOneTokenTwoBlocks(chunk, count, stride, offset + b / 2, x, rows, i0, t, acc, width, b);
      }
      if (b < vectorWidth) {
        addOneToken(chunk, count, stride, offset + b / 2, x, rows, i0, t, acc, width, b);
      }
    }
    for (int t = 0; t < n; t++) {
      for (int c = vectorWidth; c < width; c += 2) {
        float even = 0;
        float odd = 0;
        for (int i = 0, at = offset + c / 2; i < count; i++, at += stride) {
          int pair = chunk[at];
          float a = x[t * rows + i0 + i];
          even = Math.fma(Float.intBitsToFloat(pair << 16), a, even);
          odd = Math.fma(Float.intBitsToFloat(pair & ODD_MASK), a, odd);
        }
        acc[t * width + c] += even;
        acc[t * width + c + 1] += odd;
      }
    }
  }

  /**
   * Writes an {@link #addBlock} accumulator for columns {@code [c0, c0 + width)} into {@code out}
   * ({@code [n, cols]}).
   */
  static void storeBand(float[] acc, int n, int width, float[] out, int cols, int c0) {
    int vectorWidth = width / COLUMN_BLOCK * COLUMN_BLOCK;
    for (int t = 0; t < n; t++) {
      for (int b = 0; b < vectorWidth; b += COLUMN_BLOCK) {
        int a = t * width + b;
        int o = t * cols + c0 + b;
        for (int k = 0; k < LANES; k++) {
          out[o + 2 * k] = acc[a + k];
          out[o + 2 * k + 1] = acc[a + LANES + k];
          out[o + 2 * LANES + 2 * k] = acc[a + 2 * LANES + k];
          out[o + 2 * LANES + 2 * k + 1] = acc[a + 3 * LANES + k];
        }
      }
      System.arraycopy(
          acc, t * width + vectorWidth, out, t * cols + c0 + vectorWidth, width - vectorWidth);
    }
  }

  /**
   * Two tokens of one register block. The loops for two tokens and for one are separate methods: as
   * one method, C2 ran out of its inlining budget on JDK 17 and left some {@code
   * reinterpretAsFloats} calls to the Vector API's allocating Java fallback.
   */
  private static void addTwoTokens(
      int[] chunk,
      int count,
      int stride,
      int offset,
      float[] x,
      int rows,
      int i0,
      int t,
      float[] acc,
      int width,
      int b) {
    FloatVector e0 = FloatVector.zero(F);
    FloatVector o0 = FloatVector.zero(F);
    FloatVector e1 = FloatVector.zero(F);
    FloatVector o1 = FloatVector.zero(F);
    FloatVector f0 = FloatVector.zero(F);
    FloatVector q0 = FloatVector.zero(F);
    FloatVector f1 = FloatVector.zero(F);
    FloatVector q1 = FloatVector.zero(F);
    int first = t * rows + i0;
    int second = first + rows;
    for (int i = 0, at = offset; i < count; i++, at += stride) {
      IntVector p0 = IntVector.fromArray(I, chunk, at);
      IntVector p1 = IntVector.fromArray(I, chunk, at + LANES);
      FloatVector we0 = p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo0 = p0.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
      FloatVector we1 = p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo1 = p1.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
      FloatVector a = FloatVector.broadcast(F, x[first + i]);
      FloatVector c = FloatVector.broadcast(F, x[second + i]);
      e0 = we0.fma(a, e0);
      o0 = wo0.fma(a, o0);
      e1 = we1.fma(a, e1);
      o1 = wo1.fma(a, o1);
      f0 = we0.fma(c, f0);
      q0 = wo0.fma(c, q0);
      f1 = we1.fma(c, f1);
      q1 = wo1.fma(c, q1);
    }
    int at0 = t * width + b;
    int at1 = at0 + width;
    FloatVector.fromArray(F, acc, at0).add(e0).intoArray(acc, at0);
    FloatVector.fromArray(F, acc, at0 + LANES).add(o0).intoArray(acc, at0 + LANES);
    FloatVector.fromArray(F, acc, at0 + 2 * LANES).add(e1).intoArray(acc, at0 + 2 * LANES);
    FloatVector.fromArray(F, acc, at0 + 3 * LANES).add(o1).intoArray(acc, at0 + 3 * LANES);
    FloatVector.fromArray(F, acc, at1).add(f0).intoArray(acc, at1);
    FloatVector.fromArray(F, acc, at1 + LANES).add(q0).intoArray(acc, at1 + LANES);
    FloatVector.fromArray(F, acc, at1 + 2 * LANES).add(f1).intoArray(acc, at1 + 2 * LANES);
    FloatVector.fromArray(F, acc, at1 + 3 * LANES).add(q1).intoArray(acc, at1 + 3 * LANES);
  }

  /**
   * One token over two adjacent register blocks: eight independent sums, where one block's four
   * would leave the loop waiting on FMA latency (batch-1 decode's down-projection runs here).
   */
  private static void addOneTokenTwoBlocks(
      int[] chunk,
      int count,
      int stride,
      int offset,
      float[] x,
      int rows,
      int i0,
      int t,
      float[] acc,
      int width,
      int b) {
    FloatVector e0 = FloatVector.zero(F);
    FloatVector o0 = FloatVector.zero(F);
    FloatVector e1 = FloatVector.zero(F);
    FloatVector o1 = FloatVector.zero(F);
    FloatVector e2 = FloatVector.zero(F);
    FloatVector o2 = FloatVector.zero(F);
    FloatVector e3 = FloatVector.zero(F);
    FloatVector o3 = FloatVector.zero(F);
    int first = t * rows + i0;
    for (int i = 0, at = offset; i < count; i++, at += stride) {
      IntVector p0 = IntVector.fromArray(I, chunk, at);
      IntVector p1 = IntVector.fromArray(I, chunk, at + LANES);
      IntVector p2 = IntVector.fromArray(I, chunk, at + 2 * LANES);
      IntVector p3 = IntVector.fromArray(I, chunk, at + 3 * LANES);
      FloatVector a = FloatVector.broadcast(F, x[first + i]);
      e0 = p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(a, e0);
      o0 = p0.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats().fma(a, o0);
      e1 = p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(a, e1);
      o1 = p1.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats().fma(a, o1);
      e2 = p2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(a, e2);
      o2 = p2.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats().fma(a, o2);
      e3 = p3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(a, e3);
      o3 = p3.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats().fma(a, o3);
    }
    int at0 = t * width + b;
    FloatVector.fromArray(F, acc, at0).add(e0).intoArray(acc, at0);
    FloatVector.fromArray(F, acc, at0 + LANES).add(o0).intoArray(acc, at0 + LANES);
    FloatVector.fromArray(F, acc, at0 + 2 * LANES).add(e1).intoArray(acc, at0 + 2 * LANES);
    FloatVector.fromArray(F, acc, at0 + 3 * LANES).add(o1).intoArray(acc, at0 + 3 * LANES);
    FloatVector.fromArray(F, acc, at0 + 4 * LANES).add(e2).intoArray(acc, at0 + 4 * LANES);
    FloatVector.fromArray(F, acc, at0 + 5 * LANES).add(o2).intoArray(acc, at0 + 5 * LANES);
    FloatVector.fromArray(F, acc, at0 + 6 * LANES).add(e3).intoArray(acc, at0 + 6 * LANES);
    FloatVector.fromArray(F, acc, at0 + 7 * LANES).add(o3).intoArray(acc, at0 + 7 * LANES);
  }

  private static void addOneToken(
      int[] chunk,
      int count,
      int stride,
      int offset,
      float[] x,
      int rows,
      int i0,
      int t,
      float[] acc,
      int width,
      int b) {
    FloatVector e0 = FloatVector.zero(F);
    FloatVector o0 = FloatVector.zero(F);
    FloatVector e1 = FloatVector.zero(F);
    FloatVector o1 = FloatVector.zero(F);
    int first = t * rows + i0;
    for (int i = 0, at = offset; i < count; i++, at += stride) {
      IntVector p0 = IntVector.fromArray(I, chunk, at);
      IntVector p1 = IntVector.fromArray(I, chunk, at + LANES);
      FloatVector a = FloatVector.broadcast(F, x[first + i]);
      e0 = p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(a, e0);
      o0 = p0.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats().fma(a, o0);
      e1 = p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(a, e1);
      o1 = p1.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats().fma(a, o1);
    }
    int at0 = t * width + b;
    FloatVector.fromArray(F, acc, at0).add(e0).intoArray(acc, at0);
    FloatVector.fromArray(F, acc, at0 + LANES).add(o0).intoArray(acc, at0 + LANES);
    FloatVector.fromArray(F, acc, at0 + 2 * LANES).add(e1).intoArray(acc, at0 + 2 * LANES);
    FloatVector.fromArray(F, acc, at0 + 3 * LANES).add(o1).intoArray(acc, at0 + 3 * LANES);
  }
}
