package org.dbrxspark.runtime.kernels;

import java.nio.IntBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * BF16 matrix kernels that read the weights as int pairs. A little-endian int holds two adjacent
 * bf16 weights: shifting it left by 16 gives the even weight as a float32, masking the low half
 * gives the odd one. So the activations are split once into even and odd columns, and the
 * weights need no conversion instructions at all: one load, a shift and an and per two floats.
 *
 * <p>Every output is accumulated in the same order whatever the number of tokens, so results are
 * reproducible bit for bit.
 */
final class Bf16Pairs {
  private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final int LANES = I.length();
  private static final int ODD_MASK = 0xFFFF0000;

  private Bf16Pairs() {}

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
   * <p>Two weight rows and four tokens at a time: each weight vector loaded is used four times
   * and each activation vector twice. Every (row, token) result takes the same sequence of
   * operations in every blocking, so it does not depend on n or on how rows are split.
   *
   * <p>The two rows are first copied from the mapped file into a heap array with one bulk copy:
   * on JDK 17 vector loads from a heap array are faster than from a mapped buffer, and later JDKs
   * have no vector loads from buffers at all.
   */
  static void dotRows(IntBuffer w, int cols, int from, int to, float[] even, float[] odd, int n, float[] out, int outStride) {
    int half = cols / 2;
    int[] pairs = new int[2 * half];
    float[] lanes = new float[LANES];
    int j = from;
    for (; j + 2 <= to; j += 2) {
      w.get(j * half, pairs, 0, 2 * half);
      int t = 0;
      for (; t + 4 <= n; t += 4) {
        dotTwoRowsFourTokens(pairs, half, j, even, odd, t, out, outStride, lanes);
      }
      for (; t < n; t++) {
        dotTwoRowsOneToken(pairs, half, j, even, odd, t, out, outStride, lanes);
      }
    }
    if (j < to) {
      w.get(j * half, pairs, 0, half);
      int bound = I.loopBound(half);
      for (int t = 0; t < n; t++) {
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < bound; k += LANES) {
          IntVector pair = IntVector.fromArray(I, pairs, k);
          acc = FloatVector.fromArray(F, odd, t * half + k).fma(pair.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(),
              FloatVector.fromArray(F, even, t * half + k).fma(pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), acc));
        }
        out[t * outStride + j] = finish(acc, lanes, pairs, 0, bound, half, even, odd, t * half);
      }
    }
  }

  /** Rows j and j + 1, copied to {@code pairs[0, half)} and {@code pairs[half, 2 half)}, with four tokens. */
  private static void dotTwoRowsFourTokens(int[] pairs, int half, int j, float[] even, float[] odd, int t,
      float[] out, int outStride, float[] lanes) {
    int bound = I.loopBound(half);
    int x0 = t * half;
    int x1 = x0 + half;
    int x2 = x1 + half;
    int x3 = x2 + half;
    FloatVector a00 = FloatVector.zero(F);
    FloatVector a01 = FloatVector.zero(F);
    FloatVector a02 = FloatVector.zero(F);
    FloatVector a03 = FloatVector.zero(F);
    FloatVector a10 = FloatVector.zero(F);
    FloatVector a11 = FloatVector.zero(F);
    FloatVector a12 = FloatVector.zero(F);
    FloatVector a13 = FloatVector.zero(F);
    for (int k = 0; k < bound; k += LANES) {
      IntVector p0 = IntVector.fromArray(I, pairs, k);
      IntVector p1 = IntVector.fromArray(I, pairs, half + k);
      FloatVector we0 = p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo0 = p0.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
      FloatVector we1 = p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo1 = p1.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
      // Written out, not a helper: C2 must see the whole loop to keep vectors in registers.
      FloatVector xe = FloatVector.fromArray(F, even, x0 + k);
      FloatVector xo = FloatVector.fromArray(F, odd, x0 + k);
      a00 = xo.fma(wo0, xe.fma(we0, a00));
      a10 = xo.fma(wo1, xe.fma(we1, a10));
      xe = FloatVector.fromArray(F, even, x1 + k);
      xo = FloatVector.fromArray(F, odd, x1 + k);
      a01 = xo.fma(wo0, xe.fma(we0, a01));
      a11 = xo.fma(wo1, xe.fma(we1, a11));
      xe = FloatVector.fromArray(F, even, x2 + k);
      xo = FloatVector.fromArray(F, odd, x2 + k);
      a02 = xo.fma(wo0, xe.fma(we0, a02));
      a12 = xo.fma(wo1, xe.fma(we1, a12));
      xe = FloatVector.fromArray(F, even, x3 + k);
      xo = FloatVector.fromArray(F, odd, x3 + k);
      a03 = xo.fma(wo0, xe.fma(we0, a03));
      a13 = xo.fma(wo1, xe.fma(we1, a13));
    }
    out[t * outStride + j] = finish(a00, lanes, pairs, 0, bound, half, even, odd, x0);
    out[t * outStride + j + 1] = finish(a10, lanes, pairs, half, bound, half, even, odd, x0);
    out[(t + 1) * outStride + j] = finish(a01, lanes, pairs, 0, bound, half, even, odd, x1);
    out[(t + 1) * outStride + j + 1] = finish(a11, lanes, pairs, half, bound, half, even, odd, x1);
    out[(t + 2) * outStride + j] = finish(a02, lanes, pairs, 0, bound, half, even, odd, x2);
    out[(t + 2) * outStride + j + 1] = finish(a12, lanes, pairs, half, bound, half, even, odd, x2);
    out[(t + 3) * outStride + j] = finish(a03, lanes, pairs, 0, bound, half, even, odd, x3);
    out[(t + 3) * outStride + j + 1] = finish(a13, lanes, pairs, half, bound, half, even, odd, x3);
  }

  private static void dotTwoRowsOneToken(int[] pairs, int half, int j, float[] even, float[] odd, int t,
      float[] out, int outStride, float[] lanes) {
    int bound = I.loopBound(half);
    int x0 = t * half;
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    for (int k = 0; k < bound; k += LANES) {
      IntVector p0 = IntVector.fromArray(I, pairs, k);
      IntVector p1 = IntVector.fromArray(I, pairs, half + k);
      FloatVector xe = FloatVector.fromArray(F, even, x0 + k);
      FloatVector xo = FloatVector.fromArray(F, odd, x0 + k);
      a0 = xo.fma(p0.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(),
          xe.fma(p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a0));
      a1 = xo.fma(p1.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(),
          xe.fma(p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a1));
    }
    out[t * outStride + j] = finish(a0, lanes, pairs, 0, bound, half, even, odd, x0);
    out[t * outStride + j + 1] = finish(a1, lanes, pairs, half, bound, half, even, odd, x0);
  }

  /** Sums the lanes in index order, then adds the pairs past the last full vector. */
  private static float finish(FloatVector acc, float[] lanes, int[] pairs, int row, int bound, int half,
      float[] even, float[] odd, int x) {
    float sum = VectorMath.sumLanes(acc, lanes);
    for (int k = bound; k < half; k++) {
      int pair = pairs[row + k];
      sum += even[x + k] * Float.intBitsToFloat(pair << 16);
      sum += odd[x + k] * Float.intBitsToFloat(pair & ODD_MASK);
    }
    return sum;
  }

  /** Output columns one register block of {@link #accumulateColumns} covers. */
  static final int COLUMN_BLOCK = 4 * LANES;

  /** Pairs copied per row chunk of {@link #accumulateColumns}: 128 KB, so the chunk stays in L2. */
  private static final int CHUNK_INTS = 32 * 1024;

  /**
   * {@code out[t, c] = Σ_i x[t, i] · w[i, c]} for c in {@code [c0, c0 + width)}, width a multiple
   * of {@link #COLUMN_BLOCK}: the {@code [in, out]} form over one band of output columns.
   *
   * <p>The band is copied from the mapped file a chunk of rows at a time (one bulk copy per row);
   * each block of the chunk then streams past accumulators held in registers for two tokens at a
   * time, parked in {@code acc} between chunks. Every output adds its rows in index order, in
   * every blocking.
   */
  static void accumulateColumns(IntBuffer w, int rows, int cols, int c0, int width, float[] x, int n, float[] out) {
    int bandInts = width / 2;
    int chunkRows = Math.max(1, Math.min(rows, CHUNK_INTS / bandInts));
    int[] chunk = new int[chunkRows * bandInts];
    // Per token and block: the even and odd lanes of its two halves, as e0, o0, e1, o1.
    float[] acc = new float[n * width];
    for (int i0 = 0; i0 < rows; i0 += chunkRows) {
      int count = Math.min(chunkRows, rows - i0);
      for (int i = 0; i < count; i++) {
        w.get(((i0 + i) * cols + c0) / 2, chunk, i * bandInts, bandInts);
      }
      for (int b = 0; b < width / COLUMN_BLOCK; b++) {
        accumulateBlock(chunk, count, bandInts, b * 2 * LANES, x, rows, i0, n, acc, width, b * COLUMN_BLOCK);
      }
    }
    for (int t = 0; t < n; t++) {
      for (int b = 0; b < width; b += COLUMN_BLOCK) {
        int a = t * width + b;
        int o = t * cols + c0 + b;
        for (int k = 0; k < LANES; k++) {
          out[o + 2 * k] = acc[a + k];
          out[o + 2 * k + 1] = acc[a + LANES + k];
          out[o + 2 * LANES + 2 * k] = acc[a + 2 * LANES + k];
          out[o + 2 * LANES + 2 * k + 1] = acc[a + 3 * LANES + k];
        }
      }
    }
  }

  /**
   * Adds rows {@code [i0, i0 + count)} of one column block to every token's accumulators. The two
   * loops are separate methods: as one method, C2 ran out of its inlining budget on JDK 17 and left
   * some {@code reinterpretAsFloats} calls to the Vector API's allocating Java fallback.
   */
  private static void accumulateBlock(int[] chunk, int count, int stride, int offset, float[] x, int rows, int i0,
      int n, float[] acc, int width, int a0) {
    int t = 0;
    for (; t + 2 <= n; t += 2) {
      accumulateTwoTokens(chunk, count, stride, offset, x, rows, i0, t, acc, width, a0);
    }
    if (t < n) {
      accumulateOneToken(chunk, count, stride, offset, x, rows, i0, t, acc, width, a0);
    }
  }

  private static void accumulateTwoTokens(int[] chunk, int count, int stride, int offset, float[] x, int rows,
      int i0, int t, float[] acc, int width, int a0) {
    int at0 = t * width + a0;
    int at1 = at0 + width;
    FloatVector e0 = FloatVector.fromArray(F, acc, at0);
    FloatVector o0 = FloatVector.fromArray(F, acc, at0 + LANES);
    FloatVector e1 = FloatVector.fromArray(F, acc, at0 + 2 * LANES);
    FloatVector o1 = FloatVector.fromArray(F, acc, at0 + 3 * LANES);
    FloatVector f0 = FloatVector.fromArray(F, acc, at1);
    FloatVector q0 = FloatVector.fromArray(F, acc, at1 + LANES);
    FloatVector f1 = FloatVector.fromArray(F, acc, at1 + 2 * LANES);
    FloatVector q1 = FloatVector.fromArray(F, acc, at1 + 3 * LANES);
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
      FloatVector b = FloatVector.broadcast(F, x[second + i]);
      e0 = we0.fma(a, e0);
      o0 = wo0.fma(a, o0);
      e1 = we1.fma(a, e1);
      o1 = wo1.fma(a, o1);
      f0 = we0.fma(b, f0);
      q0 = wo0.fma(b, q0);
      f1 = we1.fma(b, f1);
      q1 = wo1.fma(b, q1);
    }
    e0.intoArray(acc, at0);
    o0.intoArray(acc, at0 + LANES);
    e1.intoArray(acc, at0 + 2 * LANES);
    o1.intoArray(acc, at0 + 3 * LANES);
    f0.intoArray(acc, at1);
    q0.intoArray(acc, at1 + LANES);
    f1.intoArray(acc, at1 + 2 * LANES);
    q1.intoArray(acc, at1 + 3 * LANES);
  }

  private static void accumulateOneToken(int[] chunk, int count, int stride, int offset, float[] x, int rows,
      int i0, int t, float[] acc, int width, int a0) {
    int at0 = t * width + a0;
    FloatVector e0 = FloatVector.fromArray(F, acc, at0);
    FloatVector o0 = FloatVector.fromArray(F, acc, at0 + LANES);
    FloatVector e1 = FloatVector.fromArray(F, acc, at0 + 2 * LANES);
    FloatVector o1 = FloatVector.fromArray(F, acc, at0 + 3 * LANES);
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
    e0.intoArray(acc, at0);
    o0.intoArray(acc, at0 + LANES);
    e1.intoArray(acc, at0 + 2 * LANES);
    o1.intoArray(acc, at0 + 3 * LANES);
  }

  /** The same sums as {@link #accumulateColumns}, one pair at a time, for the last columns. */
  static void accumulateColumnsScalar(IntBuffer w, int rows, int cols, int c0, int width, float[] x, int n, float[] out) {
    for (int t = 0; t < n; t++) {
      for (int c = c0; c < c0 + width; c += 2) {
        float even = 0;
        float odd = 0;
        for (int i = 0; i < rows; i++) {
          int pair = w.get((i * cols + c) / 2);
          float a = x[t * rows + i];
          even = Math.fma(Float.intBitsToFloat(pair << 16), a, even);
          odd = Math.fma(Float.intBitsToFloat(pair & ODD_MASK), a, odd);
        }
        out[t * cols + c] = even;
        out[t * cols + c + 1] = odd;
      }
    }
  }
}
