package org.dbrxspark.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The KV storage types: parsing, and the vector widening against the scalar one on every 16-bit pattern. */
class KvDTypeTest {
  @Test
  void vectorWideningEqualsScalarWideningForEveryEncoding() {
    // One odd count, so the scalar tail runs too.
    int count = 65536 - 3;
    short[] all = new short[count];
    for (int i = 0; i < count; i++) {
      all[i] = (short) (i + 3);
    }
    for (KvDType dtype : new KvDType[] {KvDType.F16, KvDType.BF16}) {
      float[] widened = new float[count];
      dtype.widen(all, widened, count);
      for (int i = 0; i < count; i++) {
        float want = dtype.widen(all[i]);
        if (Float.isNaN(want)) {
          assertTrue(Float.isNaN(widened[i]), dtype + " " + Integer.toHexString(all[i] & 0xFFFF));
        } else {
          assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(widened[i]),
              dtype + " " + Integer.toHexString(all[i] & 0xFFFF));
        }
      }
    }
  }

  @Test
  void labelsParseAndUnknownOnesAreNamed() {
    for (KvDType dtype : KvDType.values()) {
      assertEquals(dtype, KvDType.parse(dtype.label()));
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvDType.parse("fp8"));
    assertEquals("unknown KV cache dtype 'fp8' (known: f32, f16, bf16)", e.getMessage());
  }
}
