package org.dbrxspark.runtime.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.dbrxspark.runtime.checkpoint.DType;

/**
 * The nn.Linear form on block-quantized weights. When several tokens share a call, a tile of rows
 * is widened to float32 once ({@link QuantizedRows#widen}, exact) and multiplied with every token,
 * four rows by four tokens at a time, so each widened weight loaded serves four tokens and each
 * activation loaded serves four rows. A single token has nothing to reuse a tile for: it is
 * multiplied on the blocks ({@link QuantizedRows#dotRowsOneToken}).
 *
 * <p>Every (row, token) result is one vector sum: {@code acc = fma(x[i..], w[i..], acc)} over the
 * row in steps of one vector, from zero, then the lanes added in lane order. That is {@link
 * VectorMath#dot}'s order, and {@link QuantizedRows#dotRowsOneToken} computes the same for one
 * token straight from the blocks, so a row's result does not depend on its batch.
 */
final class QuantizedTiles {
  private static final VectorSpecies<Float> F = KernelShape.FLOATS;
  private static final int LANES = F.length();

  /** Widened floats per tile: 64 KB, which stays in L2 while every token passes over it. */
  private static final int TILE_FLOATS = 16 * 1024;

  /**
   * Floats between a widened row's end and the next row's start in a tile: one cache line. Rows of
   * 1024 floats would otherwise lie 4 KB apart, as the activations' rows do. On the AVX2 host under
   * G1, prefill at times dropped to 0.55x its speed from some point in a run on (42 against 76
   * tokens per CPU-second; never under the parallel collector), with the time in the same compiled
   * kernel: most likely G1 had moved the tile to where its rows and the activations' (a humongous
   * array, which starts a region) share L1 sets. With the padding it no longer happened.
   */
  private static final int ROW_PAD = 16;

  private static final ThreadLocal<float[]> TILE = ThreadLocal.withInitial(() -> new float[0]);

  private QuantizedTiles() {}

  /**
   * Whether {@code dtype}'s rows are multiplied here: every block type, when a row holds whole
   * vectors (always, as blocks are 32 or 256 weights), on 8- or 16-lane hardware.
   */
  static boolean handles(DType dtype) {
    return QuantizedRows.widens(dtype);
  }

  /**
   * {@code out[t * outStride + j] = Σ_i x[t, i] · w[j, i]} for rows j in {@code [from, to)}: on
   * widened tiles for several tokens, on the blocks for one.
   */
  static void dotRows(
      WeightMatrix w, int from, int to, float[] x, int n, float[] out, int outStride) {
    DType dtype = w.dtype();
    if (n == 1) {
      QuantizedRows.dotRowsOneToken(w, from, to, x, out);
      return;
    }
    int cols = w.cols();
    int rowsPerBlock = FOUR_ROW_BLOCKS ? 4 : 3;
    // Widened rows one cache line apart beyond their length: see ROW_PAD.
    int stride = cols + ROW_PAD;
    int tileRows = Math.max(rowsPerBlock, TILE_FLOATS / stride / rowsPerBlock * rowsPerBlock);
    float[] tile = tile(tileRows * stride);
    float[] lanes = new float[16 * LANES];
    long rowBytes = dtype.bytesFor(cols);
    for (int j0 = from; j0 < to; j0 += tileRows) {
      int count = Math.min(tileRows, to - j0);
      for (int r = 0; r < count; r++) {
        QuantizedRows.widen(
            dtype, w.bytes(), Math.toIntExact((j0 + r) * rowBytes), cols, tile, r * stride);
      }
      int t = 0;
      // Groups of four tokens; two or three left over go through the same kernel, which is
      // cheaper than a pass over the tile per token.
      for (; n - t >= 2; t += 4) {
        if (FOUR_ROW_BLOCKS) {
          int r = 0;
          for (; r + 4 <= count; r += 4) {
            fourRowsFourTokens(
                tile, r * stride, stride, cols, x, t, n, out, outStride, j0 + r, lanes);
          }
          for (; r < count; r++) {
            for (int u = t; u < Math.min(t + 4, n); u++) {
              out[u * outStride + j0 + r] = VectorMath.dot(x, u * cols, tile, r * stride, cols);
            }
          }
        } else {
          for (int r = 0; r < count; r += 3) {
            threeRowsFourTokens(tile, r, count, stride, cols, x, t, n, out, outStride, j0, lanes);
          }
        }
      }
      for (; t < n; t++) {
        int r = 0;
        for (; r + 4 <= count; r += 4) {
          fourRowsOneToken(
              tile, r * stride, stride, cols, x, t * cols, out, t * outStride + j0 + r, lanes);
        }
        for (; r < count; r++) {
          out[t * outStride + j0 + r] = VectorMath.dot(x, t * cols, tile, r * stride, cols);
        }
      }
    }
  }

  /*
   * The register blocks are written out: C2 must see each whole loop to keep its accumulators in
   * registers.
   */

  /**
   * Whether the register blocks take four rows at a time, with 32 vector registers (AVX-512), or
   * fewer, with AVX2's 16, where C2 spills four rows' sums to the stack. Four tokens then go with
   * three rows (twelve sums, four of them still spilled), which ran at 1.5x four rows' speed on the
   * AVX2 host (34 against 22.7 GFLOP/s per thread), and one token with two rows for Q8_0 and Q6_K
   * ({@link QuantizedRows#dotRowsOneToken}).
   */
  static final boolean FOUR_ROW_BLOCKS = LANES >= 16;

  /**
   * Widened rows j0 + r to j0 + r + 2 of the tile's {@code count} with tokens t to t + 3 of {@code
   * n}. Rows past the tile's last and tokens past the last stand in as in {@link
   * #fourRowsFourTokens}: the last row or token's sums, the same bits, are written again.
   */
  private static void threeRowsFourTokens(
      float[] tile,
      int r,
      int count,
      int stride,
      int cols,
      float[] x,
      int t,
      int n,
      float[] out,
      int outStride,
      int j0,
      float[] lanes) {
    int w0 = r * stride;
    int w1 = Math.min(r + 1, count - 1) * stride;
    int w2 = Math.min(r + 2, count - 1) * stride;
    int x0 = t * cols;
    int x1 = Math.min(t + 1, n - 1) * cols;
    int x2 = Math.min(t + 2, n - 1) * cols;
    int x3 = Math.min(t + 3, n - 1) * cols;
    FloatVector a00 = FloatVector.zero(F);
    FloatVector a01 = FloatVector.zero(F);
    FloatVector a02 = FloatVector.zero(F);
    FloatVector a03 = FloatVector.zero(F);
    FloatVector a10 = FloatVector.zero(F);
    FloatVector a11 = FloatVector.zero(F);
    FloatVector a12 = FloatVector.zero(F);
    FloatVector a13 = FloatVector.zero(F);
    FloatVector a20 = FloatVector.zero(F);
    FloatVector a21 = FloatVector.zero(F);
    FloatVector a22 = FloatVector.zero(F);
    FloatVector a23 = FloatVector.zero(F);
    for (int i = 0; i < cols; i += LANES) {
      FloatVector v0 = FloatVector.fromArray(F, tile, w0 + i);
      FloatVector v1 = FloatVector.fromArray(F, tile, w1 + i);
      FloatVector v2 = FloatVector.fromArray(F, tile, w2 + i);
      FloatVector u = FloatVector.fromArray(F, x, x0 + i);
      a00 = u.fma(v0, a00);
      a10 = u.fma(v1, a10);
      a20 = u.fma(v2, a20);
      u = FloatVector.fromArray(F, x, x1 + i);
      a01 = u.fma(v0, a01);
      a11 = u.fma(v1, a11);
      a21 = u.fma(v2, a21);
      u = FloatVector.fromArray(F, x, x2 + i);
      a02 = u.fma(v0, a02);
      a12 = u.fma(v1, a12);
      a22 = u.fma(v2, a22);
      u = FloatVector.fromArray(F, x, x3 + i);
      a03 = u.fma(v0, a03);
      a13 = u.fma(v1, a13);
      a23 = u.fma(v2, a23);
    }
    // Lanes of accumulator (row k, token u) at (3 * u + k) * LANES.
    a00.intoArray(lanes, 0);
    a10.intoArray(lanes, LANES);
    a20.intoArray(lanes, 2 * LANES);
    a01.intoArray(lanes, 3 * LANES);
    a11.intoArray(lanes, 4 * LANES);
    a21.intoArray(lanes, 5 * LANES);
    a02.intoArray(lanes, 6 * LANES);
    a12.intoArray(lanes, 7 * LANES);
    a22.intoArray(lanes, 8 * LANES);
    a03.intoArray(lanes, 9 * LANES);
    a13.intoArray(lanes, 10 * LANES);
    a23.intoArray(lanes, 11 * LANES);
    for (int u = 0; u < 4; u++) {
      int at = Math.min(t + u, n - 1) * outStride + j0;
      for (int k = 0; k < 3; k++) {
        out[at + Math.min(r + k, count - 1)] = sumLanes(lanes, (3 * u + k) * LANES);
      }
    }
  }

  /**
   * Widened rows j to j + 3 (from {@code w0} in the tile) with tokens t to t + 3 of {@code n}. When
   * two or three tokens remain, the last one stands in for the missing ones: its sums are computed
   * again, the same bits, and written again to its own place.
   */
  private static void fourRowsFourTokens(
      float[] tile,
      int w0,
      int stride,
      int cols,
      float[] x,
      int t,
      int n,
      float[] out,
      int outStride,
      int j,
      float[] lanes) {
    int w1 = w0 + stride;
    int w2 = w1 + stride;
    int w3 = w2 + stride;
    int x0 = t * cols;
    int x1 = Math.min(t + 1, n - 1) * cols;
    int x2 = Math.min(t + 2, n - 1) * cols;
    int x3 = Math.min(t + 3, n - 1) * cols;
    FloatVector a00 = FloatVector.zero(F);
    FloatVector a01 = FloatVector.zero(F);
    FloatVector a02 = FloatVector.zero(F);
    FloatVector a03 = FloatVector.zero(F);
    FloatVector a10 = FloatVector.zero(F);
    FloatVector a11 = FloatVector.zero(F);
    FloatVector a12 = FloatVector.zero(F);
    FloatVector a13 = FloatVector.zero(F);
    FloatVector a20 = FloatVector.zero(F);
    FloatVector a21 = FloatVector.zero(F);
    FloatVector a22 = FloatVector.zero(F);
    FloatVector a23 = FloatVector.zero(F);
    FloatVector a30 = FloatVector.zero(F);
    FloatVector a31 = FloatVector.zero(F);
    FloatVector a32 = FloatVector.zero(F);
    FloatVector a33 = FloatVector.zero(F);
    for (int i = 0; i < cols; i += LANES) {
      FloatVector v0 = FloatVector.fromArray(F, tile, w0 + i);
      FloatVector v1 = FloatVector.fromArray(F, tile, w1 + i);
      FloatVector v2 = FloatVector.fromArray(F, tile, w2 + i);
      FloatVector v3 = FloatVector.fromArray(F, tile, w3 + i);
      FloatVector u = FloatVector.fromArray(F, x, x0 + i);
      a00 = u.fma(v0, a00);
      a10 = u.fma(v1, a10);
      a20 = u.fma(v2, a20);
      a30 = u.fma(v3, a30);
      u = FloatVector.fromArray(F, x, x1 + i);
      a01 = u.fma(v0, a01);
      a11 = u.fma(v1, a11);
      a21 = u.fma(v2, a21);
      a31 = u.fma(v3, a31);
      u = FloatVector.fromArray(F, x, x2 + i);
      a02 = u.fma(v0, a02);
      a12 = u.fma(v1, a12);
      a22 = u.fma(v2, a22);
      a32 = u.fma(v3, a32);
      u = FloatVector.fromArray(F, x, x3 + i);
      a03 = u.fma(v0, a03);
      a13 = u.fma(v1, a13);
      a23 = u.fma(v2, a23);
      a33 = u.fma(v3, a33);
    }
    // Lanes of accumulator (row r, token u) at (4 * u + r) * LANES.
    a00.intoArray(lanes, 0);
    a10.intoArray(lanes, LANES);
    a20.intoArray(lanes, 2 * LANES);
    a30.intoArray(lanes, 3 * LANES);
    a01.intoArray(lanes, 4 * LANES);
    a11.intoArray(lanes, 5 * LANES);
    a21.intoArray(lanes, 6 * LANES);
    a31.intoArray(lanes, 7 * LANES);
    a02.intoArray(lanes, 8 * LANES);
    a12.intoArray(lanes, 9 * LANES);
    a22.intoArray(lanes, 10 * LANES);
    a32.intoArray(lanes, 11 * LANES);
    a03.intoArray(lanes, 12 * LANES);
    a13.intoArray(lanes, 13 * LANES);
    a23.intoArray(lanes, 14 * LANES);
    a33.intoArray(lanes, 15 * LANES);
    for (int u = 0; u < 4; u++) {
      // A stand-in token's sums are the last token's, the same bits: written twice.
      int at = Math.min(t + u, n - 1) * outStride + j;
      for (int r = 0; r < 4; r++) {
        out[at + r] = sumLanes(lanes, (4 * u + r) * LANES);
      }
    }
  }

  /**
   * Four widened rows (from {@code w0}) with one token's activations (from {@code x0}) into {@code
   * out[at .. at + 4)}: the one token left over after the groups.
   */
  private static void fourRowsOneToken(
      float[] tile,
      int w0,
      int stride,
      int cols,
      float[] x,
      int x0,
      float[] out,
      int at,
      float[] lanes) {
    int w1 = w0 + stride;
    int w2 = w1 + stride;
    int w3 = w2 + stride;
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = FloatVector.zero(F);
    FloatVector a2 = FloatVector.zero(F);
    FloatVector a3 = FloatVector.zero(F);
    for (int i = 0; i < cols; i += LANES) {
      FloatVector u = FloatVector.fromArray(F, x, x0 + i);
      a0 = u.fma(FloatVector.fromArray(F, tile, w0 + i), a0);
      a1 = u.fma(FloatVector.fromArray(F, tile, w1 + i), a1);
      a2 = u.fma(FloatVector.fromArray(F, tile, w2 + i), a2);
      a3 = u.fma(FloatVector.fromArray(F, tile, w3 + i), a3);
    }
    storeFour(a0, a1, a2, a3, lanes, out, at);
  }

  /**
   * {@code out[at + r] = } the lane sum of {@code a_r}, r = 0 to 3: {@link VectorMath#sumLanes}'s
   * order, without its per-call buffer lookup.
   */
  static void storeFour(
      FloatVector a0,
      FloatVector a1,
      FloatVector a2,
      FloatVector a3,
      float[] lanes,
      float[] out,
      int at) {
    int width = a0.length();
    a0.intoArray(lanes, 0);
    a1.intoArray(lanes, width);
    a2.intoArray(lanes, 2 * width);
    a3.intoArray(lanes, 3 * width);
    for (int r = 0; r < 4; r++) {
      out[at + r] = sumLanes(lanes, r * width);
    }
  }

  /**
   * The sum of {@code lanes[at .. at + LANES)} in order, from zero, as {@link VectorMath#sumLanes}.
   */
  static float sumLanes(float[] lanes, int at) {
    float sum = 0;
    for (int i = 0; i < LANES; i++) {
      sum += lanes[at + i];
    }
    return sum;
  }

  private static float[] tile(int floats) {
    float[] buffer = TILE.get();
    if (buffer.length < floats) {
      buffer = new float[floats];
      TILE.set(buffer);
    }
    return buffer;
  }
}
