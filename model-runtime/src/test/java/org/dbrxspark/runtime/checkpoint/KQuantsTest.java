package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Checks {@link KQuants} against blocks decoded by an independent implementation: the numpy {@code
 * dequantize} of llama.cpp's gguf-py ({@code gguf/quants.py}, the PyPI release gguf 0.19.0), whose
 * Q4_K/Q5_K/Q6_K code performs the same float32 operations in the same order as ggml's C {@code
 * dequantize_row_*}; all products in them are exact, so there is no rounding order to disagree on
 * and the comparison is bit-exact, with no tolerance. How the resources in {@code kquants/} were
 * made is in their README.md.
 */
class KQuantsTest {
  private interface Decoder {
    void decode(ByteBuffer src, int srcOffset, float[] dst, int dstOffset, int blocks);
  }

  @Test
  void q4kMatchesReference() throws IOException {
    assertMatchesReference("q4_k", KQuants.Q4_K_BYTES, KQuants::dequantizeQ4K);
  }

  @Test
  void q5kMatchesReference() throws IOException {
    assertMatchesReference("q5_k", KQuants.Q5_K_BYTES, KQuants::dequantizeQ5K);
  }

  @Test
  void q6kMatchesReference() throws IOException {
    assertMatchesReference("q6_k", KQuants.Q6_K_BYTES, KQuants::dequantizeQ6K);
  }

  @Test
  void offsetsAreHonouredAndBufferIsUntouched() throws IOException {
    assertOffsetsHonoured("q4_k", KQuants.Q4_K_BYTES, KQuants::dequantizeQ4K);
    assertOffsetsHonoured("q5_k", KQuants.Q5_K_BYTES, KQuants::dequantizeQ5K);
    assertOffsetsHonoured("q6_k", KQuants.Q6_K_BYTES, KQuants::dequantizeQ6K);
  }

  /**
   * Hand-made Q4_K block: d = 1, dmin = 0.5; sub-block j has scale j+1 and min j, except sub-block
   * 7 with scale 63 and min 33, which need the two high bits stored in bytes 3 and 7. Every quant
   * byte is 0x21, so even sub-blocks (low nibbles) have q = 1 and odd ones q = 2.
   */
  @Test
  void q4kHandMadeBlock() {
    ByteBuffer b = ByteBuffer.allocate(KQuants.Q4_K_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort((short) 0x3C00).putShort((short) 0x3800); // f16 1.0, 0.5
    b.put(handMadeScales());
    fill(b, 128, 0x21);
    float[] y = decode(b, KQuants::dequantizeQ4K);
    // d*scale*q - dmin*min: 1*1*1 - 0, 1*2*2 - 0.5, 3*1 - 1, 4*2 - 1.5, 5*1 - 2, 6*2 - 2.5,
    // 7*1 - 3, 63*2 - 16.5
    float[] perSubBlock = {1f, 3.5f, 2f, 6.5f, 3f, 9.5f, 4f, 109.5f};
    for (int i = 0; i < 256; i++) {
      assertEquals(perSubBlock[i / 32], y[i], "element " + i);
    }
  }

  /**
   * The Q4_K block above with qh added: qh[l] = 0x80 sets the fifth bit of every weight of
   * sub-block 7 (q = 2 + 16), and qh[0] = 0x81 also that of weight 0 of sub-block 0 (q = 1 + 16).
   */
  @Test
  void q5kHandMadeBlock() {
    ByteBuffer b = ByteBuffer.allocate(KQuants.Q5_K_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort((short) 0x3C00).putShort((short) 0x3800);
    b.put(handMadeScales());
    b.put((byte) 0x81);
    fill(b, 31, 0x80);
    fill(b, 128, 0x21);
    float[] y = decode(b, KQuants::dequantizeQ5K);
    float[] perSubBlock = {1f, 3.5f, 2f, 6.5f, 3f, 9.5f, 4f, 63 * 18 - 16.5f};
    assertEquals(17f, y[0]);
    for (int i = 1; i < 256; i++) {
      assertEquals(perSubBlock[i / 32], y[i], "element " + i);
    }
  }

  /**
   * Hand-made Q6_K block: d = 0.25, scale of 16-weight group g is g - 8. Every ql byte is 0x21 (low
   * nibble 1, high 2) and every qh byte 0xE4 (two-bit fields 0, 1, 2, 3 from the low end), so
   * within each half of 128 weights, quarters 0..3 hold q = 1, 17, 34, 50, minus 32 that is -31,
   * -15, 2, 18.
   */
  @Test
  void q6kHandMadeBlock() {
    ByteBuffer b = ByteBuffer.allocate(KQuants.Q6_K_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    fill(b, 128, 0x21);
    fill(b, 64, 0xE4);
    for (int g = 0; g < 16; g++) {
      b.put((byte) (g - 8));
    }
    b.putShort((short) 0x3400); // f16 0.25
    float[] y = decode(b, KQuants::dequantizeQ6K);
    assertEquals(62f, y[0]); // 0.25 * -8 * -31
    assertEquals(2f, y[200]); // group 12 (scale 4), quarter 2 of the second half (q 2)
    assertEquals(31.5f, y[255]); // 0.25 * 7 * 18
    int[] perQuarter = {-31, -15, 2, 18};
    for (int i = 0; i < 256; i++) {
      assertEquals(0.25f * (i / 16 - 8) * perQuarter[i % 128 / 32], y[i], "element " + i);
    }
  }

  /**
   * Scales j+1 and mins j for sub-blocks 0..6; sub-block 7 has scale 63 (low nibble 0xF in byte 11,
   * high bits 0b11 on top of byte 3) and min 33 (low nibble 1 in byte 11, high bits 0b10 on top of
   * byte 7).
   */
  private static byte[] handMadeScales() {
    return new byte[] {1, 2, 3, (byte) 0xC4, 0, 1, 2, (byte) 0x83, 0x45, 0x56, 0x67, 0x1F};
  }

  private static void fill(ByteBuffer b, int count, int value) {
    for (int i = 0; i < count; i++) {
      b.put((byte) value);
    }
  }

  private static float[] decode(ByteBuffer block, Decoder decoder) {
    assertEquals(block.capacity(), block.position(), "hand-made block fills its bytes exactly");
    float[] y = new float[KQuants.BLOCK_SIZE];
    decoder.decode(block, 0, y, 0, 1);
    return y;
  }

  private static void assertMatchesReference(String name, int blockBytes, Decoder decoder)
      throws IOException {
    byte[] raw = resource(name + ".bin");
    float[] expected = floats(resource(name + ".expected.f32"));
    int blocks = raw.length / blockBytes;
    assertEquals(blocks * KQuants.BLOCK_SIZE, expected.length);
    float[] actual = new float[expected.length];
    decoder.decode(ByteBuffer.wrap(raw), 0, actual, 0, blocks);
    for (int i = 0; i < expected.length; i++) {
      int at = i;
      assertEquals(
          Float.floatToRawIntBits(expected[i]),
          Float.floatToRawIntBits(actual[i]),
          () ->
              name
                  + " block "
                  + at / KQuants.BLOCK_SIZE
                  + " element "
                  + at % KQuants.BLOCK_SIZE
                  + ": expected "
                  + expected[at]
                  + ", got "
                  + actual[at]);
    }
  }

  private static void assertOffsetsHonoured(String name, int blockBytes, Decoder decoder)
      throws IOException {
    byte[] raw = resource(name + ".bin");
    float[] expected = floats(resource(name + ".expected.f32"));
    // Three blocks from block 2, at an odd byte offset of a big-endian, read-only buffer.
    int srcOffset = 7;
    ByteBuffer src = ByteBuffer.allocate(srcOffset + 3 * blockBytes + 5);
    src.position(srcOffset);
    src.put(raw, 2 * blockBytes, 3 * blockBytes);
    src.position(3);
    ByteBuffer readOnly = src.asReadOnlyBuffer();
    int dstOffset = 5;
    float[] dst = new float[dstOffset + 3 * KQuants.BLOCK_SIZE + 4];
    Arrays.fill(dst, -7f);
    decoder.decode(readOnly, srcOffset, dst, dstOffset, 3);
    assertEquals(3, readOnly.position(), name);
    assertEquals(ByteOrder.BIG_ENDIAN, readOnly.order(), name);
    for (int i = 0; i < dst.length; i++) {
      boolean inside = i >= dstOffset && i < dstOffset + 3 * KQuants.BLOCK_SIZE;
      float want = inside ? expected[2 * KQuants.BLOCK_SIZE + i - dstOffset] : -7f;
      assertEquals(
          Float.floatToRawIntBits(want), Float.floatToRawIntBits(dst[i]), name + " dst[" + i + "]");
    }
  }

  static byte[] resource(String name) throws IOException {
    try (InputStream in = KQuantsTest.class.getResourceAsStream("/kquants/" + name)) {
      assertNotNull(in, "test resource kquants/" + name);
      return in.readAllBytes();
    }
  }

  static float[] floats(byte[] bytes) {
    assertTrue(bytes.length % 4 == 0);
    float[] f = new float[bytes.length / 4];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
    return f;
  }
}
