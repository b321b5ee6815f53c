package org.dbrxspark.runtime.checkpoint;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.function.BiConsumer;

/**
 * Quantizes float32 to ggml's K-quant super-blocks of 256 weights (layouts in {@link KQuants}) as
 * ggml's reference quantizers {@code quantize_row_q4_K_ref}, {@code quantize_row_q5_K_ref} and
 * {@code quantize_row_q6_K_ref} do: what llama.cpp's {@code llama-quantize} writes when it is given
 * no importance matrix.
 *
 * <ul>
 *   <li>Q4_K and Q5_K: each sub-block of 32 weights is fitted as {@code x ~ scale*q - min}, q in
 *       [0, 15] or [0, 31], by ggml's {@code make_qkx2_quants}: a search over a few candidate
 *       scales for the least weighted squared error. The eight scales and mins are then quantized
 *       to 6 bits against the largest of each (stored as f16 {@code d} and {@code dmin}), and the
 *       codes recomputed against the quantized values.
 *   <li>Q6_K: each sub-block of 16 is fitted as {@code x ~ scale*q}, q in [-32, 31], by ggml's
 *       {@code make_qx_quants} (19 candidate scales around {@code -32/max}, errors weighted by x
 *       squared); the sixteen scales are quantized to int8 against the largest in magnitude.
 * </ul>
 *
 * <p>Every float32 operation is ggml's, in ggml's order, so the bytes equal those of ggml built
 * without fused multiply-add: gcc's x86-64 baseline, or any target with {@code -ffp-contract=off}.
 * Built with FMA and gcc's default contraction, ggml fuses sums such as {@code sum += w*x*l} and
 * {@code D = a*b - c*d}, which rounds the least-error search differently: one of the 31 reference
 * Q4_K blocks then differs, its scale included. Java never fuses, so it matches the unfused build.
 */
final class KQuantizers {
  private KQuantizers() {}

  /** ggml's {@code GROUP_MAX_EPS}: a group whose largest magnitude is below it is all zero. */
  private static final float GROUP_MAX_EPS = 1e-15f;

  static void quantizeQ4K(float[] src, int srcOffset, ByteBuffer dst, int dstOffset, int blocks) {
    new ScaleMinFit(15, -1f, 20)
        .quantize(src, srcOffset, dst, dstOffset, blocks, KQuants.Q4_K_BYTES, KQuantizers::packQ4K);
  }

  static void quantizeQ5K(float[] src, int srcOffset, ByteBuffer dst, int dstOffset, int blocks) {
    new ScaleMinFit(31, -0.5f, 15)
        .quantize(src, srcOffset, dst, dstOffset, blocks, KQuants.Q5_K_BYTES, KQuantizers::packQ5K);
  }

  /** Sub-blocks 2k and 2k+1 share the 32 bytes from 16 + 32k: low nibble, then high. */
  private static void packQ4K(int[] q, byte[] block) {
    for (int k = 0; k < 4; k++) {
      for (int l = 0; l < 32; l++) {
        block[16 + 32 * k + l] = (byte) (q[64 * k + l] | q[64 * k + 32 + l] << 4);
      }
    }
  }

  /**
   * As Q4_K from byte 48, with each code's fifth bit in {@code qh[l]} (bytes 16-47): bit j for
   * weight l of sub-block j.
   */
  private static void packQ5K(int[] q, byte[] block) {
    for (int l = 0; l < 32; l++) {
      int qh = 0;
      for (int k = 0; k < 4; k++) {
        int lo = q[64 * k + l];
        int hi = q[64 * k + 32 + l];
        qh |= (lo >> 4) << (2 * k) | (hi >> 4) << (2 * k + 1);
        block[48 + 32 * k + l] = (byte) ((lo & 0xF) | (hi & 0xF) << 4);
      }
      block[16 + l] = (byte) qh;
    }
  }

  static void quantizeQ6K(float[] src, int srcOffset, ByteBuffer dst, int dstOffset, int blocks) {
    byte[] block = new byte[KQuants.Q6_K_BYTES];
    int[] q = new int[KQuants.BLOCK_SIZE];
    float[] scales = new float[16];
    for (int b = 0; b < blocks; b++) {
      int in = srcOffset + b * KQuants.BLOCK_SIZE;
      float maxScale = 0;
      float maxAbsScale = 0;
      for (int j = 0; j < 16; j++) {
        scales[j] = makeQxQuants(src, in + 16 * j, q, 16 * j);
        if (Math.abs(scales[j]) > maxAbsScale) {
          maxAbsScale = Math.abs(scales[j]);
          maxScale = scales[j];
        }
      }
      Arrays.fill(block, (byte) 0);
      if (maxAbsScale >= GROUP_MAX_EPS) {
        float iscale = -128f / maxScale;
        short d16 = DType.floatToF16(1 / iscale);
        float d = DType.f16ToFloat(d16);
        block[208] = (byte) d16;
        block[209] = (byte) (d16 >> 8);
        for (int j = 0; j < 16; j++) {
          // ggml stores min(127, q) in an int8_t, which wraps; the wrapped value is the scale used.
          byte sc = (byte) Math.min(127, nearestInt(iscale * scales[j]));
          block[192 + j] = sc;
          float dj = d * sc;
          // A scale quantized to 0 keeps make_qx_quants' codes, as in ggml.
          if (dj == 0) {
            continue;
          }
          for (int i = 16 * j; i < 16 * j + 16; i++) {
            q[i] = clamp(nearestInt(src[in + i] / dj), -32, 31) + 32;
          }
        }
        packQ6K(q, block);
      }
      dst.put(dstOffset + b * KQuants.Q6_K_BYTES, block);
    }
  }

  /**
   * Each half of 128 codes: byte l of its 64 {@code ql} bytes holds codes l (low nibble) and l+64,
   * byte l+32 codes l+32 and l+96; {@code qh[l]} their top two bits in that order.
   */
  private static void packQ6K(int[] q, byte[] block) {
    for (int half = 0; half < 2; half++) {
      int j = 128 * half;
      for (int l = 0; l < 32; l++) {
        int q1 = q[j + l];
        int q2 = q[j + l + 32];
        int q3 = q[j + l + 64];
        int q4 = q[j + l + 96];
        block[64 * half + l] = (byte) ((q1 & 0xF) | (q3 & 0xF) << 4);
        block[64 * half + l + 32] = (byte) ((q2 & 0xF) | (q4 & 0xF) << 4);
        block[128 + 32 * half + l] =
            (byte) (q1 >> 4 | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
      }
    }
  }

  /**
   * ggml's {@code make_qx_quants} for 16 weights with {@code nmax} 32 and {@code rmse_type} 1
   * (errors weighted by x squared, no importance weights), as Q6_K calls it: codes {@code l + 32}
   * into {@code q[out ..]}, and the scale (of the sign that maps the largest magnitude to -32).
   */
  private static float makeQxQuants(float[] x, int at, int[] q, int out) {
    float max = 0;
    float amax = 0;
    for (int i = 0; i < 16; i++) {
      float ax = Math.abs(x[at + i]);
      if (ax > amax) {
        amax = ax;
        max = x[at + i];
      }
    }
    if (amax < GROUP_MAX_EPS) {
      Arrays.fill(q, out, out + 16, 0);
      return 0f;
    }
    float iscale = -32 / max;
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < 16; i++) {
      float xi = x[at + i];
      int l = clamp(nearestInt(iscale * xi), -32, 31);
      q[out + i] = l + 32;
      float w = xi * xi;
      sumlx += w * xi * l;
      suml2 += w * l * l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
      if (is == 0) {
        continue;
      }
      iscale = -(32 + 0.1f * is) / max;
      sumlx = 0;
      suml2 = 0;
      for (int i = 0; i < 16; i++) {
        float xi = x[at + i];
        int l = clamp(nearestInt(iscale * xi), -32, 31);
        float w = xi * xi;
        sumlx += w * xi * l;
        suml2 += w * l * l;
      }
      if (suml2 > 0 && sumlx * sumlx > best * suml2) {
        for (int i = 0; i < 16; i++) {
          q[out + i] = clamp(nearestInt(iscale * x[at + i]), -32, 31) + 32;
        }
        scale = sumlx / suml2;
        best = scale * sumlx;
      }
    }
    return scale;
  }

  /**
   * The part Q4_K and Q5_K share: per sub-block of 32 a scale and a min, quantized to 6 bits, and
   * codes in [0, nmax]. Its ggml parameters: nmax 15, rmin -1, 20 steps (Q4_K); 31, -0.5, 15
   * (Q5_K).
   */
  private static final class ScaleMinFit {
    private final int[] codes = new int[KQuants.BLOCK_SIZE];
    private final int nmax;
    private final float rmin;
    private final int nstep;
    private final float[] scales = new float[8];
    private final float[] mins = new float[8];
    private final float[] weights = new float[32];
    private final int[] aux = new int[32];

    ScaleMinFit(int nmax, float rmin, int nstep) {
      this.nmax = nmax;
      this.rmin = rmin;
      this.nstep = nstep;
    }

    void quantize(
        float[] src,
        int srcOffset,
        ByteBuffer dst,
        int dstOffset,
        int blocks,
        int blockBytes,
        BiConsumer<int[], byte[]> packCodes) {
      byte[] block = new byte[blockBytes];
      for (int b = 0; b < blocks; b++) {
        fitBlock(src, srcOffset + b * KQuants.BLOCK_SIZE, block);
        packCodes.accept(codes, block);
        dst.put(dstOffset + b * blockBytes, block);
      }
    }

    /**
     * Writes bytes 0-15 of the block ({@code d}, {@code dmin}, the packed scales and mins); fills
     * {@link #codes}.
     */
    private void fitBlock(float[] x, int in, byte[] block) {
      float maxScale = 0;
      float maxMin = 0;
      for (int j = 0; j < 8; j++) {
        int at = in + 32 * j;
        float sumX2 = 0;
        for (int l = 0; l < 32; l++) {
          sumX2 += x[at + l] * x[at + l];
        }
        // Float sqrt rounded once, as sqrtf.
        float avX = (float) Math.sqrt(sumX2 / 32);
        for (int l = 0; l < 32; l++) {
          weights[l] = avX + Math.abs(x[at + l]);
        }
        fit(x, at, 32 * j, j);
        // Not Math.max: ggml's comparison keeps the earlier value for NaN and signed zeros.
        if (scales[j] > maxScale) {
          maxScale = scales[j];
        }
        if (mins[j] > maxMin) {
          maxMin = mins[j];
        }
      }
      float invScale = maxScale > 0 ? 63f / maxScale : 0f;
      float invMin = maxMin > 0 ? 63f / maxMin : 0f;
      short d16 = DType.floatToF16(maxScale / 63f);
      short dmin16 = DType.floatToF16(maxMin / 63f);
      block[0] = (byte) d16;
      block[1] = (byte) (d16 >> 8);
      block[2] = (byte) dmin16;
      block[3] = (byte) (dmin16 >> 8);
      float d = DType.f16ToFloat(d16);
      float dmin = DType.f16ToFloat(dmin16);
      for (int j = 0; j < 8; j++) {
        // ggml keeps these in a uint8_t before capping at 63.
        int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF);
        int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
        // The 12 bytes of KQuants' 6-bit layout: j < 4 in the low 6 bits of bytes j (scale) and
        // j+4 (min); j >= 4 in the nibbles of byte j+4, with the top two bits in bytes j-4 and j.
        if (j < 4) {
          block[4 + j] = (byte) ls;
          block[8 + j] = (byte) lm;
        } else {
          block[8 + j] = (byte) ((ls & 0xF) | (lm & 0xF) << 4);
          block[j] |= (byte) ((ls >> 4) << 6);
          block[4 + j] |= (byte) ((lm >> 4) << 6);
        }
        float dj = d * ls;
        // A scale quantized to 0 keeps make_qkx2_quants' codes, as in ggml.
        if (dj == 0) {
          continue;
        }
        float dm = dmin * lm;
        for (int i = 32 * j; i < 32 * j + 32; i++) {
          codes[i] = clamp(nearestInt((x[in + i] + dm) / dj), 0, nmax);
        }
      }
    }

    /**
     * ggml's {@code make_qkx2_quants} for the 32 weights from {@code at}, with rdelta 0.1 and
     * squared errors ({@code use_mad} false): candidate inverse scales {@code (nmax + rmin +
     * 0.1*is)/(max - min)}, each refined by the weighted least-squares scale and min of its codes,
     * the least error kept. Sets {@code scales[j]}, {@code mins[j]} (the min negated, at least 0)
     * and {@code codes[out ..]}.
     */
    private void fit(float[] x, int at, int out, int j) {
      float min = x[at];
      float max = x[at];
      float sumW = weights[0];
      float sumX = sumW * x[at];
      for (int i = 1; i < 32; i++) {
        float xi = x[at + i];
        if (xi < min) {
          min = xi;
        }
        if (xi > max) {
          max = xi;
        }
        sumW += weights[i];
        sumX += weights[i] * xi;
      }
      if (min > 0) {
        min = 0;
      }
      if (max == min) {
        Arrays.fill(codes, out, out + 32, 0);
        scales[j] = 0;
        mins[j] = -min;
        return;
      }
      float iscale = nmax / (max - min);
      float scale = 1 / iscale;
      float bestError = 0;
      for (int i = 0; i < 32; i++) {
        int l = clamp(nearestInt(iscale * (x[at + i] - min)), 0, nmax);
        codes[out + i] = l;
        float diff = scale * l + min - x[at + i];
        bestError += weights[i] * (diff * diff);
      }
      for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + 0.1f * is + nmax) / (max - min);
        float sumL = 0;
        float sumL2 = 0;
        float sumXL = 0;
        for (int i = 0; i < 32; i++) {
          int l = clamp(nearestInt(iscale * (x[at + i] - min)), 0, nmax);
          aux[i] = l;
          float w = weights[i];
          sumL += w * l;
          sumL2 += w * l * l;
          sumXL += w * l * x[at + i];
        }
        float det = sumW * sumL2 - sumL * sumL;
        if (det > 0) {
          float thisScale = (sumW * sumXL - sumX * sumL) / det;
          float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
          if (thisMin > 0) {
            thisMin = 0;
            thisScale = sumXL / sumL2;
          }
          float error = 0;
          for (int i = 0; i < 32; i++) {
            float diff = thisScale * aux[i] + thisMin - x[at + i];
            error += weights[i] * (diff * diff);
          }
          if (error < bestError) {
            System.arraycopy(aux, 0, codes, out, 32);
            bestError = error;
            scale = thisScale;
            min = thisMin;
          }
        }
      }
      scales[j] = scale;
      mins[j] = -min;
    }
  }

  /**
   * ggml's {@code nearest_int}: adding 1.5 * 2^23 leaves the value rounded to an integer (ties to
   * even) in the low mantissa bits. Exact for |v| < 2^22; beyond, it returns the same bits as ggml.
   */
  private static int nearestInt(float v) {
    return (Float.floatToRawIntBits(v + 12582912f) & 0x007FFFFF) - 0x00400000;
  }

  private static int clamp(int v, int lo, int hi) {
    return Math.max(lo, Math.min(hi, v));
  }
}
