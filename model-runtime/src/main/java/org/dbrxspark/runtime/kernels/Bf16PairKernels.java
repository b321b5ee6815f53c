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
  private static final VectorSpecies<Integer> I = KernelShape.INTS;
  private static final VectorSpecies<Float> F = KernelShape.FLOATS;
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

  /**
   * Splits rows {@code [from, to)} of {@code x} ({@code [n, cols]}, cols even) into its even and
   * odd columns.
   */
  static void deinterleave(float[] x, int from, int to, int cols, float[] even, float[] odd) {
    int half = cols / 2;
    for (int t = from; t < to; t++) {
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
   * <p>Each (row, token) result has one vector accumulator that takes, per vector of pairs, the
   * even products and then the odd ones; its lanes are summed in order. Four tokens go with four
   * rows at a time: each weight vector loaded serves four tokens and each activation vector four
   * rows, with sixteen accumulators, so that loads, not the multiply-adds, stop being the limit. A
   * single token goes with four rows. Every blocking takes the same sequence of operations for a
   * given (row, token), so the result depends neither on n nor on how rows are split.
   *
   * <p>Rows are first copied from the mapped file into a heap array, 16 KB per bulk copy: on JDK 17
   * vector loads from a heap array are faster than from a mapped buffer, and later JDKs have no
   * vector loads from buffers at all. The copy streams at the core's full read rate; the arithmetic
   * that follows must be short, as no read is in flight meanwhile (Java has no prefetch), which is
   * why a single token keeps four rows' independent accumulator chains.
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
    float[] lanes = new float[16 * LANES];
    for (int j0 = from; j0 < to; j0 += rowsPerCopy) {
      int count = Math.min(rowsPerCopy, to - j0);
      w.get(j0 * half, copy, 0, count * half);
      int t = 0;
      for (; t + 4 <= n; t += 4) {
        int r = 0;
        for (; r + 4 <= count; r += 4) {
          dotFourRowsFourTokens(copy, r * half, half, j0 + r, even, odd, t, out, outStride, lanes);
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
   *
   * With AVX2's 16 vector registers C2 spills most of the four-by-four block's sums (36 vector
   * stack moves per 32 multiply-adds on JDK 17). Three rows by four tokens, QuantizedTiles' AVX2
   * shape, still spills 21 per 24 and ran no faster on the AVX2 host, alone or in PrefillCpuBenchmark, so
   * every host keeps four rows. The one-token block spills nothing.
   */

  /** Rows j to j + 3, copied to {@code pairs} from {@code base}, with tokens t to t + 3. */
  private static void dotFourRowsFourTokens(
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
    int r1 = base + half;
    int r2 = r1 + half;
    int r3 = r2 + half;
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
    FloatVector a20 = FloatVector.zero(F);
    FloatVector a21 = FloatVector.zero(F);
    FloatVector a22 = FloatVector.zero(F);
    FloatVector a23 = FloatVector.zero(F);
    FloatVector a30 = FloatVector.zero(F);
    FloatVector a31 = FloatVector.zero(F);
    FloatVector a32 = FloatVector.zero(F);
    FloatVector a33 = FloatVector.zero(F);
    for (int k = 0; k < bound; k += LANES) {
      IntVector p0 = IntVector.fromArray(I, pairs, base + k);
      IntVector p1 = IntVector.fromArray(I, pairs, r1 + k);
      IntVector p2 = IntVector.fromArray(I, pairs, r2 + k);
      IntVector p3 = IntVector.fromArray(I, pairs, r3 + k);
      FloatVector we0 = p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo0 = p0.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
      FloatVector we1 = p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo1 = p1.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
      FloatVector we2 = p2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo2 = p2.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
      FloatVector we3 = p3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector wo3 = p3.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
      FloatVector xe = FloatVector.fromArray(F, even, x0 + k);
      FloatVector xo = FloatVector.fromArray(F, odd, x0 + k);
      a00 = xe.fma(we0, a00);
      a10 = xe.fma(we1, a10);
      a20 = xe.fma(we2, a20);
      a30 = xe.fma(we3, a30);
      a00 = xo.fma(wo0, a00);
      a10 = xo.fma(wo1, a10);
      a20 = xo.fma(wo2, a20);
      a30 = xo.fma(wo3, a30);
      xe = FloatVector.fromArray(F, even, x1 + k);
      xo = FloatVector.fromArray(F, odd, x1 + k);
      a01 = xe.fma(we0, a01);
      a11 = xe.fma(we1, a11);
      a21 = xe.fma(we2, a21);
      a31 = xe.fma(we3, a31);
      a01 = xo.fma(wo0, a01);
      a11 = xo.fma(wo1, a11);
      a21 = xo.fma(wo2, a21);
      a31 = xo.fma(wo3, a31);
      xe = FloatVector.fromArray(F, even, x2 + k);
      xo = FloatVector.fromArray(F, odd, x2 + k);
      a02 = xe.fma(we0, a02);
      a12 = xe.fma(we1, a12);
      a22 = xe.fma(we2, a22);
      a32 = xe.fma(we3, a32);
      a02 = xo.fma(wo0, a02);
      a12 = xo.fma(wo1, a12);
      a22 = xo.fma(wo2, a22);
      a32 = xo.fma(wo3, a32);
      xe = FloatVector.fromArray(F, even, x3 + k);
      xo = FloatVector.fromArray(F, odd, x3 + k);
      a03 = xe.fma(we0, a03);
      a13 = xe.fma(we1, a13);
      a23 = xe.fma(we2, a23);
      a33 = xe.fma(we3, a33);
      a03 = xo.fma(wo0, a03);
      a13 = xo.fma(wo1, a13);
      a23 = xo.fma(wo2, a23);
      a33 = xo.fma(wo3, a33);
    }
    a00.intoArray(lanes, 0 * LANES);
    a10.intoArray(lanes, 1 * LANES);
    a20.intoArray(lanes, 2 * LANES);
    a30.intoArray(lanes, 3 * LANES);
    a01.intoArray(lanes, 4 * LANES);
    a11.intoArray(lanes, 5 * LANES);
    a21.intoArray(lanes, 6 * LANES);
    a31.intoArray(lanes, 7 * LANES);
    a02.intoArray(lanes, 8 * LANES);
    a12.intoArray(lanes, 9 * LANES);
    a22.intoArray(lanes, 10 * LANES);
    a32.intoArray(lanes, 11 * LANES);
    a03.intoArray(lanes, 12 * LANES);
    a13.intoArray(lanes, 13 * LANES);
    a23.intoArray(lanes, 14 * LANES);
    a33.intoArray(lanes, 15 * LANES);
    out[(t + 0) * outStride + j + 0] =
        finish(lanes, 0 * LANES, pairs, base, bound, half, even, odd, x0);
    out[(t + 0) * outStride + j + 1] =
        finish(lanes, 1 * LANES, pairs, r1, bound, half, even, odd, x0);
    out[(t + 0) * outStride + j + 2] =
        finish(lanes, 2 * LANES, pairs, r2, bound, half, even, odd, x0);
    out[(t + 0) * outStride + j + 3] =
        finish(lanes, 3 * LANES, pairs, r3, bound, half, even, odd, x0);
    out[(t + 1) * outStride + j + 0] =
        finish(lanes, 4 * LANES, pairs, base, bound, half, even, odd, x1);
    out[(t + 1) * outStride + j + 1] =
        finish(lanes, 5 * LANES, pairs, r1, bound, half, even, odd, x1);
    out[(t + 1) * outStride + j + 2] =
        finish(lanes, 6 * LANES, pairs, r2, bound, half, even, odd, x1);
    out[(t + 1) * outStride + j + 3] =
        finish(lanes, 7 * LANES, pairs, r3, bound, half, even, odd, x1);
    out[(t + 2) * outStride + j + 0] =
        finish(lanes, 8 * LANES, pairs, base, bound, half, even, odd, x2);
    out[(t + 2) * outStride + j + 1] =
        finish(lanes, 9 * LANES, pairs, r1, bound, half, even, odd, x2);
    out[(t + 2) * outStride + j + 2] =
        finish(lanes, 10 * LANES, pairs, r2, bound, half, even, odd, x2);
    out[(t + 2) * outStride + j + 3] =
        finish(lanes, 11 * LANES, pairs, r3, bound, half, even, odd, x2);
    out[(t + 3) * outStride + j + 0] =
        finish(lanes, 12 * LANES, pairs, base, bound, half, even, odd, x3);
    out[(t + 3) * outStride + j + 1] =
        finish(lanes, 13 * LANES, pairs, r1, bound, half, even, odd, x3);
    out[(t + 3) * outStride + j + 2] =
        finish(lanes, 14 * LANES, pairs, r2, bound, half, even, odd, x3);
    out[(t + 3) * outStride + j + 3] =
        finish(lanes, 15 * LANES, pairs, r3, bound, half, even, odd, x3);
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
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    FloatVector a2 = FloatVector.zero(F);
    FloatVector a3 = FloatVector.zero(F);
    for (int k = 0; k < bound; k += LANES) {
      IntVector p0 = IntVector.fromArray(I, pairs, base + k);
      IntVector p1 = IntVector.fromArray(I, pairs, r1 + k);
      IntVector p2 = IntVector.fromArray(I, pairs, r2 + k);
      IntVector p3 = IntVector.fromArray(I, pairs, r3 + k);
      FloatVector xe = FloatVector.fromArray(F, even, x + k);
      FloatVector xo = FloatVector.fromArray(F, odd, x + k);
      a0 = xe.fma(p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a0);
      a1 = xe.fma(p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a1);
      a2 = xe.fma(p2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a2);
      a3 = xe.fma(p3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a3);
      a0 = xo.fma(p0.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(), a0);
      a1 = xo.fma(p1.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(), a1);
      a2 = xo.fma(p2.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(), a2);
      a3 = xo.fma(p3.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(), a3);
    }
    int at = t * outStride + j;
    a0.intoArray(lanes, 0);
    a1.intoArray(lanes, LANES);
    a2.intoArray(lanes, 2 * LANES);
    a3.intoArray(lanes, 3 * LANES);
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
    FloatVector a = FloatVector.zero(F);
    for (int k = 0; k < bound; k += LANES) {
      IntVector p = IntVector.fromArray(I, pairs, base + k);
      a =
          FloatVector.fromArray(F, even, x + k)
              .fma(p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), a);
      a =
          FloatVector.fromArray(F, odd, x + k)
              .fma(p.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(), a);
    }
    a.intoArray(lanes, 0);
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
