package org.dbrxspark.runtime.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Decodes ggml's K-quant super-blocks (as in llama.cpp's Q4_K_M / Q5_K_M GGUF files) to float32.
 * Each super-block holds 256 weights; f16 fields are little-endian.
 *
 * <ul>
 *   <li>Q4_K, 144 bytes: f16 {@code d}, f16 {@code dmin}, 12 bytes of eight 6-bit sub-block scales
 *       and eight 6-bit mins, 128 bytes of 4-bit quants. Sub-block j (32 weights) is {@code
 *       d*scale_j * q - dmin*min_j}.
 *   <li>Q5_K, 176 bytes: as Q4_K, with 32 bytes {@code qh} between the scales and the quants; bit j
 *       of {@code qh[l]} is the fifth bit of weight l of sub-block j.
 *   <li>Q6_K, 210 bytes: 128 bytes low 4 bits {@code ql}, 64 bytes high 2 bits {@code qh}, sixteen
 *       int8 scales (one per 16 weights), f16 {@code d}; a weight is {@code d*scale * (q - 32)}.
 * </ul>
 *
 * <p>The arithmetic follows ggml's {@code dequantize_row_q4_K/q5_K/q6_K} operation by operation in
 * float32. Every product is exact (an f16 has 11 significant bits, a scale at most 7, a quant at
 * most 5), so only Q4_K/Q5_K's final subtraction rounds, and results equal ggml's bit for bit
 * whether or not its build fuses multiply-adds.
 */
final class KQuants {
  static final int BLOCK_SIZE = 256;
  static final int Q4_K_BYTES = 144;
  static final int Q5_K_BYTES = 176;
  static final int Q6_K_BYTES = 210;

  private KQuants() {}

  static void dequantizeQ4K(ByteBuffer src, int srcOffset, float[] dst, int dstOffset, int blocks) {
    ByteBuffer le = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    byte[] scales = new byte[12];
    for (int b = 0; b < blocks; b++) {
      int base = srcOffset + b * Q4_K_BYTES;
      float d = DType.f16ToFloat(le.getShort(base));
      float dmin = DType.f16ToFloat(le.getShort(base + 2));
      le.get(base + 4, scales);
      int qs = base + 16;
      int out = dstOffset + b * BLOCK_SIZE;
      // Sub-blocks 2k (low nibbles) and 2k+1 (high nibbles) share the 32 bytes qs[32k..32k+31].
      for (int k = 0; k < 4; k++) {
        float d1 = d * KQuantScales.scale(scales, 0, 2 * k);
        float m1 = dmin * KQuantScales.min(scales, 0, 2 * k);
        float d2 = d * KQuantScales.scale(scales, 0, 2 * k + 1);
        float m2 = dmin * KQuantScales.min(scales, 0, 2 * k + 1);
        for (int l = 0; l < 32; l++) {
          int q = le.get(qs + 32 * k + l) & 0xFF;
          dst[out + 64 * k + l] = d1 * (q & 0xF) - m1;
          dst[out + 64 * k + 32 + l] = d2 * (q >>> 4) - m2;
        }
      }
    }
  }

  static void dequantizeQ5K(ByteBuffer src, int srcOffset, float[] dst, int dstOffset, int blocks) {
    ByteBuffer le = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    byte[] scales = new byte[12];
    for (int b = 0; b < blocks; b++) {
      int base = srcOffset + b * Q5_K_BYTES;
      float d = DType.f16ToFloat(le.getShort(base));
      float dmin = DType.f16ToFloat(le.getShort(base + 2));
      le.get(base + 4, scales);
      int qh = base + 16;
      int qs = base + 48;
      int out = dstOffset + b * BLOCK_SIZE;
      for (int k = 0; k < 4; k++) {
        int j1 = 2 * k;
        int j2 = 2 * k + 1;
        float d1 = d * KQuantScales.scale(scales, 0, j1);
        float m1 = dmin * KQuantScales.min(scales, 0, j1);
        float d2 = d * KQuantScales.scale(scales, 0, j2);
        float m2 = dmin * KQuantScales.min(scales, 0, j2);
        for (int l = 0; l < 32; l++) {
          int q = le.get(qs + 32 * k + l) & 0xFF;
          int h = le.get(qh + l) & 0xFF;
          dst[out + 64 * k + l] = d1 * ((q & 0xF) | ((h >>> j1) & 1) << 4) - m1;
          dst[out + 64 * k + 32 + l] = d2 * ((q >>> 4) | ((h >>> j2) & 1) << 4) - m2;
        }
      }
    }
  }

  static void dequantizeQ6K(ByteBuffer src, int srcOffset, float[] dst, int dstOffset, int blocks) {
    ByteBuffer le = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    for (int b = 0; b < blocks; b++) {
      int base = srcOffset + b * Q6_K_BYTES;
      float d = DType.f16ToFloat(le.getShort(base + 208));
      // Each half of 128 weights uses 64 bytes of ql, 32 of qh and 8 scales: byte l of its ql
      // gives weights l (low nibble) and l+64 (high), byte l+32 gives l+32 and l+96, and qh[l]
      // holds the top two bits of those four, in that order from its low bits.
      for (int half = 0; half < 2; half++) {
        int ql = base + 64 * half;
        int qh = base + 128 + 32 * half;
        int sc = base + 192 + 8 * half;
        int out = dstOffset + b * BLOCK_SIZE + 128 * half;
        for (int l = 0; l < 32; l++) {
          int lo = le.get(ql + l) & 0xFF;
          int hi = le.get(ql + 32 + l) & 0xFF;
          int h = le.get(qh + l) & 0xFF;
          int s = l / 16;
          dst[out + l] = d * le.get(sc + s) * (((lo & 0xF) | (h & 3) << 4) - 32);
          dst[out + 32 + l] = d * le.get(sc + s + 2) * (((hi & 0xF) | ((h >>> 2) & 3) << 4) - 32);
          dst[out + 64 + l] = d * le.get(sc + s + 4) * ((lo >>> 4 | ((h >>> 4) & 3) << 4) - 32);
          dst[out + 96 + l] = d * le.get(sc + s + 6) * ((hi >>> 4 | (h >>> 6) << 4) - 32);
        }
      }
    }
  }
}
