package org.dbrxspark.runtime.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Quantizes float32 to ggml's Q8_0 and Q4_0 blocks of 32 weights, as ggml's reference quantizers
 * {@code quantize_row_q8_0_ref} and {@code quantize_row_q4_0_ref} do.
 *
 * <ul>
 *   <li>Q8_0, 34 bytes: f16 {@code d}, then 32 int8 {@code q}; a weight is {@code q*d}.
 *   <li>Q4_0, 18 bytes: f16 {@code d}, then 16 bytes whose low nibble is weight j and high nibble
 *       weight j+16; a weight is {@code (q - 8)*d}.
 * </ul>
 *
 * <p>Arithmetic is ggml's, in float32 and in the same order, with the unrounded float32 scale used
 * to quantize and its f16 rounding stored. ggml's Q4_0 result can depend on its build: compiled
 * with fused multiply-add, {@code x*id + 8.5} is rounded once, and a product within float32
 * rounding of a half step can then land on the other side. This class, like strict IEEE C and
 * gguf-py, rounds the product first.
 */
final class BlockQuantizers {
  static final int BLOCK_SIZE = 32;
  static final int Q8_0_BYTES = 34;
  static final int Q4_0_BYTES = 18;

  private BlockQuantizers() {}

  /** {@code d = amax/127}; {@code q = roundf(x/d)}, computed as {@code x * (1/d)}. */
  static void quantizeQ8_0(float[] src, int srcOffset, ByteBuffer dst, int dstOffset, int blocks) {
    ByteBuffer le = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    for (int b = 0; b < blocks; b++) {
      int in = srcOffset + b * BLOCK_SIZE;
      int out = dstOffset + b * Q8_0_BYTES;
      float amax = 0f;
      for (int j = 0; j < BLOCK_SIZE; j++) {
        amax = Math.max(amax, Math.abs(src[in + j]));
      }
      float d = amax / 127;
      float id = d != 0 ? 1f / d : 0f;
      le.putShort(out, DType.floatToF16(d));
      for (int j = 0; j < BLOCK_SIZE; j++) {
        le.put(out + 2 + j, (byte) roundHalfAwayFromZero(src[in + j] * id));
      }
    }
  }

  /**
   * {@code d = max/-8}, where {@code max} is the first weight of largest magnitude, so that weight
   * maps to q = 0; {@code q = min(15, trunc(x*(1/d) + 8.5))}.
   */
  static void quantizeQ4_0(float[] src, int srcOffset, ByteBuffer dst, int dstOffset, int blocks) {
    ByteBuffer le = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    for (int b = 0; b < blocks; b++) {
      int in = srcOffset + b * BLOCK_SIZE;
      int out = dstOffset + b * Q4_0_BYTES;
      float amax = 0f;
      float max = 0f;
      for (int j = 0; j < BLOCK_SIZE; j++) {
        float v = src[in + j];
        if (amax < Math.abs(v)) {
          amax = Math.abs(v);
          max = v;
        }
      }
      float d = max / -8;
      float id = d != 0 ? 1f / d : 0f;
      le.putShort(out, DType.floatToF16(d));
      for (int j = 0; j < BLOCK_SIZE / 2; j++) {
        // x*id lies in [-8, 8] up to rounding, so the sum is positive and (int) truncates as
        // ggml's (int8_t) cast does.
        int lo = Math.min(15, (int) (src[in + j] * id + 8.5f));
        int hi = Math.min(15, (int) (src[in + BLOCK_SIZE / 2 + j] * id + 8.5f));
        le.put(out + 2 + j, (byte) (lo | hi << 4));
      }
    }
  }

  /** C's roundf; |v| is at most about 127 here, so adding 0.5 in double is exact. */
  private static int roundHalfAwayFromZero(float v) {
    return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
  }
}
