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
 * Block-quantized weights with the Vector API: rows widened to float32 (embedding lookups, the
 * input-major form, and the tiles of {@link QuantizedTiles}), and, for Q8_0 and Q4_0, the nn.Linear
 * form for a single token computed on the blocks. A widened weight is a small integer times an f16,
 * exact in float32, so widening equals {@link DType#decode} bit for bit.
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

  /**
   * Whether {@code dtype} has single-token block kernels here: Q8_0 and Q4_0, on 8- or 16-lane
   * hardware.
   */
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
      case Q8_0 -> widenQ8(raw, 0, blocks, dst, dstOffset);
      case Q4_0 -> widenQ4(raw, 0, blocks, dst, dstOffset);
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
   * Bytes of whole rows per bulk copy in {@link #dotRowsOneToken}: 16 KB, as {@link
   * Bf16PairKernels} copies.
   */
  private static final int COPY_BYTES = 16 * 1024;

  /**
   * {@code out[j] = Σ_i x[i] · w[j, i]} for rows j in {@code [from, to)} and a single token, on the
   * blocks, four rows at a time: each weight is widened in a register ({@code code · d}, exactly
   * what {@link #widen} stores) and multiplied into one running vector sum per row, whose lanes are
   * added last. That is the order {@link QuantizedTiles} multiplies widened tiles in, so a row's
   * result is the same bits alone as in a batch.
   */
  static void dotRowsOneToken(WeightMatrix w, int from, int to, float[] x, float[] out) {
    DType dtype = w.dtype();
    boolean q8 = dtype == DType.Q8_0;
    int step = q8 ? 4 : 2;
    int cols = w.cols();
    int rowBytes = Math.toIntExact(dtype.bytesFor(cols));
    int rowsPerCopy = Math.max(4, COPY_BYTES / rowBytes & ~3);
    byte[] raw = scratch(rowsPerCopy * rowBytes);
    float[] lanes = new float[4 * LANES];
    float[] row = null;
    for (int j0 = from; j0 < to; j0 += rowsPerCopy) {
      int count = Math.min(rowsPerCopy, to - j0);
      w.bytes().get(j0 * rowBytes, raw, 0, count * rowBytes);
      int r = 0;
      // One call site per kernel: C2 gives up inlining the vector code of a second copy.
      for (; r + step <= count; r += step) {
        if (q8) {
          dotQ8FourRows(raw, r * rowBytes, rowBytes, x, cols, out, j0 + r, lanes);
        } else {
          dotQ4TwoRows(raw, r * rowBytes, rowBytes, x, cols, out, j0 + r, lanes);
        }
      }
      for (; r < count; r++) {
        row = row == null ? new float[cols] : row;
        if (q8) {
          widenQ8(raw, r * rowBytes, cols / 32, row, 0);
        } else {
          widenQ4(raw, r * rowBytes, cols / 32, row, 0);
        }
        out[j0 + r] = VectorMath.dot(x, 0, row, 0, cols);
      }
    }
  }

  /** Q8_0 rows j to j + 3, copied to {@code raw} from {@code at}, with one token. */
  private static void dotQ8FourRows(
      byte[] raw, int at, int rowBytes, float[] x, int cols, float[] out, int j, float[] lanes) {
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    FloatVector a2 = FloatVector.zero(F);
    FloatVector a3 = FloatVector.zero(F);
    for (int b = 0, r0 = at; b < cols; b += 32, r0 += 34) {
      int r1 = r0 + rowBytes;
      int r2 = r1 + rowBytes;
      int r3 = r2 + rowBytes;
      float d0 = scale(raw, r0);
      float d1 = scale(raw, r1);
      float d2 = scale(raw, r2);
      float d3 = scale(raw, r3);
      for (int k = 0; k < 32; k += LANES) {
        FloatVector u = FloatVector.fromArray(F, x, b + k);
        a0 = u.fma(codes(ByteVector.fromArray(B, raw, r0 + 2 + k)).mul(d0), a0);
        a1 = u.fma(codes(ByteVector.fromArray(B, raw, r1 + 2 + k)).mul(d1), a1);
        a2 = u.fma(codes(ByteVector.fromArray(B, raw, r2 + 2 + k)).mul(d2), a2);
        a3 = u.fma(codes(ByteVector.fromArray(B, raw, r3 + 2 + k)).mul(d3), a3);
      }
    }
    QuantizedTiles.storeFour(a0, a1, a2, a3, lanes, out, j);
  }

  /**
   * Q4_0 rows j and j + 1 with one token, in element order: a block's low nibbles (elements 0-15)
   * before its high ones (16-31). Two rows, not four: four take more vector code than C2 inlines
   * into one method, and then run several times slower.
   */
  private static void dotQ4TwoRows(
      byte[] raw, int at, int rowBytes, float[] x, int cols, float[] out, int j, float[] lanes) {
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    for (int b = 0, r0 = at; b < cols; b += 32, r0 += 18) {
      int r1 = r0 + rowBytes;
      float d0 = scale(raw, r0);
      float d1 = scale(raw, r1);
      for (int k = 0; k < 16; k += LANES) {
        FloatVector u = FloatVector.fromArray(F, x, b + k);
        a0 = u.fma(low(ByteVector.fromArray(B, raw, r0 + 2 + k)).mul(d0), a0);
        a1 = u.fma(low(ByteVector.fromArray(B, raw, r1 + 2 + k)).mul(d1), a1);
      }
      for (int k = 0; k < 16; k += LANES) {
        FloatVector u = FloatVector.fromArray(F, x, b + 16 + k);
        a0 = u.fma(high(ByteVector.fromArray(B, raw, r0 + 2 + k)).mul(d0), a0);
        a1 = u.fma(high(ByteVector.fromArray(B, raw, r1 + 2 + k)).mul(d1), a1);
      }
    }
    a0.intoArray(lanes, 0);
    a1.intoArray(lanes, LANES);
    out[j] = QuantizedTiles.sumLanes(lanes, 0);
    out[j + 1] = QuantizedTiles.sumLanes(lanes, LANES);
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
  private static void widenQ8(byte[] raw, int from, int blocks, float[] dst, int dstOffset) {
    for (int b = 0; b < blocks; b++) {
      int at = from + b * 34;
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
  private static void widenQ4(byte[] raw, int from, int blocks, float[] dst, int dstOffset) {
    for (int b = 0; b < blocks; b++) {
      int at = from + b * 18;
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
