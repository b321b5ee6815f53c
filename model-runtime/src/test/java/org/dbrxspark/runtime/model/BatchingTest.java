package org.dbrxspark.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;
import org.dbrxspark.runtime.kernels.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The KV cache and batching change how work is grouped, never the numbers. */
class BatchingTest {
  private static DbrxModel model;
  private static int d;

  @BeforeAll
  static void load() throws Exception {
    model = DbrxModel.load(GoldenSets.dir("tiny-bf16"), new CpuBackend(2));
    d = model.config().dModel();
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static final int[] A = {5, 900, 17, 333, 1023, 0, 64, 12, 12, 400};
  private static final int[] B = {7, 8, 9};
  private static final int[] C = {1000, 2, 3, 4, 5, 6, 7};

  @Test
  void incrementalDecodingWithTheCacheEqualsAFullRecompute() {
    float[] full = model.forward(List.of(new Step(model.newCache(), A, true)));
    KvCache cache = model.newCache();
    float[] incremental = new float[full.length];
    float[] prefix = model.forward(List.of(new Step(cache, Arrays.copyOf(A, 4), true)));
    System.arraycopy(prefix, 0, incremental, 0, prefix.length);
    for (int t = 4; t < A.length; t++) {
      float[] row = model.forward(List.of(new Step(cache, new int[] {A[t]}, false)));
      System.arraycopy(row, 0, incremental, t * d, d);
    }
    assertEquals(A.length, cache.length());
    assertArrayEquals(full, incremental);
  }

  @Test
  void aMixedLengthBatchGivesEachSequenceItsOwnResult() {
    float[] alone =
        concat(
            model.forward(List.of(new Step(model.newCache(), A, true))),
            model.forward(List.of(new Step(model.newCache(), B, false))),
            model.forward(List.of(new Step(model.newCache(), C, true))));
    float[] batched =
        model.forward(
            List.of(
                new Step(model.newCache(), A, true),
                new Step(model.newCache(), B, false),
                new Step(model.newCache(), C, true)));
    assertArrayEquals(alone, batched);
  }

  @Test
  void prefillAndDecodeStepsShareOneBatch() {
    KvCache decoding = model.newCache();
    model.forward(List.of(new Step(decoding, Arrays.copyOf(A, 9), false)));
    float[] mixed =
        model.forward(
            List.of(
                new Step(decoding, new int[] {A[9]}, false), new Step(model.newCache(), C, false)));
    float[] aFull = model.forward(List.of(new Step(model.newCache(), A, false)));
    float[] cFull = model.forward(List.of(new Step(model.newCache(), C, false)));
    assertArrayEquals(concat(aFull, cFull), mixed);
  }

  @Test
  void tokensOutsideTheVocabularyAreRejectedByName() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> model.forward(List.of(new Step(model.newCache(), new int[] {1, 5000}, false))));
    assertEquals("token id 5000 is outside the vocabulary [0, 1024)", e.getMessage());
  }

  @Test
  void sequencesLongerThanMaxSeqLenAreRejected() {
    int[] tooLong = new int[model.config().maxSeqLen() + 1];
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> model.forward(List.of(new Step(model.newCache(), tooLong, false))));
    assertEquals("sequence of 257 tokens exceeds the model's max_seq_len 256", e.getMessage());
  }

  private static float[] concat(float[]... parts) {
    int total = 0;
    for (float[] p : parts) {
      total += p.length;
    }
    float[] out = new float[total];
    int off = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, out, off, p.length);
      off += p.length;
    }
    return out;
  }
}
