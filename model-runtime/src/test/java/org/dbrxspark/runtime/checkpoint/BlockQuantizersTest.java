package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Checks {@link BlockQuantizers} byte for byte against gguf-py 0.19.0's numpy {@code quantize} for
 * Q8_0 and Q4_0 (resources {@code kquants/quant-input.f32}, {@code q8_0.bin}, {@code q4_0.bin}; see
 * that folder's README.md), and round trips against the formats' error bounds.
 */
class BlockQuantizersTest {
  @Test
  void q8_0MatchesReference() throws IOException {
    float[] x = KQuantsTest.floats(KQuantsTest.resource("quant-input.f32"));
    byte[] expected = KQuantsTest.resource("q8_0.bin");
    int blocks = x.length / BlockQuantizers.BLOCK_SIZE;
    assertEquals(blocks * BlockQuantizers.Q8_0_BYTES, expected.length);
    ByteBuffer dst = ByteBuffer.allocate(expected.length);
    BlockQuantizers.quantizeQ8_0(x, 0, dst, 0, blocks);
    assertArrayEquals(expected, dst.array());
  }

  @Test
  void q4_0MatchesReference() throws IOException {
    float[] x = KQuantsTest.floats(KQuantsTest.resource("quant-input.f32"));
    byte[] expected = KQuantsTest.resource("q4_0.bin");
    int blocks = x.length / BlockQuantizers.BLOCK_SIZE;
    assertEquals(blocks * BlockQuantizers.Q4_0_BYTES, expected.length);
    ByteBuffer dst = ByteBuffer.allocate(expected.length);
    BlockQuantizers.quantizeQ4_0(x, 0, dst, 0, blocks);
    assertArrayEquals(expected, dst.array());
  }

  /** amax 127 gives d = 1, so q is x rounded half away from zero, as C's roundf does. */
  @Test
  void q8_0RoundsHalvesAwayFromZero() {
    float[] x = new float[32];
    x[0] = 127f;
    x[1] = -2.5f;
    x[2] = 2.5f;
    x[3] = -0.5f;
    x[4] = 0.49999997f; // just below a half: must not round up
    ByteBuffer dst = ByteBuffer.allocate(BlockQuantizers.Q8_0_BYTES);
    BlockQuantizers.quantizeQ8_0(x, 0, dst, 0, 1);
    assertEquals((short) 0x3C00, dst.order(ByteOrder.LITTLE_ENDIAN).getShort(0)); // f16 1.0
    assertArrayEquals(new byte[] {127, -3, 3, -1, 0, 0}, Arrays.copyOfRange(dst.array(), 2, 8));
  }

  /**
   * Largest magnitude -8 gives d = 1 and q = trunc(x + 8.5) capped at 15; weight j and j+16 share
   * byte j, low nibble first.
   */
  @Test
  void q4_0HandMadeBlock() {
    float[] x = new float[32];
    x[0] = -8f; // q 0
    x[1] = 7.9f; // 16.4 -> 16, capped to 15
    x[16] = -0.5f; // q 8
    x[17] = 0.5f; // q 9
    ByteBuffer dst = ByteBuffer.allocate(BlockQuantizers.Q4_0_BYTES);
    BlockQuantizers.quantizeQ4_0(x, 0, dst, 0, 1);
    assertEquals((short) 0x3C00, dst.order(ByteOrder.LITTLE_ENDIAN).getShort(0));
    assertEquals((byte) 0x80, dst.get(2));
    assertEquals((byte) 0x9F, dst.get(3));
    for (int j = 2; j < 16; j++) {
      assertEquals((byte) 0x88, dst.get(2 + j), "byte " + j); // zeros: q 8 in both nibbles
    }
  }

  @Test
  void offsetsAreHonouredAndBufferIsUntouched() throws IOException {
    float[] x = KQuantsTest.floats(KQuantsTest.resource("quant-input.f32"));
    byte[] q8 = KQuantsTest.resource("q8_0.bin");
    byte[] q4 = KQuantsTest.resource("q4_0.bin");
    int srcOffset = 3 * BlockQuantizers.BLOCK_SIZE;
    float[] src = Arrays.copyOf(x, x.length);
    // Big-endian (the default), position moved, odd offset: none of which may matter.
    ByteBuffer dst = ByteBuffer.allocate(200);
    dst.position(11);
    BlockQuantizers.quantizeQ8_0(src, srcOffset, dst, 5, 4);
    assertEquals(11, dst.position());
    assertArrayEquals(
        Arrays.copyOfRange(q8, 3 * 34, 7 * 34), Arrays.copyOfRange(dst.array(), 5, 5 + 4 * 34));
    assertTrue(allZero(dst.array(), 0, 5) && allZero(dst.array(), 5 + 4 * 34, 200));
    dst = ByteBuffer.allocate(200);
    BlockQuantizers.quantizeQ4_0(src, srcOffset, dst, 7, 4);
    assertArrayEquals(
        Arrays.copyOfRange(q4, 3 * 18, 7 * 18), Arrays.copyOfRange(dst.array(), 7, 7 + 4 * 18));
    assertTrue(allZero(dst.array(), 0, 7) && allZero(dst.array(), 7 + 4 * 18, 200));
    assertArrayEquals(x, src);
  }

  /**
   * Q8_0: q is x/d rounded to nearest, off by at most half a step d. The stored f16 scale is d16 =
   * d(1+e) with |e| <= 2^-11 (d16 is a normal f16 here, checked), which moves a weight by at most
   * 127 * d * 2^-11; and d <= d16 / (1 - 2^-11). Float32 rounding of 1/d and of x*(1/d), numbers up
   * to 127 with relative error 2^-24 each, adds under 2^-15 steps.
   */
  @Test
  void q8_0RoundTripWithinHalfAStep() {
    SplittableRandom rng = new SplittableRandom(7);
    float[] x = randomWeights(rng, 64);
    ByteBuffer q = ByteBuffer.allocate(64 * 34).order(ByteOrder.LITTLE_ENDIAN);
    BlockQuantizers.quantizeQ8_0(x, 0, q, 0, 64);
    for (int b = 0; b < 64; b++) {
      float d16 = DType.f16ToFloat(q.getShort(b * 34));
      assertTrue(d16 >= 0x1p-14f, "block " + b + " scale is a normal f16");
      double bound = d16 * ((0.5 + 127 * 0x1p-11) / (1 - 0x1p-11) + 0x1p-15);
      for (int j = 0; j < 32; j++) {
        float decoded = q.get(b * 34 + 2 + j) * d16;
        assertTrue(Math.abs(x[b * 32 + j] - decoded) <= bound, "block " + b + " weight " + j);
      }
    }
  }

  /**
   * Q4_0: q = trunc(x/d + 8.5) rounds x/d half up, off by at most half a step, except that the cap
   * at 15 turns x/d in [7.5, 8] (weights of the sign opposite to the largest) into 7, off by up to
   * a whole step. The f16 scale adds at most 8 * d * 2^-11, with d <= |d16| / (1 - 2^-11), and
   * float32 rounding under 2^-15 steps, as for Q8_0.
   */
  @Test
  void q4_0RoundTripWithinHalfAStepExceptAtTheCap() {
    SplittableRandom rng = new SplittableRandom(11);
    float[] x = randomWeights(rng, 64);
    ByteBuffer q = ByteBuffer.allocate(64 * 18).order(ByteOrder.LITTLE_ENDIAN);
    BlockQuantizers.quantizeQ4_0(x, 0, q, 0, 64);
    for (int b = 0; b < 64; b++) {
      float d16 = DType.f16ToFloat(q.getShort(b * 18));
      double step = Math.abs(d16);
      assertTrue(step >= 0x1p-14, "block " + b + " scale is a normal f16");
      for (int j = 0; j < 32; j++) {
        int packed = q.get(b * 18 + 2 + j % 16) & 0xFF;
        int nibble = j < 16 ? packed & 0xF : packed >>> 4;
        float decoded = (nibble - 8) * d16;
        double steps = nibble == 15 ? 1 : 0.5;
        double bound = step * ((steps + 8 * 0x1p-11) / (1 - 0x1p-11) + 0x1p-15);
        assertTrue(Math.abs(x[b * 32 + j] - decoded) <= bound, "block " + b + " weight " + j);
      }
    }
  }

  /** Both signs, magnitudes spread over four decades: most weights far below their block's amax. */
  private static float[] randomWeights(SplittableRandom rng, int blocks) {
    float[] x = new float[blocks * 32];
    for (int i = 0; i < x.length; i++) {
      double u = rng.nextDouble(-1, 1);
      x[i] = (float) (u * Math.pow(10, rng.nextDouble(-3, 1)));
    }
    return x;
  }

  private static boolean allZero(byte[] a, int from, int to) {
    for (int i = from; i < to; i++) {
      if (a[i] != 0) {
        return false;
      }
    }
    return true;
  }
}
