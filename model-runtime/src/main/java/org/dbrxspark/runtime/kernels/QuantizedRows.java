package org.dbrxspark.runtime.kernels;

import java.nio.ByteBuffer;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.dbrxspark.runtime.checkpoint.DType;

/**
 * Widens runs of Q8_0 and Q4_0 blocks to float32 with the Vector API: the codes of a block are
 * converted a float vector at a time and scaled by the block's f16 scale. Each weight is a small
 * integer times an f16, exact in float32, so the result equals {@link DType#decode} bit for bit.
 *
 * <p>The blocks are first copied from the mapped file into a per-thread array, for the same reason
 * as in {@link Bf16Pairs}: vector loads from a heap array are the fast ones.
 */
final class QuantizedRows {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final int LANES = F.length();
  /** Bytes with as many lanes as the float species: one load gives one float vector of codes. */
  private static final VectorSpecies<Byte> B =
      LANES >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8)) : null;

  private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[0]);

  private QuantizedRows() {}

  /** Whether {@code dtype} has a vector path here (Q8_0 and Q4_0 on 8- or 16-lane hardware). */
  static boolean handles(DType dtype) {
    return B != null && (dtype == DType.Q8_0 || dtype == DType.Q4_0) && 32 % LANES == 0;
  }

  /**
   * Widens {@code count} weights (whole blocks) stored from byte {@code byteOffset} of
   * {@code bytes} into {@code dst[dstOffset ..]}.
   */
  static void widen(DType dtype, ByteBuffer bytes, int byteOffset, int count, float[] dst, int dstOffset) {
    int blocks = count / 32;
    int length = blocks * dtype.blockBytes();
    byte[] raw = scratch(length);
    bytes.get(byteOffset, raw, 0, length);
    if (dtype == DType.Q8_0) {
      widenQ8(raw, blocks, dst, dstOffset);
    } else {
      widenQ4(raw, blocks, dst, dstOffset);
    }
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

  /** Q4_0: 2 bytes of scale, then 16 bytes whose low nibbles are elements 0-15 and high nibbles 16-31. */
  private static void widenQ4(byte[] raw, int blocks, float[] dst, int dstOffset) {
    for (int b = 0; b < blocks; b++) {
      int at = b * 18;
      float d = scale(raw, at);
      int out = dstOffset + b * 32;
      for (int j = 0; j < 16; j += LANES) {
        ByteVector packed = ByteVector.fromArray(B, raw, at + 2 + j);
        ByteVector low = packed.and((byte) 0x0F).sub((byte) 8);
        ByteVector high = packed.lanewise(VectorOperators.LSHR, 4).and((byte) 0x0F).sub((byte) 8);
        codes(low).mul(d).intoArray(dst, out + j);
        codes(high).mul(d).intoArray(dst, out + 16 + j);
      }
    }
  }

  private static FloatVector codes(ByteVector bytes) {
    return (FloatVector) bytes.convertShape(VectorOperators.B2F, F, 0);
  }

  private static float scale(byte[] raw, int at) {
    return DType.f16ToFloat((short) ((raw[at] & 0xFF) | raw[at + 1] << 8));
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
