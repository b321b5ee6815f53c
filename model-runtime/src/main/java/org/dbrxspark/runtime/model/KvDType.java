package org.dbrxspark.runtime.model;

import java.util.Locale;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.dbrxspark.runtime.checkpoint.DType;

/**
 * How the KV cache stores keys and values. Attention always widens them back to f32; f16 and bf16
 * halve the cache at the cost of rounding each stored element (relative error 2^-11 and 2^-8).
 */
public enum KvDType {
  F32(4),
  F16(2),
  BF16(2);

  private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
  /** As many shorts as {@link #I} has ints. */
  private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(I.vectorBitSize() / 2));

  private final int bytes;

  KvDType(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per stored element. */
  public int bytes() {
    return bytes;
  }

  /** The name the command line uses: {@code f32}, {@code f16} or {@code bf16}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a {@link #label()}. */
  public static KvDType parse(String label) {
    for (KvDType t : values()) {
      if (t.label().equals(label)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown KV cache dtype '" + label + "' (known: f32, f16, bf16)");
  }

  /** The 16-bit encoding of {@code value}, rounded to nearest even (f16 and bf16 only). */
  short narrow(float value) {
    return this == F16 ? DType.floatToF16(value) : DType.floatToBf16(value);
  }

  /** The value of a 16-bit encoding (f16 and bf16 only); exact. */
  float widen(short bits) {
    return this == F16 ? DType.f16ToFloat(bits) : DType.bf16ToFloat(bits);
  }

  /**
   * {@link #widen} of {@code src[0, count)} into {@code dst}, a vector at a time: attention widens
   * every cached element it reads, which element by element costs ~10x an f32 copy.
   */
  void widen(short[] src, float[] dst, int count) {
    int i = 0;
    for (int bound = S.loopBound(count); i < bound; i += S.length()) {
      IntVector bits = ((IntVector) ShortVector.fromArray(S, src, i).convertShape(VectorOperators.S2I, I, 0)).and(0xFFFF);
      IntVector floatBits;
      if (this == BF16) {
        floatBits = bits.lanewise(VectorOperators.LSHL, 16);
      } else {
        // Exponent and mantissa moved into float position make the value times 2^-112, exactly,
        // for normal and subnormal halves alike; infinities and NaNs take the all-ones exponent.
        IntVector magnitude = bits.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
        magnitude = magnitude.lanewise(VectorOperators.OR, 0x7F800000, bits.and(0x7C00).eq(0x7C00));
        IntVector sign = bits.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        floatBits = magnitude.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts().or(sign);
      }
      floatBits.reinterpretAsFloats().intoArray(dst, i);
    }
    for (; i < count; i++) {
      dst[i] = widen(src[i]);
    }
  }
}
