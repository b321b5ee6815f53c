package org.dbrxspark.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.dbrxspark.runtime.backend.KvDType;
import org.junit.jupiter.api.Test;

/** The CPU KV storage's vector widening against the scalar one on every 16-bit pattern. */
class CpuKvStorageTest {
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
      CpuKvStorage.widen(dtype, all, widened, count);
      for (int i = 0; i < count; i++) {
        float want = CpuKvStorage.widen(dtype, all[i]);
        if (Float.isNaN(want)) {
          assertTrue(Float.isNaN(widened[i]), dtype + " " + Integer.toHexString(all[i] & 0xFFFF));
        } else {
          assertEquals(
              Float.floatToRawIntBits(want),
              Float.floatToRawIntBits(widened[i]),
              dtype + " " + Integer.toHexString(all[i] & 0xFFFF));
        }
      }
    }
  }
}
