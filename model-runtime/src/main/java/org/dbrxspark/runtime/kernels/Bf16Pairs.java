package org.dbrxspark.runtime.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
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
   */
  static void dotRows(ByteBuffer w, int cols, int from, int to, float[] even, float[] odd, int n, float[] out, int outStride) {
    int half = cols / 2;
    int bound = I.loopBound(half);
    for (int j = from; j < to; j++) {
      int base = j * cols * 2;
      int t = 0;
      for (; t + 4 <= n; t += 4) {
        int x0 = t * half;
        int x1 = x0 + half;
        int x2 = x1 + half;
        int x3 = x2 + half;
        FloatVector e0 = FloatVector.zero(F);
        FloatVector e1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F);
        FloatVector e3 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = FloatVector.zero(F);
        FloatVector o2 = FloatVector.zero(F);
        FloatVector o3 = FloatVector.zero(F);
        for (int k = 0; k < bound; k += LANES) {
          IntVector pair = IntVector.fromByteBuffer(I, w, base + 4 * k, ByteOrder.LITTLE_ENDIAN);
          FloatVector we = pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
          FloatVector wo = pair.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
          e0 = FloatVector.fromArray(F, even, x0 + k).fma(we, e0);
          o0 = FloatVector.fromArray(F, odd, x0 + k).fma(wo, o0);
          e1 = FloatVector.fromArray(F, even, x1 + k).fma(we, e1);
          o1 = FloatVector.fromArray(F, odd, x1 + k).fma(wo, o1);
          e2 = FloatVector.fromArray(F, even, x2 + k).fma(we, e2);
          o2 = FloatVector.fromArray(F, odd, x2 + k).fma(wo, o2);
          e3 = FloatVector.fromArray(F, even, x3 + k).fma(we, e3);
          o3 = FloatVector.fromArray(F, odd, x3 + k).fma(wo, o3);
        }
        out[t * outStride + j] = finish(e0.add(o0), w, base, bound, half, even, odd, x0);
        out[(t + 1) * outStride + j] = finish(e1.add(o1), w, base, bound, half, even, odd, x1);
        out[(t + 2) * outStride + j] = finish(e2.add(o2), w, base, bound, half, even, odd, x2);
        out[(t + 3) * outStride + j] = finish(e3.add(o3), w, base, bound, half, even, odd, x3);
      }
      for (; t < n; t++) {
        int x0 = t * half;
        FloatVector e0 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F);
        for (int k = 0; k < bound; k += LANES) {
          IntVector pair = IntVector.fromByteBuffer(I, w, base + 4 * k, ByteOrder.LITTLE_ENDIAN);
          e0 = FloatVector.fromArray(F, even, x0 + k).fma(pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e0);
          o0 = FloatVector.fromArray(F, odd, x0 + k).fma(pair.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats(), o0);
        }
        out[t * outStride + j] = finish(e0.add(o0), w, base, bound, half, even, odd, x0);
      }
    }
  }

  /** Sums the lanes in index order, then adds the pairs past the last full vector. */
  private static float finish(FloatVector acc, ByteBuffer w, int base, int bound, int half,
      float[] even, float[] odd, int x) {
    float sum = VectorMath.sumLanes(acc);
    for (int k = bound; k < half; k++) {
      int pair = w.getInt(base + 4 * k);
      sum += even[x + k] * Float.intBitsToFloat(pair << 16);
      sum += odd[x + k] * Float.intBitsToFloat(pair & ODD_MASK);
    }
    return sum;
  }

  /**
   * {@code out[t, c0 + c] = Σ_i x[t, i] · w[i, c0 + c]} for {@code c < width} (even): the
   * {@code [in, out]} form, over one block of output columns. {@code even}/{@code odd} are scratch
   * accumulators of at least {@code n * width / 2} floats.
   */
  static void accumulateColumns(ByteBuffer w, int rows, int cols, int c0, int width, float[] x, int n,
      float[] even, float[] odd, float[] out) {
    int half = width / 2;
    int bound = I.loopBound(half);
    Arrays.fill(even, 0, n * half, 0f);
    Arrays.fill(odd, 0, n * half, 0f);
    for (int i = 0; i < rows; i++) {
      int base = (i * cols + c0) * 2;
      for (int k = 0; k < bound; k += LANES) {
        IntVector pair = IntVector.fromByteBuffer(I, w, base + 4 * k, ByteOrder.LITTLE_ENDIAN);
        FloatVector we = pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
        FloatVector wo = pair.lanewise(VectorOperators.AND, ODD_MASK).reinterpretAsFloats();
        for (int t = 0; t < n; t++) {
          FloatVector a = FloatVector.broadcast(F, x[t * rows + i]);
          int acc = t * half + k;
          we.fma(a, FloatVector.fromArray(F, even, acc)).intoArray(even, acc);
          wo.fma(a, FloatVector.fromArray(F, odd, acc)).intoArray(odd, acc);
        }
      }
      for (int k = bound; k < half; k++) {
        int pair = w.getInt(base + 4 * k);
        float we = Float.intBitsToFloat(pair << 16);
        float wo = Float.intBitsToFloat(pair & ODD_MASK);
        for (int t = 0; t < n; t++) {
          float a = x[t * rows + i];
          even[t * half + k] = Math.fma(we, a, even[t * half + k]);
          odd[t * half + k] = Math.fma(wo, a, odd[t * half + k]);
        }
      }
    }
    for (int t = 0; t < n; t++) {
      for (int k = 0; k < half; k++) {
        out[t * cols + c0 + 2 * k] = even[t * half + k];
        out[t * cols + c0 + 2 * k + 1] = odd[t * half + k];
      }
    }
  }
}
