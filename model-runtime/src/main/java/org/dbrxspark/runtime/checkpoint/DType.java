package org.dbrxspark.runtime.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Element types of checkpoint tensors, with conversions to and from float32: the three element
 * types of safetensors files and the block-quantized types of llama.cpp's GGUF files.
 *
 * <p>The enum constant names are the safetensors dtype names ({@code "BF16"}, {@code "F16"}, {@code
 * "F32"}) and ggml's type names ({@code Q8_0}, {@code Q4_0}). A block type stores a fixed number of
 * consecutive elements of a row in a fixed number of bytes (ggml's {@code block_q8_0} and {@code
 * block_q4_0}): a float16 scale {@code d}, then the codes. Q8_0 holds 32 int8 codes, {@code x = q *
 * d}; Q4_0 holds 32 four-bit codes, {@code x = (q - 8) * d}, element {@code j} in the low nibble of
 * byte {@code j} and element {@code j + 16} in its high nibble. The K-quants of Q4_K_M and Q5_K_M
 * files (Q4_K, Q5_K, Q6_K: super-blocks of 256) are laid out in {@link KQuants}.
 */
public enum DType {
  BF16(1, 2, "bfloat16", 30),
  F16(1, 2, "float16", 1),
  F32(1, 4, "float32", 0),
  Q8_0(32, 34, null, 8),
  Q4_0(32, 18, null, 2),
  Q4_K(KQuants.BLOCK_SIZE, KQuants.Q4_K_BYTES, null, 12),
  Q5_K(KQuants.BLOCK_SIZE, KQuants.Q5_K_BYTES, null, 13),
  Q6_K(KQuants.BLOCK_SIZE, KQuants.Q6_K_BYTES, null, 14);

  private final int blockSize;
  private final int blockBytes;
  private final String torchName;
  private final int ggmlType;

  DType(int blockSize, int blockBytes, String torchName, int ggmlType) {
    this.blockSize = blockSize;
    this.blockBytes = blockBytes;
    this.torchName = torchName;
    this.ggmlType = ggmlType;
  }

  /** Bytes per element of an element type (BF16, F16, F32). */
  public int byteSize() {
    if (isQuantized()) {
      throw new UnsupportedOperationException(
          this + " stores blocks of " + blockSize + " elements; use bytesFor");
    }
    return blockBytes;
  }

  /** Elements per block: 1 for element types. Rows of a block type hold whole blocks. */
  public int blockSize() {
    return blockSize;
  }

  /** Bytes per block. */
  public int blockBytes() {
    return blockBytes;
  }

  /** Whether elements are stored in quantized blocks of several elements. */
  public boolean isQuantized() {
    return blockSize > 1;
  }

  /** Bytes of {@code elements} elements, a multiple of {@link #blockSize()}. */
  public long bytesFor(long elements) {
    if (elements % blockSize != 0) {
      throw new IllegalArgumentException(
          elements + " elements are not whole " + this + " blocks of " + blockSize);
    }
    return Math.multiplyExact(elements / blockSize, (long) blockBytes);
  }

  /**
   * The name {@code config.json} uses for this type in {@code torch_dtype}; for block types, the
   * lower-case type name.
   */
  public String torchName() {
    return torchName != null ? torchName : name().toLowerCase(Locale.ROOT);
  }

  /** Parses a safetensors dtype name; the error names the file and tensor that used it. */
  static DType parse(String name, Path file, String tensor) throws CheckpointFormatException {
    for (DType t : values()) {
      if (!t.isQuantized() && t.name().equals(name)) {
        return t;
      }
    }
    throw new CheckpointFormatException(
        file
            + ": tensor '"
            + tensor
            + "': unsupported dtype '"
            + name
            + "' (supported: BF16, F16, F32)");
  }

  /** The type with ggml type id {@code id}, or {@code null} if the runtime does not read it. */
  static DType ofGgmlType(long id) {
    for (DType t : values()) {
      if (t.ggmlType == id) {
        return t;
      }
    }
    return null;
  }

  /** ggml's id of this type in GGUF tensor infos. */
  int ggmlType() {
    return ggmlType;
  }

  /**
   * Converts {@code count} elements stored from byte {@code srcOffset} of {@code src} into {@code
   * dst[dstOffset ..]}, with absolute little-endian reads. For block types, {@code count} is a
   * multiple of the block size and {@code srcOffset} the start of a block.
   */
  public void decode(ByteBuffer src, int srcOffset, float[] dst, int dstOffset, int count) {
    switch (this) {
      case F32 ->
          src.slice(srcOffset, 4 * count)
              .order(ByteOrder.LITTLE_ENDIAN)
              .asFloatBuffer()
              .get(dst, dstOffset, count);
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = bf16ToFloat(src.getShort(srcOffset + 2 * i));
        }
      }
      case F16 -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = f16ToFloat(src.getShort(srcOffset + 2 * i));
        }
      }
      case Q8_0 -> {
        for (int b = 0; b < count / 32; b++) {
          int at = srcOffset + b * 34;
          float d = f16ToFloat(src.getShort(at));
          int out = dstOffset + b * 32;
          for (int j = 0; j < 32; j++) {
            dst[out + j] = src.get(at + 2 + j) * d;
          }
        }
      }
      case Q4_0 -> {
        for (int b = 0; b < count / 32; b++) {
          int at = srcOffset + b * 18;
          float d = f16ToFloat(src.getShort(at));
          int out = dstOffset + b * 32;
          for (int j = 0; j < 16; j++) {
            int codes = src.get(at + 2 + j);
            dst[out + j] = ((codes & 0x0F) - 8) * d;
            dst[out + j + 16] = (((codes >> 4) & 0x0F) - 8) * d;
          }
        }
      }
      case Q4_K ->
          KQuants.dequantizeQ4K(src, srcOffset, dst, dstOffset, count / KQuants.BLOCK_SIZE);
      case Q5_K ->
          KQuants.dequantizeQ5K(src, srcOffset, dst, dstOffset, count / KQuants.BLOCK_SIZE);
      case Q6_K ->
          KQuants.dequantizeQ6K(src, srcOffset, dst, dstOffset, count / KQuants.BLOCK_SIZE);
    }
  }

  /**
   * Appends {@code values[offset, offset + count)}, rounded to this type, at the buffer's position
   * (a little-endian buffer). The block types quantize as ggml's reference quantizers do ({@link
   * BlockQuantizers}, {@link KQuantizers}).
   */
  void put(float[] values, int offset, int count, ByteBuffer dst) {
    int start = dst.position();
    switch (this) {
      case F32 -> dst.asFloatBuffer().put(values, offset, count);
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          dst.putShort(start + 2 * i, floatToBf16(values[offset + i]));
        }
      }
      case F16 -> {
        for (int i = 0; i < count; i++) {
          dst.putShort(start + 2 * i, floatToF16(values[offset + i]));
        }
      }
      case Q8_0 -> BlockQuantizers.quantizeQ8_0(values, offset, dst, start, count / blockSize);
      case Q4_0 -> BlockQuantizers.quantizeQ4_0(values, offset, dst, start, count / blockSize);
      case Q4_K -> KQuantizers.quantizeQ4K(values, offset, dst, start, count / blockSize);
      case Q5_K -> KQuantizers.quantizeQ5K(values, offset, dst, start, count / blockSize);
      case Q6_K -> KQuantizers.quantizeQ6K(values, offset, dst, start, count / blockSize);
    }
    dst.position(start + Math.toIntExact(bytesFor(count)));
  }

  /** Exact: a bfloat16 is the high half of a float32. */
  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat(bits << 16);
  }

  /** Rounds to the nearest bfloat16, ties to even; NaN stays NaN, overflow becomes infinity. */
  public static short floatToBf16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if ((bits & 0x7FFFFFFF) > 0x7F800000) {
      // Rounding a NaN whose payload sits only in the low half would turn it into infinity
      // (or, carrying, into the next exponent); set the quiet bit instead.
      return (short) ((bits >>> 16) | 0x0040);
    }
    // Adding 0x7FFF (0x8000 when the kept half is odd) carries into the kept half exactly when
    // the dropped half is above the midpoint, or at it with an odd kept half.
    return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
  }

  /** Exact conversion of an IEEE 754 half, including subnormals, infinities and NaN. */
  public static float f16ToFloat(short bits) {
    int sign = (bits & 0x8000) << 16;
    int exponent = (bits >>> 10) & 0x1F;
    int mantissa = bits & 0x3FF;
    if (exponent == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
    }
    if (exponent == 0) {
      // Zero or subnormal: mantissa x 2^-24, exact in float32.
      float magnitude = mantissa * 0x1p-24f;
      return sign == 0 ? magnitude : -magnitude;
    }
    // Rebias the exponent from 15 to 127.
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }

  /**
   * Rounds to the nearest IEEE 754 half, ties to even: magnitudes from 65520 up become infinity,
   * tiny values become subnormals or signed zero, NaN stays NaN.
   */
  public static short floatToF16(float value) {
    int bits = Float.floatToRawIntBits(value);
    int sign = (bits >>> 16) & 0x8000;
    int abs = bits & 0x7FFFFFFF;
    if (abs > 0x7F800000) {
      return (short) (sign | 0x7E00 | ((abs >>> 13) & 0x3FF)); // quiet NaN, top payload kept
    }
    if (abs >= 0x477FF000) {
      // 65520 is halfway between the largest half, 65504 (odd mantissa), and 65536: ties go up.
      return (short) (sign | 0x7C00);
    }
    if (abs < 0x38800000) {
      // Below 2^-14 the half is subnormal: count units of 2^-24. Scaling by a power of two is
      // exact, and rint rounds ties to even; 1024 units correctly encode as the smallest normal.
      return (short) (sign | (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p24));
    }
    int half = (((abs >>> 23) - 112) << 10) | ((abs >>> 13) & 0x3FF);
    int dropped = abs & 0x1FFF;
    if (dropped > 0x1000 || (dropped == 0x1000 && (half & 1) != 0)) {
      half++; // a carry out of the mantissa correctly bumps the exponent
    }
    return (short) (sign | half);
  }
}
