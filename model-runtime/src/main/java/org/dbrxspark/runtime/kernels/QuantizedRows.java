package org.dbrxspark.runtime.kernels;

import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.B2I;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.XOR;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.checkpoint.KQuantScales;

/**
 * Block-quantized weights with the Vector API: rows widened to float32 (embedding lookups, the
 * input-major form, and the tiles of {@link QuantizedTiles}), and the nn.Linear form for a single
 * token computed on the blocks of every type. A widened weight is a small integer times an f16,
 * exact in float32, so widening equals {@link DType#decode} bit for bit.
 *
 * <p>The blocks are first copied from the mapped file into a per-thread array, for the same reason
 * as in {@link Bf16PairKernels}: vector loads from a heap array are the fast ones.
 *
 * <p>The loops call no method of this class that takes or returns a vector (the conversions are
 * written out at each use), and a block's widening makes a few calls, not one per sub-block. C2
 * inlines the JDK's vector methods into a method however large it has grown, but stops inlining
 * ours once it is large ({@code NodeCountInliningCutoff}), and a vector passed to a call not
 * inlined is boxed on the heap. {@link QuantizedTiles#dotRows} inlines the widening, and with a
 * helper for the codes a Q4_K_M model decoded batches at half speed in some processes (the AVX2
 * host, 6 of 18).
 */
final class QuantizedRows {
  private static final VectorSpecies<Float> F = KernelShape.FLOATS;
  private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
  private static final int LANES = F.length();

  /** Bytes with as many lanes as the float species: one load gives one float vector of codes. */
  private static final VectorSpecies<Byte> B =
      LANES >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8)) : null;

  private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[0]);

  private QuantizedRows() {}

  /**
   * Whether {@code dtype} is widened and multiplied here: every block type, on 8- or 16-lane
   * little-endian hardware. The unpacking needs a block's bytes four to an int lane with the first
   * in the low bits, GGUF's order (see {@link #SPAN_BYTES}). The Vector API's reinterpretation is
   * little-endian by specification, but the JDK's intrinsics were written and tested on
   * little-endian machines only, so a big-endian one widens with the scalar {@link DType#decode},
   * which reads in the file's order.
   */
  static boolean widens(DType dtype) {
    return B != null && LITTLE_ENDIAN && dtype.isQuantized();
  }

  private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

  /**
   * Widens {@code count} weights (whole blocks) stored from byte {@code byteOffset} of {@code
   * bytes} into {@code dst[dstOffset ..]}.
   */
  static void widen(
      DType dtype, ByteBuffer bytes, int byteOffset, int count, float[] dst, int dstOffset) {
    int blocks = count / dtype.blockSize();
    int length = blocks * dtype.blockBytes();
    // Q6_K's unpacking reads past the last block.
    byte[] raw = scratch(length + SPAN);
    bytes.get(byteOffset, raw, 0, length);
    widenBlocks(dtype, raw, 0, blocks, dst, dstOffset);
  }

  /** Widens {@code blocks} blocks copied to {@code raw} from {@code from}. */
  private static void widenBlocks(
      DType dtype, byte[] raw, int from, int blocks, float[] dst, int dstOffset) {
    switch (dtype) {
      case Q8_0 -> widenQ8(raw, from, blocks, dst, dstOffset);
      case Q4_0 -> widenQ4(raw, from, blocks, dst, dstOffset);
      case Q4_K, Q5_K -> widenQ4KOrQ5K(dtype == DType.Q5_K, raw, from, blocks, dst, dstOffset);
      case Q6_K -> widenQ6K(raw, from, blocks, dst, dstOffset);
      default -> throw new IllegalArgumentException(dtype + " is not a block type");
    }
  }

  /*
   * The K-quants (ggml-common.h; the layouts are spelled out in checkpoint.KQuants, whose scalar
   * decode these equal bit for bit: KernelsTest reads rows of every type back both ways), 32
   * weights (one sub-block) at a time in element order. Each product of a scale and a code is
   * exact in float32 (KQuants says why), so the vector and scalar orders agree, and Q4_K/Q5_K's
   * fma(code, scale, -min) rounds once, where the decode's subtraction does. The codes are
   * unpacked in int lanes: x86 has no byte shifts, and Java emulates them at several instructions
   * each.
   */

  /**
   * Q4_K, 144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles. Q5_K
   * ({@code fifthBits}), 176 bytes: the same, with 32 bytes of fifth bits (bit s of byte l for
   * sub-block s) before the nibbles. A block's codes are unpacked to bytes first ({@link
   * #unpackQ4KOrQ5K}, four codes to an int lane), then widened as Q8_0's, as {@link #widenQ6K}
   * does.
   */
  private static void widenQ4KOrQ5K(
      boolean fifthBits, byte[] raw, int from, int blocks, float[] dst, int dstOffset) {
    int blockBytes = fifthBits ? 176 : 144;
    Unpacked block = UNPACKED_BLOCK.get();
    byte[] codes = block.codes;
    int[] scales = block.subBlockScales;
    int[] mins = block.subBlockMins;
    for (int b = 0; b < blocks; b++) {
      int at = from + b * blockBytes;
      unpackQ4KOrQ5K(fifthBits, raw, at, codes);
      KQuantScales.unpack(raw, at + 4, scales, mins);
      float d = scale(raw, at);
      float dmin = scale(raw, at + 2);
      for (int s = 0; s < 8; s++) {
        float scale = d * scales[s];
        float min = -dmin * mins[s];
        int c = UNPACKED_AT[s];
        int out = dstOffset + b * 256 + 32 * s;
        for (int l = 0; l < 32; l += LANES) {
          ((FloatVector) ByteVector.fromArray(B, codes, c + l).convertShape(B2F, F, 0))
              .fma(scale, min)
              .intoArray(dst, out + l);
        }
      }
    }
  }

  /**
   * The 256 codes of the Q4_K (or Q5_K) block at {@code raw[at]}, one byte each into {@code codes[0
   * ..]}, sub-block s from {@link #UNPACKED_AT}[s]. Moved in int lanes, four codes to a lane, by
   * constant counts: x86 shifts no bytes, and shifts by a count in a register ran slower (with the
   * count as a vector, the one-token Q4_K kernel took 1.2x the time on the AVX2 host).
   */
  private static void unpackQ4KOrQ5K(boolean fifthBits, byte[] raw, int at, byte[] codes) {
    int nibbles = at + (fifthBits ? 48 : 16);
    IntVector high = null;
    if (fifthBits) {
      // Bit 0 of each byte is the first sub-block's in a SPAN of nibble bytes. On 512 bits a span
      // holds two pairs of sub-blocks, so the 32 bytes come twice, the second time shifted by a
      // pair's 2 bits.
      high = ByteVector.fromArray(SPAN_BYTES, raw, at + 16).reinterpretAsInts();
      if (SPAN > 32) {
        high = high.rearrange(REPEAT_32_BYTES);
        high = high.blend(high.lanewise(LSHR, 2), SECOND_32_BYTES);
      }
    }
    for (int o = 0; o < 128; o += SPAN) {
      IntVector packed = ByteVector.fromArray(SPAN_BYTES, raw, nibbles + o).reinterpretAsInts();
      IntVector low = packed.and(0x0F0F0F0F);
      IntVector top = packed.lanewise(LSHR, 4).and(0x0F0F0F0F);
      if (fifthBits) {
        // Bits 0 and 1 of each byte of high are the fifth bits of these two sub-blocks (on 512
        // bits, of each half's two): moved to bit 4.
        low = low.or(high.lanewise(LSHL, 4).and(0x10101010));
        top = top.or(high.lanewise(LSHL, 3).and(0x10101010));
        high = high.lanewise(LSHR, SPAN / 16);
      }
      low.reinterpretAsBytes().intoArray(codes, 2 * o);
      top.reinterpretAsBytes().intoArray(codes, 2 * o + SPAN);
    }
  }

  /** The int lanes of a vector's bytes 32 to 63. */
  private static final VectorMask<Integer> SECOND_32_BYTES = VectorMask.fromLong(I, 0xFF00L);

  /**
   * Q6_K, 210 bytes: 128 bytes of low nibbles, 64 of high bit pairs, 16 int8 scales, f16 d. Quarter
   * g of half h (weights 128h + 32g onwards) takes the low (g < 2) or high nibbles of bytes 64h +
   * 32(g % 2), bits 2g and 2g + 1 of bytes 128 + 32h, and a scale per 16 weights from byte 192 + 8h
   * + 2g. A block's codes are unpacked to bytes and its scales times d to floats first ({@link
   * #unpackQ6K}, four codes to an int lane), then widened and scaled as Q8_0's: 1.6 to 1.75x the
   * speed of unpacking one code per int lane on the AVX2 host. Reads up to {@link #SPAN} bytes past
   * the last block.
   */
  private static void widenQ6K(byte[] raw, int from, int blocks, float[] dst, int dstOffset) {
    Unpacked block = UNPACKED_BLOCK.get();
    byte[] codes = block.codes;
    float[] scales = block.scales;
    for (int b = 0; b < blocks; b++) {
      unpackQ6K(raw, from + b * 210, 1, codes, 0, scales, 0);
      int out = dstOffset + b * 256;
      for (int k = 0; k < 256; k += LANES) {
        ((FloatVector) ByteVector.fromArray(B, codes, k).convertShape(B2F, F, 0))
            .mul(scales[k / 16])
            .intoArray(dst, out + k);
      }
    }
  }

  /** Per thread, room for one block unpacked by {@link #widenQ6K} or {@link #widenQ4KOrQ5K}. */
  private static final ThreadLocal<Unpacked> UNPACKED_BLOCK =
      ThreadLocal.withInitial(() -> new Unpacked(256));

  /**
   * Bytes of whole rows per bulk copy in {@link #dotRowsOneToken}: 16 KB, as {@link
   * Bf16PairKernels} copies.
   */
  private static final int COPY_BYTES = 16 * 1024;

  /**
   * {@code out[j] = Σ_i x[i] · w[j, i]} for rows j in {@code [from, to)} and a single token, on the
   * blocks, two or four rows at a time (Q6_K's codes unpacked to bytes first): each weight is
   * widened in a register (exactly the float {@link #widen} stores) and multiplied into one running
   * vector sum per row, in element order, whose lanes are added last. That is the order {@link
   * QuantizedTiles} multiplies widened tiles in, so a row's result is the same bits alone as in a
   * batch. A row left over is widened and multiplied by {@link VectorMath#dot}, in the same order
   * again.
   */
  static void dotRowsOneToken(WeightMatrix w, int from, int to, float[] x, float[] out) {
    DType dtype = w.dtype();
    int step =
        switch (dtype) {
          case Q8_0 -> QuantizedTiles.FOUR_ROW_BLOCKS ? 4 : 2;
          case Q6_K -> 4;
          default -> 2;
        };
    int cols = w.cols();
    int rowBytes = Math.toIntExact(dtype.bytesFor(cols));
    int rowsPerCopy = Math.max(4, COPY_BYTES / rowBytes & ~3);
    // Q6_K's unpacking reads past a row's last block.
    byte[] raw = scratch(rowsPerCopy * rowBytes + SPAN);
    float[] lanes = new float[4 * LANES];
    Unpacked q6kWork = dtype == DType.Q6_K ? new Unpacked(cols) : null;
    float[] row = null;
    for (int j0 = from; j0 < to; j0 += rowsPerCopy) {
      int count = Math.min(rowsPerCopy, to - j0);
      w.bytes().get(j0 * rowBytes, raw, 0, count * rowBytes);
      int r = 0;
      // One call site per kernel: C2 gives up inlining the vector code of a second copy.
      for (; r + step <= count; r += step) {
        int at = r * rowBytes;
        int j = j0 + r;
        switch (dtype) {
          case Q8_0 -> {
            if (QuantizedTiles.FOUR_ROW_BLOCKS) {
              dotQ8FourRows(raw, at, rowBytes, x, cols, out, j, lanes);
            } else {
              dotQ8TwoRows(raw, at, rowBytes, x, cols, out, j, lanes);
            }
          }
          case Q4_0 -> dotQ4TwoRows(raw, at, rowBytes, x, cols, out, j, lanes);
          case Q4_K, Q5_K ->
              dotQ4KOrQ5KTwoRows(dtype == DType.Q5_K, raw, at, rowBytes, x, cols, out, j, lanes);
          case Q6_K -> dotQ6KFourRows(raw, at, rowBytes, x, cols, out, j, q6kWork);
          default -> throw new IllegalArgumentException(dtype + " is not a block type");
        }
      }
      for (; r < count; r++) {
        row = row == null ? new float[cols] : row;
        widenBlocks(dtype, raw, r * rowBytes, cols / dtype.blockSize(), row, 0);
        out[j0 + r] = VectorMath.dot(x, 0, row, 0, cols);
      }
    }
  }

  /*
   * The K-quant kernels widen each weight in a register exactly as widenQ4KOrQ5K and widenQ6K store
   * it, in the same element order.
   */

  /**
   * Q4_K (or, with {@code fifthBits}, Q5_K) rows j and j + 1 with one token. One method for both:
   * the branch is the same for a whole call, and predicted.
   */
  private static void dotQ4KOrQ5KTwoRows(
      boolean fifthBits,
      byte[] raw,
      int at,
      int rowBytes,
      float[] x,
      int cols,
      float[] out,
      int j,
      float[] lanes) {
    int blockBytes = fifthBits ? 176 : 144;
    int nibbleBytes = fifthBits ? 48 : 16;
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    for (int b = 0, r0 = at; b < cols; b += 256, r0 += blockBytes) {
      int r1 = r0 + rowBytes;
      float d0 = scale(raw, r0);
      float dmin0 = scale(raw, r0 + 2);
      float d1 = scale(raw, r1);
      float dmin1 = scale(raw, r1 + 2);
      for (int s = 0; s < 8; s++) {
        float scale0 = d0 * KQuantScales.scale(raw, r0 + 4, s);
        float min0 = -dmin0 * KQuantScales.min(raw, r0 + 4, s);
        float scale1 = d1 * KQuantScales.scale(raw, r1 + 4, s);
        float min1 = -dmin1 * KQuantScales.min(raw, r1 + 4, s);
        int q = nibbleBytes + 32 * (s / 2);
        boolean high = (s & 1) != 0;
        for (int l = 0; l < 32; l += LANES) {
          FloatVector u = FloatVector.fromArray(F, x, b + 32 * s + l);
          IntVector p0 =
              (IntVector) ByteVector.fromArray(B, raw, r0 + q + l).convertShape(B2I, I, 0);
          IntVector p1 =
              (IntVector) ByteVector.fromArray(B, raw, r1 + q + l).convertShape(B2I, I, 0);
          IntVector q0 = (high ? p0.lanewise(LSHR, 4) : p0).and(15);
          IntVector q1 = (high ? p1.lanewise(LSHR, 4) : p1).and(15);
          if (fifthBits) {
            // The fifth bit, bit s of its byte, to bit 4: masked, not shifted by s (a shift by a
            // count in a register is a slow one).
            IntVector h0 =
                (IntVector) ByteVector.fromArray(B, raw, r0 + 16 + l).convertShape(B2I, I, 0);
            IntVector h1 =
                (IntVector) ByteVector.fromArray(B, raw, r1 + 16 + l).convertShape(B2I, I, 0);
            q0 = q0.or(h0.and(1 << s).min(1).lanewise(LSHL, 4));
            q1 = q1.or(h1.and(1 << s).min(1).lanewise(LSHL, 4));
          }
          a0 = u.fma(((FloatVector) q0.convert(I2F, 0)).fma(scale0, min0), a0);
          a1 = u.fma(((FloatVector) q1.convert(I2F, 0)).fma(scale1, min1), a1);
        }
      }
    }
    storeTwo(a0, a1, lanes, out, j);
  }

  /**
   * Q6_K rows j to j + 3 with one token: each row's codes (less 32) are unpacked to bytes and its
   * scales (times d) to floats first, then the rows are multiplied as Q8_0's are, four or (on AVX2)
   * two at a time.
   */
  private static void dotQ6KFourRows(
      byte[] raw, int at, int rowBytes, float[] x, int cols, float[] out, int j, Unpacked work) {
    byte[] codes = work.codes;
    float[] scales = work.scales;
    int groups = cols / 16;
    for (int r = 0; r < 4; r++) {
      unpackQ6K(raw, at + r * rowBytes, cols / 256, codes, r * cols, scales, r * groups);
    }
    if (!QuantizedTiles.FOUR_ROW_BLOCKS) {
      // Two rows at a time on AVX2, as Q8_0's.
      for (int r = 0; r < 4; r += 2) {
        dotQ6KTwoUnpackedRows(codes, r * cols, scales, r * groups, x, cols, out, j + r, work.lanes);
      }
      return;
    }
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    FloatVector a2 = FloatVector.zero(F);
    FloatVector a3 = FloatVector.zero(F);
    for (int k = 0; k < cols; k += LANES) {
      FloatVector u = FloatVector.fromArray(F, x, k);
      int g = k / 16;
      ByteVector q0 = ByteVector.fromArray(B, codes, k);
      ByteVector q1 = ByteVector.fromArray(B, codes, cols + k);
      ByteVector q2 = ByteVector.fromArray(B, codes, 2 * cols + k);
      ByteVector q3 = ByteVector.fromArray(B, codes, 3 * cols + k);
      a0 = u.fma(((FloatVector) q0.convertShape(B2F, F, 0)).mul(scales[g]), a0);
      a1 = u.fma(((FloatVector) q1.convertShape(B2F, F, 0)).mul(scales[groups + g]), a1);
      a2 = u.fma(((FloatVector) q2.convertShape(B2F, F, 0)).mul(scales[2 * groups + g]), a2);
      a3 = u.fma(((FloatVector) q3.convertShape(B2F, F, 0)).mul(scales[3 * groups + g]), a3);
    }
    QuantizedTiles.storeFour(a0, a1, a2, a3, work.lanes, out, j);
  }

  /**
   * {@code out[j]} and {@code out[j + 1]}: the rows unpacked from {@code codes[at]} and {@code
   * codes[at + cols]}, with their scales from {@code scales[s]} and {@code scales[s + cols / 16]}.
   */
  private static void dotQ6KTwoUnpackedRows(
      byte[] codes,
      int at,
      float[] scales,
      int s,
      float[] x,
      int cols,
      float[] out,
      int j,
      float[] lanes) {
    int groups = cols / 16;
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    for (int k = 0; k < cols; k += LANES) {
      FloatVector u = FloatVector.fromArray(F, x, k);
      int g = s + k / 16;
      ByteVector q0 = ByteVector.fromArray(B, codes, at + k);
      ByteVector q1 = ByteVector.fromArray(B, codes, at + cols + k);
      a0 = u.fma(((FloatVector) q0.convertShape(B2F, F, 0)).mul(scales[g]), a0);
      a1 = u.fma(((FloatVector) q1.convertShape(B2F, F, 0)).mul(scales[groups + g]), a1);
    }
    storeTwo(a0, a1, lanes, out, j);
  }

  /**
   * What {@link #dotQ6KFourRows} unpacks four rows to: row r's codes less 32 from {@code codes[r ·
   * cols]}, its scales times d (one per 16 weights) from {@code scales[r · cols / 16]}; and the
   * lanes of its four sums. The widening unpacks one block to it; Q4_K and Q5_K their codes, and
   * their sub-blocks' scales and mins.
   */
  private static final class Unpacked {
    final byte[] codes;
    final float[] scales;
    final float[] lanes = new float[4 * LANES];
    final int[] subBlockScales = new int[8];
    final int[] subBlockMins = new int[8];

    Unpacked(int cols) {
      codes = new byte[4 * cols];
      scales = new float[4 * cols / 16];
    }
  }

  /** Bytes per int vector: the codes {@link #unpackQ6K} unpacks at a time. */
  private static final int SPAN = 4 * LANES;

  /**
   * Where {@link #unpackQ4KOrQ5K} leaves sub-block s's 32 codes: each {@link #SPAN} of nibble bytes
   * gives its low nibbles, then its high ones. On AVX2 (32-byte spans) that is element order. A
   * table, not a method: see the class comment on calls in the loops.
   */
  private static final int[] UNPACKED_AT = new int[8];

  static {
    for (int s = 0; s < 8; s++) {
      int nibble = 32 * (s / 2);
      int o = nibble - nibble % SPAN;
      UNPACKED_AT[s] = 2 * o + (s & 1) * SPAN + nibble % SPAN;
    }
  }

  /**
   * {@link #SPAN} bytes: a vector of the preferred shape, as bytes, loaded to be reinterpreted as
   * ints, four to a lane with the first in the low bits (the byte order of x86 and ARM). Every
   * JDK's Vector API has that: {@code IntVector.fromByteArray} is gone from JDK 20 on.
   */
  private static final VectorSpecies<Byte> SPAN_BYTES =
      VectorSpecies.of(byte.class, F.vectorShape());

  /** Int lanes that repeat a vector's first 32 bytes across it (lane i takes lane i % 8). */
  private static final VectorShuffle<Integer> REPEAT_32_BYTES = VectorShuffle.fromOp(I, i -> i % 8);

  /**
   * For the 128 codes of a Q6_K half, four to an int lane: the shift that brings their high bits to
   * bits 0 and 1, 2g for quarter g.
   */
  private static final int[] HIGH_SHIFTS = new int[32];

  static {
    for (int lane = 0; lane < 32; lane++) {
      HIGH_SHIFTS[lane] = 2 * (lane / 8);
    }
  }

  /**
   * The codes less 32 of {@code blocks} Q6_K blocks from {@code raw[at]}, one byte each in element
   * order into {@code codes[to ..]}, and their scales times d into {@code scales[scalesTo ..]}. The
   * bits are moved in int lanes, four codes to a lane (x86 shifts ints in one instruction, and
   * bytes in several), and masked per byte. Reads up to {@link #SPAN} bytes past the last block.
   *
   * <p>The int vectors are of the preferred shape, as all the kernels': with a second shape (a
   * 256-bit one here), the JDK's shared vector code sees two classes, and in the model C2 then left
   * this method on boxed vectors, several times slower.
   */
  private static void unpackQ6K(
      byte[] raw, int at, int blocks, byte[] codes, int to, float[] scales, int scalesTo) {
    for (int b = 0; b < blocks; b++, at += 210, to += 256, scalesTo += 16) {
      for (int half = 0; half < 2; half++) {
        IntVector high =
            ByteVector.fromArray(SPAN_BYTES, raw, at + 128 + 32 * half)
                .reinterpretAsInts()
                .rearrange(REPEAT_32_BYTES);
        for (int o = 0; o < 128; o += SPAN) {
          IntVector low =
              ByteVector.fromArray(SPAN_BYTES, raw, at + 64 * half + o % 64).reinterpretAsInts();
          IntVector nibble = low.lanewise(LSHR, 4 * (o / 64)).and(0x0F0F0F0F);
          IntVector top =
              high.lanewise(LSHR, IntVector.fromArray(I, HIGH_SHIFTS, o / 4))
                  .and(0x03030303)
                  .lanewise(LSHL, 4);
          // A code c of 0 to 63 less 32, per byte without borrows: (c + 0x60) ^ 0x80.
          nibble
              .or(top)
              .add(0x60606060)
              .lanewise(XOR, 0x80808080)
              .reinterpretAsBytes()
              .intoArray(codes, to + 128 * half + o);
        }
      }
      float d = scale(raw, at + 208);
      for (int i = 0; i < 16; i += LANES) {
        ((FloatVector) ByteVector.fromArray(B, raw, at + 192 + i).convertShape(B2F, F, 0))
            .mul(d)
            .intoArray(scales, scalesTo + i);
      }
    }
  }

  /** {@code out[j]} and {@code out[j + 1]}: the lane sums of {@code a0} and {@code a1}. */
  private static void storeTwo(FloatVector a0, FloatVector a1, float[] lanes, float[] out, int j) {
    a0.intoArray(lanes, 0);
    a1.intoArray(lanes, LANES);
    out[j] = QuantizedTiles.sumLanes(lanes, 0);
    out[j + 1] = QuantizedTiles.sumLanes(lanes, LANES);
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
        ByteVector q0 = ByteVector.fromArray(B, raw, r0 + 2 + k);
        ByteVector q1 = ByteVector.fromArray(B, raw, r1 + 2 + k);
        ByteVector q2 = ByteVector.fromArray(B, raw, r2 + 2 + k);
        ByteVector q3 = ByteVector.fromArray(B, raw, r3 + 2 + k);
        a0 = u.fma(((FloatVector) q0.convertShape(B2F, F, 0)).mul(d0), a0);
        a1 = u.fma(((FloatVector) q1.convertShape(B2F, F, 0)).mul(d1), a1);
        a2 = u.fma(((FloatVector) q2.convertShape(B2F, F, 0)).mul(d2), a2);
        a3 = u.fma(((FloatVector) q3.convertShape(B2F, F, 0)).mul(d3), a3);
      }
    }
    QuantizedTiles.storeFour(a0, a1, a2, a3, lanes, out, j);
  }

  /**
   * Q8_0 rows j and j + 1 with one token, on AVX2: with four rows C2 keeps a block's loads, scales
   * and activations live at once and spills the sums, whose chains of multiply-adds then run
   * through memory (0.8x two rows' speed on the AVX2 host).
   */
  private static void dotQ8TwoRows(
      byte[] raw, int at, int rowBytes, float[] x, int cols, float[] out, int j, float[] lanes) {
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    for (int b = 0, r0 = at; b < cols; b += 32, r0 += 34) {
      int r1 = r0 + rowBytes;
      float d0 = scale(raw, r0);
      float d1 = scale(raw, r1);
      for (int k = 0; k < 32; k += LANES) {
        FloatVector u = FloatVector.fromArray(F, x, b + k);
        ByteVector q0 = ByteVector.fromArray(B, raw, r0 + 2 + k);
        ByteVector q1 = ByteVector.fromArray(B, raw, r1 + 2 + k);
        a0 = u.fma(((FloatVector) q0.convertShape(B2F, F, 0)).mul(d0), a0);
        a1 = u.fma(((FloatVector) q1.convertShape(B2F, F, 0)).mul(d1), a1);
      }
    }
    storeTwo(a0, a1, lanes, out, j);
  }

  /**
   * Q4_0 rows j and j + 1 with one token, in element order: a block's low nibbles (elements 0-15)
   * before its high ones (16-31). Two rows, not four: four take more vector code than C2 inlines
   * into one method, and then run several times slower. The nibbles are unpacked in int lanes, by a
   * constant shift: x86 shifts no bytes, and Java emulates a byte shift with several instructions
   * (byte lanes took 1.25x the time on the AVX2 host, one thread).
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
        IntVector p0 = (IntVector) ByteVector.fromArray(B, raw, r0 + 2 + k).convertShape(B2I, I, 0);
        IntVector p1 = (IntVector) ByteVector.fromArray(B, raw, r1 + 2 + k).convertShape(B2I, I, 0);
        a0 = u.fma(((FloatVector) p0.and(15).sub(8).convert(I2F, 0)).mul(d0), a0);
        a1 = u.fma(((FloatVector) p1.and(15).sub(8).convert(I2F, 0)).mul(d1), a1);
      }
      for (int k = 0; k < 16; k += LANES) {
        FloatVector u = FloatVector.fromArray(F, x, b + 16 + k);
        IntVector p0 = (IntVector) ByteVector.fromArray(B, raw, r0 + 2 + k).convertShape(B2I, I, 0);
        IntVector p1 = (IntVector) ByteVector.fromArray(B, raw, r1 + 2 + k).convertShape(B2I, I, 0);
        a0 = u.fma(((FloatVector) p0.lanewise(LSHR, 4).and(15).sub(8).convert(I2F, 0)).mul(d0), a0);
        a1 = u.fma(((FloatVector) p1.lanewise(LSHR, 4).and(15).sub(8).convert(I2F, 0)).mul(d1), a1);
      }
    }
    storeTwo(a0, a1, lanes, out, j);
  }

  /** Q8_0: 2 bytes of scale, then 32 int8 codes. */
  private static void widenQ8(byte[] raw, int from, int blocks, float[] dst, int dstOffset) {
    int end = dstOffset + 32 * blocks;
    for (int at = from, out = dstOffset; out < end; at += 34, out += 32) {
      FloatVector d = FloatVector.broadcast(F, scale(raw, at));
      for (int j = 0; j < 32; j += LANES) {
        ((FloatVector) ByteVector.fromArray(B, raw, at + 2 + j).convertShape(B2F, F, 0))
            .mul(d)
            .intoArray(dst, out + j);
      }
    }
  }

  /**
   * Q4_0: 2 bytes of scale, then 16 bytes whose low nibbles are elements 0-15 and high nibbles
   * 16-31. Unpacked in int lanes, as the K-quants and the one-token kernel: widening a tile then
   * takes 0.75 to 0.85x the time of byte lanes, whose shifts Java emulates.
   */
  private static void widenQ4(byte[] raw, int from, int blocks, float[] dst, int dstOffset) {
    for (int b = 0; b < blocks; b++) {
      int at = from + b * 18;
      float d = scale(raw, at);
      int out = dstOffset + b * 32;
      for (int j = 0; j < 16; j += LANES) {
        IntVector packed =
            (IntVector) ByteVector.fromArray(B, raw, at + 2 + j).convertShape(B2I, I, 0);
        ((FloatVector) packed.and(15).sub(8).convert(I2F, 0)).mul(d).intoArray(dst, out + j);
        ((FloatVector) packed.lanewise(LSHR, 4).and(15).sub(8).convert(I2F, 0))
            .mul(d)
            .intoArray(dst, out + 16 + j);
      }
    }
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
