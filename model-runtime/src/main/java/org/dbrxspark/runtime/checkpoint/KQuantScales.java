package org.dbrxspark.runtime.checkpoint;

/**
 * The 6-bit scales and mins of the eight sub-blocks of a Q4_K or Q5_K block, packed in 12 bytes
 * (ggml-common.h): the scalar decode ({@code KQuants}) and the CPU kernels read them the same way.
 */
public final class KQuantScales {
  private KQuantScales() {}

  /**
   * The scale of sub-block j from the 12 bytes at {@code at}: for j < 4 the low 6 bits of byte j;
   * otherwise the low nibble of byte j+4, topped by the two high bits of byte j-4.
   */
  public static int scale(byte[] packed, int at, int j) {
    return j < 4
        ? packed[at + j] & 63
        : (packed[at + j + 4] & 0xF) | ((packed[at + j - 4] & 0xFF) >>> 6) << 4;
  }

  /**
   * Every sub-block's scale and min, into {@code scales[0 .. 7]} and {@code mins[0 .. 7]}: one call
   * per block for the kernels, whose callers can grow too large for C2 to inline sixteen.
   */
  public static void unpack(byte[] packed, int at, int[] scales, int[] mins) {
    for (int j = 0; j < 8; j++) {
      scales[j] = scale(packed, at, j);
      mins[j] = min(packed, at, j);
    }
  }

  /**
   * The min of sub-block j: for j < 4 the low 6 bits of byte j+4; otherwise the high nibble of byte
   * j+4, topped by the two high bits of byte j.
   */
  public static int min(byte[] packed, int at, int j) {
    return j < 4
        ? packed[at + j + 4] & 63
        : ((packed[at + j + 4] & 0xFF) >>> 4) | ((packed[at + j] & 0xFF) >>> 6) << 4;
  }
}
