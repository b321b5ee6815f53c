package org.dbrxspark.runtime.kernels;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.backend.KvStorage;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * KV blocks off the Java heap, one direct buffer each (so no buffer nears the 2 GiB limit),
 * allocated when first handed out and then reused. A block is laid out {@code
 * [layer][K|V][kvHead][slot][headDim]}, so one head's keys (or values) for the whole block are
 * contiguous: attention widens them to f32 in one bulk read.
 *
 * <p>Reads and writes of distinct blocks may run concurrently; growing is synchronized.
 */
final class CpuKvStorage implements KvStorage {
  static final int KEYS = 0;
  static final int VALUES = 1;

  private static final VectorSpecies<Integer> I = KernelShape.INTS;

  /** As many shorts as {@link #I} has ints. */
  private static final VectorSpecies<Short> S =
      VectorSpecies.of(short.class, VectorShape.forBitSize(I.vectorBitSize() / 2));

  private final KvDType dtype;
  private final int kvHeads;
  private final int headDim;
  private final int blockElements;

  /** Typed views of the blocks allocated so far, by id; replaced (not mutated) when it grows. */
  private volatile Buffer[] views = new Buffer[0];

  CpuKvStorage(DbrxConfig config, KvDType dtype) {
    this.dtype = dtype;
    this.kvHeads = config.kvNHeads();
    this.headDim = config.headDim();
    long elements = (long) BLOCK_TOKENS * config.nLayers() * 2 * kvHeads * headDim;
    if (elements * dtype.bytes() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "a KV block of " + BLOCK_TOKENS + " positions would exceed 2 GiB");
    }
    this.blockElements = (int) elements;
  }

  int kvHeads() {
    return kvHeads;
  }

  @Override
  public KvDType dtype() {
    return dtype;
  }

  @Override
  public long blockBytes() {
    return (long) blockElements * dtype.bytes();
  }

  @Override
  public synchronized void ensureBlocks(int count) {
    Buffer[] current = views;
    if (count <= current.length) {
      return;
    }
    Buffer[] grown = Arrays.copyOf(current, count);
    for (int id = current.length; id < count; id++) {
      ByteBuffer block =
          ByteBuffer.allocateDirect(blockElements * dtype.bytes()).order(ByteOrder.nativeOrder());
      grown[id] = dtype == KvDType.F32 ? block.asFloatBuffer() : block.asShortBuffer();
    }
    views = grown;
  }

  @Override
  public void copyBlock(int from, int to) {
    Buffer[] current = views;
    if (current[to] instanceof FloatBuffer floats) {
      floats.put(0, (FloatBuffer) current[from], 0, blockElements);
    } else {
      ((ShortBuffer) current[to]).put(0, (ShortBuffer) current[from], 0, blockElements);
    }
  }

  /**
   * Stores one position's keys or values, all heads ({@code kvHeads x headDim} floats from {@code
   * src[off]}).
   */
  void write(int block, int layer, int kind, int slot, float[] src, int off) {
    Buffer view = views[block];
    for (int h = 0; h < kvHeads; h++) {
      int at = offset(layer, kind, h) + slot * headDim;
      int from = off + h * headDim;
      if (view instanceof FloatBuffer floats) {
        floats.put(at, src, from, headDim);
      } else {
        ShortBuffer shorts = (ShortBuffer) view;
        for (int i = 0; i < headDim; i++) {
          shorts.put(at + i, narrow(dtype, src[from + i]));
        }
      }
    }
  }

  /**
   * Widens the first {@code slots} positions of one head's keys or values into {@code dst[0, slots
   * x headDim)}.
   */
  void read(int block, int layer, int kind, int head, int slots, float[] dst) {
    Buffer view = views[block];
    int at = offset(layer, kind, head);
    int count = slots * headDim;
    if (view instanceof FloatBuffer floats) {
      floats.get(at, dst, 0, count);
    } else {
      short[] bits = new short[count];
      ((ShortBuffer) view).get(at, bits, 0, count);
      widen(dtype, bits, dst, count);
    }
  }

  private int offset(int layer, int kind, int head) {
    return ((layer * 2 + kind) * kvHeads + head) * BLOCK_TOKENS * headDim;
  }

  /** The 16-bit encoding of {@code value}, rounded to nearest even (f16 and bf16 only). */
  static short narrow(KvDType dtype, float value) {
    return dtype == KvDType.F16 ? DType.floatToF16(value) : DType.floatToBf16(value);
  }

  /**
   * The values of 16-bit encodings {@code src[0, count)} into {@code dst}, a vector at a time:
   * attention widens every cached element it reads, which element by element costs ~10x an f32
   * copy. Exact.
   */
  static void widen(KvDType dtype, short[] src, float[] dst, int count) {
    int i = 0;
    for (int bound = S.loopBound(count); i < bound; i += S.length()) {
      IntVector bits =
          ((IntVector) ShortVector.fromArray(S, src, i).convertShape(VectorOperators.S2I, I, 0))
              .and(0xFFFF);
      IntVector floatBits;
      if (dtype == KvDType.BF16) {
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
      dst[i] = widen(dtype, src[i]);
    }
  }

  /** The value of a 16-bit encoding (f16 and bf16 only); exact. */
  static float widen(KvDType dtype, short bits) {
    return dtype == KvDType.F16 ? DType.f16ToFloat(bits) : DType.bf16ToFloat(bits);
  }
}
