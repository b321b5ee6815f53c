package org.dbrxspark.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.backend.KvStorage;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.junit.jupiter.api.Test;

/**
 * The CPU KV storage's vector widening against the scalar one on every 16-bit pattern, and its
 * block copy.
 */
class CpuKvStorageTest {
  @Test
  void aCopiedBlockHoldsEveryPositionOfItsSourceAndTheSourceIsUnchanged() {
    // 2 layers, 2 KV heads of 8.
    DbrxConfig config =
        new DbrxConfig(
            32,
            4,
            2,
            64,
            103,
            2,
            2.0,
            10000.0,
            20,
            5,
            2,
            1.0,
            DbrxConfig.Activation.SILU,
            "float32");
    int heads = 2;
    int headDim = 8;
    for (KvDType dtype : KvDType.values()) {
      CpuKvStorage storage = new CpuKvStorage(config, dtype);
      storage.ensureBlocks(3);
      SplittableRandom random = new SplittableRandom(3);
      for (int layer = 0; layer < 2; layer++) {
        for (int kind : new int[] {CpuKvStorage.KEYS, CpuKvStorage.VALUES}) {
          for (int slot = 0; slot < KvStorage.BLOCK_TOKENS; slot++) {
            float[] row = new float[heads * headDim];
            for (int i = 0; i < row.length; i++) {
              row[i] = (float) random.nextDouble(-4, 4);
            }
            storage.write(0, layer, kind, slot, row, 0);
            storage.write(1, layer, kind, slot, row, 0);
          }
        }
      }
      storage.copyBlock(0, 2);
      for (int layer = 0; layer < 2; layer++) {
        for (int kind : new int[] {CpuKvStorage.KEYS, CpuKvStorage.VALUES}) {
          for (int head = 0; head < heads; head++) {
            float[] want = new float[KvStorage.BLOCK_TOKENS * headDim];
            float[] source = new float[want.length];
            float[] copy = new float[want.length];
            storage.read(1, layer, kind, head, KvStorage.BLOCK_TOKENS, want);
            storage.read(0, layer, kind, head, KvStorage.BLOCK_TOKENS, source);
            storage.read(2, layer, kind, head, KvStorage.BLOCK_TOKENS, copy);
            String where = dtype + " layer " + layer + " kind " + kind + " head " + head;
            assertArrayEquals(want, copy, where);
            assertArrayEquals(want, source, where);
          }
        }
      }
    }
  }

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
