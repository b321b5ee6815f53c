package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;

class DTypeTest {

  @Test
  void byteSizesAndNames() {
    assertEquals(2, DType.BF16.byteSize());
    assertEquals(2, DType.F16.byteSize());
    assertEquals(4, DType.F32.byteSize());
    assertEquals("bfloat16", DType.BF16.torchName());
  }

  @Test
  void parseNamesFileAndTensorOnUnsupportedDtype() throws Exception {
    assertEquals(DType.BF16, DType.parse("BF16", Path.of("x"), "t"));
    CheckpointFormatException e =
        assertThrows(
            CheckpointFormatException.class,
            () -> DType.parse("F64", Path.of("/d/model.safetensors"), "lm_head.weight"));
    assertTrue(e.getMessage().contains("/d/model.safetensors"), e.getMessage());
    assertTrue(e.getMessage().contains("lm_head.weight"), e.getMessage());
    assertTrue(e.getMessage().contains("F64"), e.getMessage());
    assertThrows(CheckpointFormatException.class, () -> DType.parse("bf16", Path.of("x"), "t"));
  }

  @Test
  void bf16KnownValues() {
    assertEquals(1.0f, DType.bf16ToFloat((short) 0x3F80));
    assertEquals(-2.0f, DType.bf16ToFloat((short) 0xC000));
    assertEquals(0.0341796875f, DType.bf16ToFloat((short) 0x3D0C));
    assertEquals(Float.POSITIVE_INFINITY, DType.bf16ToFloat((short) 0x7F80));
    assertEquals(Float.NEGATIVE_INFINITY, DType.bf16ToFloat((short) 0xFF80));
    assertTrue(Float.isNaN(DType.bf16ToFloat((short) 0x7FC0)));
    assertEquals(0x1p-133f, DType.bf16ToFloat((short) 0x0001)); // smallest subnormal
    assertEquals(
        Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(DType.bf16ToFloat((short) 0x8000)));
  }

  @Test
  void floatToBf16RoundsTiesToEvenAndKeepsNan() {
    assertEquals(
        (short) 0x3F80, DType.floatToBf16(Float.intBitsToFloat(0x3F808000))); // tie, even below
    assertEquals(
        (short) 0x3F82, DType.floatToBf16(Float.intBitsToFloat(0x3F818000))); // tie, even above
    assertEquals((short) 0x3F81, DType.floatToBf16(Float.intBitsToFloat(0x3F808001)));
    assertEquals((short) 0x3F80, DType.floatToBf16(Float.intBitsToFloat(0x3F807FFF)));
    assertEquals((short) 0x7F80, DType.floatToBf16(Float.MAX_VALUE)); // rounds up to infinity
    assertEquals((short) 0xFF80, DType.floatToBf16(Float.NEGATIVE_INFINITY));
    // A NaN whose payload is only in the dropped half must not become infinity.
    assertTrue(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(Float.intBitsToFloat(0x7F800001)))));
    assertTrue(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(Float.intBitsToFloat(0xFFFFFFFF)))));
  }

  @Test
  void bf16RoundTripsEveryBitPattern() {
    for (int h = 0; h <= 0xFFFF; h++) {
      float f = DType.bf16ToFloat((short) h);
      if (Float.isNaN(f)) {
        assertTrue(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(f))));
      } else {
        assertEquals(h, DType.floatToBf16(f) & 0xFFFF, Integer.toHexString(h));
      }
    }
  }

  @Test
  void floatToBf16IsNearestEven() {
    // Magnitude m's value; infinity counts as 2^128 (where rounding sends overflow).
    IntToDoubleFunction value = m -> m == 0x7F80 ? 0x1p128 : DType.bf16ToFloat((short) m);
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < 200_000; i++) {
      int bits = random.nextInt();
      if ((bits & 0x7F800000) == 0x7F800000) {
        continue; // infinities and NaN are tested above
      }
      float f = Float.intBitsToFloat(bits);
      assertNearestEven(f, DType.floatToBf16(f), 0x7F80, value);
    }
  }

  @Test
  void f16MatchesTheIeeeFormulaForEveryBitPattern() {
    for (int h = 0; h <= 0xFFFF; h++) {
      int sign = h >> 15;
      int exponent = (h >> 10) & 0x1F;
      int mantissa = h & 0x3FF;
      double expected;
      if (exponent == 0x1F) {
        expected = mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
      } else if (exponent == 0) {
        expected = Math.scalb((double) mantissa, -24);
      } else {
        expected = Math.scalb(1 + mantissa / 1024.0, exponent - 15);
      }
      expected = sign == 1 ? -expected : expected;
      float actual = DType.f16ToFloat((short) h);
      assertEquals(expected, actual, 0.0, Integer.toHexString(h));
      assertEquals(
          sign == 1, (Float.floatToRawIntBits(actual) < 0), "sign of " + Integer.toHexString(h));
    }
  }

  @Test
  void f16KnownValues() {
    assertEquals(1.0f, DType.f16ToFloat((short) 0x3C00));
    assertEquals(65504f, DType.f16ToFloat((short) 0x7BFF));
    assertEquals(0x1p-24f, DType.f16ToFloat((short) 0x0001));
    assertEquals(1023 * 0x1p-24f, DType.f16ToFloat((short) 0x03FF));
    assertEquals(0x1p-14f, DType.f16ToFloat((short) 0x0400));
    assertEquals(Float.NEGATIVE_INFINITY, DType.f16ToFloat((short) 0xFC00));
    assertTrue(Float.isNaN(DType.f16ToFloat((short) 0x7E00)));

    assertEquals((short) 0x7BFF, DType.floatToF16(65519f));
    assertEquals((short) 0x7C00, DType.floatToF16(65520f)); // tie with odd 65504 goes to infinity
    assertEquals((short) 0xFC00, DType.floatToF16(-1e6f));
    assertEquals((short) 0x0000, DType.floatToF16(0x1p-25f)); // tie between 0 and 2^-24: even
    assertEquals((short) 0x0001, DType.floatToF16(0x1.000002p-25f));
    assertEquals((short) 0x0002, DType.floatToF16(3 * 0x1p-25f)); // tie between 1 and 2 units: even
    assertEquals((short) 0x0400, DType.floatToF16(0x1.ffcp-15f)); // rounds up into the normals
    assertEquals((short) 0x8000, DType.floatToF16(-1e-10f));
    assertEquals(
        (short) 0x3C00, DType.floatToF16(Float.intBitsToFloat(0x3F801000))); // tie, even below
    assertEquals(
        (short) 0x3C02, DType.floatToF16(Float.intBitsToFloat(0x3F803000))); // tie, even above
    assertTrue(Float.isNaN(DType.f16ToFloat(DType.floatToF16(Float.intBitsToFloat(0x7F800001)))));
  }

  @Test
  void f16RoundTripsEveryBitPattern() {
    for (int h = 0; h <= 0xFFFF; h++) {
      float f = DType.f16ToFloat((short) h);
      if (Float.isNaN(f)) {
        assertTrue(Float.isNaN(DType.f16ToFloat(DType.floatToF16(f))));
      } else {
        assertEquals(h, DType.floatToF16(f) & 0xFFFF, Integer.toHexString(h));
      }
    }
  }

  @Test
  void floatToF16IsNearestEven() {
    IntToDoubleFunction value = m -> m == 0x7C00 ? 65536.0 : DType.f16ToFloat((short) m);
    SplittableRandom random = new SplittableRandom(11);
    for (int i = 0; i < 200_000; i++) {
      // Magnitudes below 2^17: the half range, its subnormals and tiny floats, and a little
      // overflow.
      float f =
          Float.intBitsToFloat(
              random.nextInt(0x48000000) | (random.nextBoolean() ? 0x80000000 : 0));
      assertNearestEven(f, DType.floatToF16(f), 0x7C00, value);
    }
  }

  /**
   * {@code rounded}'s magnitude m is at least as close to |f| as m - 1 and m + 1, and even on a
   * tie; values at or beyond {@code infinity} must round to it.
   */
  private static void assertNearestEven(
      float f, short rounded, int infinity, IntToDoubleFunction value) {
    assertEquals(Float.floatToRawIntBits(f) < 0, (rounded & 0x8000) != 0, () -> "sign of " + f);
    int m = rounded & 0x7FFF;
    double x = Math.abs((double) f);
    if (x >= value.applyAsDouble(infinity)) {
      assertEquals(infinity, m, () -> "overflow of " + f);
      return;
    }
    double error = Math.abs(x - value.applyAsDouble(m));
    for (int neighbour : new int[] {m - 1, m + 1}) {
      if (neighbour < 0 || neighbour > infinity) {
        continue;
      }
      double other = Math.abs(x - value.applyAsDouble(neighbour));
      String what = f + " -> 0x" + Integer.toHexString(m);
      assertTrue(error <= other, what + " is not the nearest");
      if (error == other) {
        assertEquals(0, m & 1, what + " is a tie not rounded to even");
      }
    }
  }
}
