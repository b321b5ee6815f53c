package org.dbrxspark.runtime.checkpoint;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Element types of safetensors tensors that the runtime reads, with conversions to and from
 * float32.
 *
 * <p>The enum constant names are the safetensors dtype names ({@code "BF16"}, {@code "F16"},
 * {@code "F32"}).
 */
public enum DType {
  BF16(2, "bfloat16"),
  F16(2, "float16"),
  F32(4, "float32");

  private final int byteSize;
  private final String torchName;

  DType(int byteSize, String torchName) {
    this.byteSize = byteSize;
    this.torchName = torchName;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** The name {@code config.json} uses for this type in {@code torch_dtype}. */
  public String torchName() {
    return torchName;
  }

  /** Parses a safetensors dtype name; the error names the file and tensor that used it. */
  static DType parse(String name, Path file, String tensor) throws CheckpointFormatException {
    for (DType t : values()) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    throw new CheckpointFormatException(file + ": tensor '" + tensor + "': unsupported dtype '" + name
        + "' (supported: BF16, F16, F32)");
  }

  /** Converts {@code count} little-endian elements starting at index 0 of {@code src}. */
  void toFloats(ByteBuffer src, float[] dst, int dstOffset, int count) {
    switch (this) {
      case F32:
        src.asFloatBuffer().get(dst, dstOffset, count);
        break;
      case BF16:
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = bf16ToFloat(src.getShort(2 * i));
        }
        break;
      case F16:
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = f16ToFloat(src.getShort(2 * i));
        }
        break;
      default:
        throw new AssertionError(this);
    }
  }

  /** Appends {@code values[0, count)}, rounded to this type, at the buffer's position. */
  void put(float[] values, int count, ByteBuffer dst) {
    int start = dst.position();
    switch (this) {
      case F32:
        dst.asFloatBuffer().put(values, 0, count);
        break;
      case BF16:
        for (int i = 0; i < count; i++) {
          dst.putShort(start + 2 * i, floatToBf16(values[i]));
        }
        break;
      case F16:
        for (int i = 0; i < count; i++) {
          dst.putShort(start + 2 * i, floatToF16(values[i]));
        }
        break;
      default:
        throw new AssertionError(this);
    }
    dst.position(start + count * byteSize);
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
