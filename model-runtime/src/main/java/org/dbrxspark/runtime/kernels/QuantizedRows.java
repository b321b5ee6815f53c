package org.dbrxspark.runtime.kernels;

import java.nio.ByteBuffer;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.checkpoint.KQuantScales;

/**
 * Q8_0 and Q4_0 weights with the Vector API: rows widened to float32 (embedding lookups, the
 * input-major form), and the nn.Linear form computed on the blocks, each block's scale applied once
 * to its 32 products. A widened weight is a small integer times an f16, exact in float32, so
 * widening equals {@link DType#decode} bit for bit.
 *
 * <p>The blocks are first copied from the mapped file into a per-thread array, for the same reason
 * as in {@link Bf16PairKernels}: vector loads from a heap array are the fast ones.
 */
final class QuantizedRows {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final int LANES = F.length();

  /** Bytes with as many lanes as the float species: one load gives one float vector of codes. */
  private static final VectorSpecies<Byte> B =
      LANES >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8)) : null;

  private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[0]);

  private QuantizedRows() {}

  /** Whether {@code dtype} has block kernels here: Q8_0 and Q4_0, on 8- or 16-lane hardware. */
  static boolean dotsOnBlocks(DType dtype) {
    return B != null && (dtype == DType.Q8_0 || dtype == DType.Q4_0);
  }

  /** Whether {@code dtype} is widened here: every block type, on 8- or 16-lane hardware. */
  static boolean widens(DType dtype) {
    return B != null && dtype.isQuantized();
  }

  /**
   * Widens {@code count} weights (whole blocks) stored from byte {@code byteOffset} of {@code
   * bytes} into {@code dst[dstOffset ..]}.
   */
  static void widen(
      DType dtype, ByteBuffer bytes, int byteOffset, int count, float[] dst, int dstOffset) {
    int blocks = count / dtype.blockSize();
    int length = blocks * dtype.blockBytes();
    byte[] raw = scratch(length);
    bytes.get(byteOffset, raw, 0, length);
    switch (dtype) {
      case Q8_0 -> widenQ8(raw, blocks, dst, dstOffset);
      case Q4_0 -> widenQ4(raw, blocks, dst, dstOffset);
      case Q4_K -> widenQ4K(raw, blocks, dst, dstOffset);
      case Q5_K -> widenQ5K(raw, blocks, dst, dstOffset);
      case Q6_K -> widenQ6K(raw, blocks, dst, dstOffset);
      default -> throw new IllegalArgumentException(dtype + " is not a block type");
    }
  }

  /*
   * The K-quants (ggml-common.h; the layouts are spelled out in checkpoint.KQuants, whose scalar
   * decode these equal bit for bit: KernelsTest reads rows of every type back both ways). Each
   * product of a scale and a code is exact in float32, so the vector and scalar orders agree.
   */

  /** Q4_K, 144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles. */
  private static void widenQ4K(byte[] raw, int blocks, float[] dst, int dstOffset) {
    for (int b = 0; b < blocks; b++) {
      int at = b * 144;
      float d = scale(raw, at);
      float dmin = scale(raw, at + 2);
      int out = dstOffset + b * 256;
      for (int k = 0; k < 4; k++) {
        float d1 = d * KQuantScales.scale(raw, at + 4, 2 * k);
        float m1 = dmin * KQuantScales.min(raw, at + 4, 2 * k);
        float d2 = d * KQuantScales.scale(raw, at + 4, 2 * k + 1);
        float m2 = dmin * KQuantScales.min(raw, at + 4, 2 * k + 1);
        for (int l = 0; l < 32; l += LANES) {
          ByteVector packed = ByteVector.fromArray(B, raw, at + 16 + 32 * k + l);
          codes(packed.and((byte) 0x0F)).mul(d1).sub(m1).intoArray(dst, out + 64 * k + l);
          codes(highNibbles(packed)).mul(d2).sub(m2).intoArray(dst, out + 64 * k + 32 + l);
        }
      }
    }
  }

  /**
   * Q5_K, 176 bytes: as Q4_K, with 32 bytes of fifth bits (bit j of byte l for sub-block j) before
   * the nibbles.
   */
  private static void widenQ5K(byte[] raw, int blocks, float[] dst, int dstOffset) {
    for (int b = 0; b < blocks; b++) {
      int at = b * 176;
      float d = scale(raw, at);
      float dmin = scale(raw, at + 2);
      int out = dstOffset + b * 256;
      for (int k = 0; k < 4; k++) {
        int j1 = 2 * k;
        int j2 = 2 * k + 1;
        float d1 = d * KQuantScales.scale(raw, at + 4, j1);
        float m1 = dmin * KQuantScales.min(raw, at + 4, j1);
        float d2 = d * KQuantScales.scale(raw, at + 4, j2);
        float m2 = dmin * KQuantScales.min(raw, at + 4, j2);
        for (int l = 0; l < 32; l += LANES) {
          ByteVector packed = ByteVector.fromArray(B, raw, at + 48 + 32 * k + l);
          ByteVector high = ByteVector.fromArray(B, raw, at + 16 + l);
          ByteVector q1 =
              packed.and((byte) 0x0F).or(bit(high, j1).lanewise(VectorOperators.LSHL, 4));
          ByteVector q2 = highNibbles(packed).or(bit(high, j2).lanewise(VectorOperators.LSHL, 4));
          codes(q1).mul(d1).sub(m1).intoArray(dst, out + 64 * k + l);
          codes(q2).mul(d2).sub(m2).intoArray(dst, out + 64 * k + 32 + l);
        }
      }
    }
  }

  /**
   * Q6_K, 210 bytes: 128 bytes of low nibbles, 64 of high bit pairs, 16 int8 scales, f16 d. Each
   * half of 128 weights takes 64 bytes of nibbles, 32 of bit pairs and 8 scales.
   */
  private static void widenQ6K(byte[] raw, int blocks, float[] dst, int dstOffset) {
    for (int b = 0; b < blocks; b++) {
      int at = b * 210;
      float d = scale(raw, at + 208);
      for (int half = 0; half < 2; half++) {
        int ql = at + 64 * half;
        int qh = at + 128 + 32 * half;
        int sc = at + 192 + 8 * half;
        int out = dstOffset + b * 256 + 128 * half;
        for (int l = 0; l < 32; l += LANES) {
          int s = l / 16;
          ByteVector lo = ByteVector.fromArray(B, raw, ql + l);
          ByteVector hi = ByteVector.fromArray(B, raw, ql + 32 + l);
          ByteVector h = ByteVector.fromArray(B, raw, qh + l);
          sixBits(lo.and((byte) 0x0F), h, 0).mul(d * raw[sc + s]).intoArray(dst, out + l);
          sixBits(hi.and((byte) 0x0F), h, 2).mul(d * raw[sc + s + 2]).intoArray(dst, out + 32 + l);
          sixBits(highNibbles(lo), h, 4).mul(d * raw[sc + s + 4]).intoArray(dst, out + 64 + l);
          sixBits(highNibbles(hi), h, 6).mul(d * raw[sc + s + 6]).intoArray(dst, out + 96 + l);
        }
      }
    }
  }

  /** A Q6_K code less 32: four low bits, with the two bits of {@code h} at {@code shift} on top. */
  private static FloatVector sixBits(ByteVector low, ByteVector h, int shift) {
    ByteVector top =
        h.lanewise(VectorOperators.LSHR, shift).and((byte) 3).lanewise(VectorOperators.LSHL, 4);
    return codes(low.or(top).sub((byte) 32));
  }

  /** Bit {@code j} of each byte, as 0 or 1. */
  private static ByteVector bit(ByteVector bytes, int j) {
    return bytes.lanewise(VectorOperators.LSHR, j).and((byte) 1);
  }

  /** The high nibble of each byte, 0 to 15. */
  private static ByteVector highNibbles(ByteVector packed) {
    return packed.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F);
  }

  /**
   * Bytes of whole rows per bulk copy in {@link #dotRows}: 16 KB, as {@link Bf16PairKernels}
   * copies.
   */
  private static final int COPY_BYTES = 16 * 1024;

  /**
   * {@code out[t * outStride + j] = Σ_i x[t, i] · w[j, i]} for rows j in {@code [from, to)}, on the
   * blocks: per block, the codes times the activations are summed in a vector, then scaled by the
   * block's d into a running vector sum, whose lanes are added last. The codes are converted once
   * for four tokens. Each (row, token) takes the same operations in the same order however many
   * tokens there are, so results do not depend on the batch.
   */
  static void dotRows(
      WeightMatrix w, int from, int to, float[] x, int n, float[] out, int outStride) {
    boolean q8 = w.dtype() == DType.Q8_0;
    int cols = w.cols();
    int rowBytes = cols / 32 * w.dtype().blockBytes();
    int rowsPerCopy = Math.max(1, COPY_BYTES / rowBytes);
    byte[] raw = scratch(rowsPerCopy * rowBytes);
    for (int j0 = from; j0 < to; j0 += rowsPerCopy) {
      int count = Math.min(rowsPerCopy, to - j0);
      w.bytes().get(j0 * rowBytes, raw, 0, count * rowBytes);
      for (int r = 0; r < count; r++) {
        int t = 0;
        for (; t + 4 <= n; t += 4) {
          if (q8) {
            dotQ8FourTokens(raw, r * rowBytes, x, t, cols, out, outStride, j0 + r);
          } else {
            dotQ4FourTokens(raw, r * rowBytes, x, t, cols, out, outStride, j0 + r);
          }
        }
        for (; t < n; t++) {
          out[t * outStride + j0 + r] =
              q8
                  ? dotQ8(raw, r * rowBytes, x, t * cols, cols)
                  : dotQ4(raw, r * rowBytes, x, t * cols, cols);
        }
      }
    }
  }

  /** One Q8_0 row (from byte {@code at}) with one token's activations (from {@code x0}). */
  private static float dotQ8(byte[] raw, int at, float[] x, int x0, int cols) {
    FloatVector s = FloatVector.zero(F);
    for (int b = 0, block = at; b < cols; b += 32, block += 34) {
      FloatVector a = FloatVector.zero(F);
      for (int k = 0; k < 32; k += LANES) {
        a =
            FloatVector.fromArray(F, x, x0 + b + k)
                .fma(codes(ByteVector.fromArray(B, raw, block + 2 + k)), a);
      }
      s = a.fma(FloatVector.broadcast(F, scale(raw, block)), s);
    }
    return VectorMath.sumLanes(s);
  }

  /**
   * Four tokens (from {@code t}) with one Q8_0 row: the same operations per token as {@link
   * #dotQ8}.
   */
  private static void dotQ8FourTokens(
      byte[] raw, int at, float[] x, int t, int cols, float[] out, int outStride, int j) {
    int x0 = t * cols;
    int x1 = x0 + cols;
    int x2 = x1 + cols;
    int x3 = x2 + cols;
    FloatVector s0 = FloatVector.zero(F);
    FloatVector s1 = FloatVector.zero(F);
    FloatVector s2 = FloatVector.zero(F);
    FloatVector s3 = FloatVector.zero(F);
    for (int b = 0, block = at; b < cols; b += 32, block += 34) {
      FloatVector a0 = FloatVector.zero(F);
      FloatVector a1 = FloatVector.zero(F);
      FloatVector a2 = FloatVector.zero(F);
      FloatVector a3 = FloatVector.zero(F);
      for (int k = 0; k < 32; k += LANES) {
        FloatVector c = codes(ByteVector.fromArray(B, raw, block + 2 + k));
        a0 = FloatVector.fromArray(F, x, x0 + b + k).fma(c, a0);
        a1 = FloatVector.fromArray(F, x, x1 + b + k).fma(c, a1);
        a2 = FloatVector.fromArray(F, x, x2 + b + k).fma(c, a2);
        a3 = FloatVector.fromArray(F, x, x3 + b + k).fma(c, a3);
      }
      FloatVector d = FloatVector.broadcast(F, scale(raw, block));
      s0 = a0.fma(d, s0);
      s1 = a1.fma(d, s1);
      s2 = a2.fma(d, s2);
      s3 = a3.fma(d, s3);
    }
    out[t * outStride + j] = VectorMath.sumLanes(s0);
    out[(t + 1) * outStride + j] = VectorMath.sumLanes(s1);
    out[(t + 2) * outStride + j] = VectorMath.sumLanes(s2);
    out[(t + 3) * outStride + j] = VectorMath.sumLanes(s3);
  }

  /**
   * One Q4_0 row with one token. Per loaded run of packed bytes, the low nibbles' products come
   * before the high nibbles' (elements {@code k} and {@code 16 + k}), in both Q4_0 kernels.
   */
  private static float dotQ4(byte[] raw, int at, float[] x, int x0, int cols) {
    FloatVector s = FloatVector.zero(F);
    for (int b = 0, block = at; b < cols; b += 32, block += 18) {
      FloatVector a = FloatVector.zero(F);
      for (int k = 0; k < 16; k += LANES) {
        ByteVector packed = ByteVector.fromArray(B, raw, block + 2 + k);
        a = FloatVector.fromArray(F, x, x0 + b + k).fma(low(packed), a);
        a = FloatVector.fromArray(F, x, x0 + b + 16 + k).fma(high(packed), a);
      }
      s = a.fma(FloatVector.broadcast(F, scale(raw, block)), s);
    }
    return VectorMath.sumLanes(s);
  }

  /** Four tokens with one Q4_0 row: the same operations per token as {@link #dotQ4}. */
  private static void dotQ4FourTokens(
      byte[] raw, int at, float[] x, int t, int cols, float[] out, int outStride, int j) {
    int x0 = t * cols;
    int x1 = x0 + cols;
    int x2 = x1 + cols;
    int x3 = x2 + cols;
    FloatVector s0 = FloatVector.zero(F);
    FloatVector s1 = FloatVector.zero(F);
    FloatVector s2 = FloatVector.zero(F);
    FloatVector s3 = FloatVector.zero(F);
    for (int b = 0, block = at; b < cols; b += 32, block += 18) {
      FloatVector a0 = FloatVector.zero(F);
      FloatVector a1 = FloatVector.zero(F);
      FloatVector a2 = FloatVector.zero(F);
      FloatVector a3 = FloatVector.zero(F);
      for (int k = 0; k < 16; k += LANES) {
        ByteVector packed = ByteVector.fromArray(B, raw, block + 2 + k);
        FloatVector lo = low(packed);
        FloatVector hi = high(packed);
        int l = b + k;
        int h = b + 16 + k;
        a0 =
            FloatVector.fromArray(F, x, x0 + h)
                .fma(hi, FloatVector.fromArray(F, x, x0 + l).fma(lo, a0));
        a1 =
            FloatVector.fromArray(F, x, x1 + h)
                .fma(hi, FloatVector.fromArray(F, x, x1 + l).fma(lo, a1));
        a2 =
            FloatVector.fromArray(F, x, x2 + h)
                .fma(hi, FloatVector.fromArray(F, x, x2 + l).fma(lo, a2));
        a3 =
            FloatVector.fromArray(F, x, x3 + h)
                .fma(hi, FloatVector.fromArray(F, x, x3 + l).fma(lo, a3));
      }
      FloatVector d = FloatVector.broadcast(F, scale(raw, block));
      s0 = a0.fma(d, s0);
      s1 = a1.fma(d, s1);
      s2 = a2.fma(d, s2);
      s3 = a3.fma(d, s3);
    }
    out[t * outStride + j] = VectorMath.sumLanes(s0);
    out[(t + 1) * outStride + j] = VectorMath.sumLanes(s1);
    out[(t + 2) * outStride + j] = VectorMath.sumLanes(s2);
    out[(t + 3) * outStride + j] = VectorMath.sumLanes(s3);
  }

  /** Elements 0-15 of a Q4_0 block: the low nibbles, less 8. */
  private static FloatVector low(ByteVector packed) {
    return codes(packed.and((byte) 0x0F).sub((byte) 8));
  }

  /** Elements 16-31: the high nibbles, less 8. */
  private static FloatVector high(ByteVector packed) {
    return codes(highNibbles(packed).sub((byte) 8));
  }

  /** Q8_0: 2 bytes of scale, then 32 int8 codes. */
  private static void widenQ8(byte[] raw, int blocks, float[] dst, int dstOffset) {
    for (int b = 0; b < blocks; b++) {
      int at = b * 34;
      float d = scale(raw, at);
      int out = dstOffset + b * 32;
      for (int j = 0; j < 32; j += LANES) {
        codes(ByteVector.fromArray(B, raw, at + 2 + j)).mul(d).intoArray(dst, out + j);
      }
    }
  }

  /**
   * Q4_0: 2 bytes of scale, then 16 bytes whose low nibbles are elements 0-15 and high nibbles
   * 16-31.
   */
  private static void widenQ4(byte[] raw, int blocks, float[] dst, int dstOffset) {
    for (int b = 0; b < blocks; b++) {
      int at = b * 18;
      float d = scale(raw, at);
      int out = dstOffset + b * 32;
      for (int j = 0; j < 16; j += LANES) {
        ByteVector packed = ByteVector.fromArray(B, raw, at + 2 + j);
        low(packed).mul(d).intoArray(dst, out + j);
        high(packed).mul(d).intoArray(dst, out + 16 + j);
      }
    }
  }

  private static FloatVector codes(ByteVector bytes) {
    return (FloatVector) bytes.convertShape(VectorOperators.B2F, F, 0);
  }

  /**
   * Every f16 as a float: one load per block instead of the branches of a conversion, which cost as
   * much as the block's arithmetic. The scales of a model fall in a narrow range, so the few lines
   * of the table in use stay in the L1 cache.
   */
  private static final float[] F16_TO_FLOAT = new float[1 << 16];

  static {
    for (int bits = 0; bits < F16_TO_FLOAT.length; bits++) {
      F16_TO_FLOAT[bits] = DType.f16ToFloat((short) bits);
    }
  }

  private static float scale(byte[] raw, int at) {
    return F16_TO_FLOAT[(raw[at] & 0xFF) | (raw[at + 1] & 0xFF) << 8];
  }

  private static byte[] scratch(int length) {
    byte[] buffer = SCRATCH.get();
    if (buffer.length < length) {
      buffer = new byte[length];
      SCRATCH.set(buffer);
    }
    return buffer;
  }
}
