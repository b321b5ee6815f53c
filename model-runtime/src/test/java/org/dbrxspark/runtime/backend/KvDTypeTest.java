package org.dbrxspark.runtime.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The KV storage types' names. */
class KvDTypeTest {
  @Test
  void labelsParseAndUnknownOnesAreNamed() {
    for (KvDType dtype : KvDType.values()) {
      assertEquals(dtype, KvDType.parse(dtype.label()));
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> KvDType.parse("fp8"));
    assertEquals("unknown KV cache dtype 'fp8' (known: f32, f16, bf16)", e.getMessage());
  }
}
