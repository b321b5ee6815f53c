package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Checks {@link KQuantizers} byte for byte against ggml's C reference quantizers (resources {@code
 * kquants/kquant-input.f32} and {@code q4_k.quant.bin} etc.; see that folder's README.md), and
 * round trips through {@link KQuants}.
 */
class KQuantizersTest {
  private interface Quantizer {
    void quantize(float[] src, int srcOffset, ByteBuffer dst, int dstOffset, int blocks);
  }

  /**
   * The three K-quants with their quantizer, reference file and round-trip bounds on normal
   * weights, as fractions of sigma. ggml's quantizers give RMS errors of about 0.072, 0.036 and
   * 0.018 sigma there, and largest errors about 0.26, 0.15 and 0.07 sigma over 100k weights (about
   * half a code step: a sub-block's range over 15, 31 or 63); the bounds leave margin.
   */
  enum Kind {
    Q4_K(DType.Q4_K, KQuantizers::quantizeQ4K, "q4_k", 0.08, 0.35),
    Q5_K(DType.Q5_K, KQuantizers::quantizeQ5K, "q5_k", 0.04, 0.2),
    Q6_K(DType.Q6_K, KQuantizers::quantizeQ6K, "q6_k", 0.02, 0.1);

    final DType type;
    final Quantizer quantizer;
    final String file;
    final double rmsError;
    final double maxError;

    Kind(DType type, Quantizer quantizer, String file, double rmsError, double maxError) {
      this.type = type;
      this.quantizer = quantizer;
      this.file = file;
      this.rmsError = rmsError;
      this.maxError = maxError;
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void matchesGgml(Kind kind) throws IOException {
    float[] x = KQuantsTest.floats(KQuantsTest.resource("kquant-input.f32"));
    byte[] expected = KQuantsTest.resource(kind.file + ".quant.bin");
    int blocks = x.length / KQuants.BLOCK_SIZE;
    assertEquals(blocks * kind.type.blockBytes(), expected.length);
    ByteBuffer dst = ByteBuffer.allocate(expected.length);
    kind.quantizer.quantize(x, 0, dst, 0, blocks);
    for (int b = 0; b < blocks; b++) {
      int from = b * kind.type.blockBytes();
      int to = from + kind.type.blockBytes();
      assertArrayEquals(
          Arrays.copyOfRange(expected, from, to),
          Arrays.copyOfRange(dst.array(), from, to),
          "block " + b);
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void offsetsAreHonouredAndBufferIsUntouched(Kind kind) throws IOException {
    float[] x = KQuantsTest.floats(KQuantsTest.resource("kquant-input.f32"));
    byte[] expected = KQuantsTest.resource(kind.file + ".quant.bin");
    int bytes = kind.type.blockBytes();
    float[] src = Arrays.copyOf(x, x.length);
    // Big-endian (the default), position moved, odd offset: none of which may matter.
    ByteBuffer dst = ByteBuffer.allocate(5 * bytes);
    dst.position(11);
    kind.quantizer.quantize(src, 3 * KQuants.BLOCK_SIZE, dst, 7, 4);
    assertEquals(11, dst.position());
    assertArrayEquals(
        Arrays.copyOfRange(expected, 3 * bytes, 7 * bytes),
        Arrays.copyOfRange(dst.array(), 7, 7 + 4 * bytes));
    assertTrue(allZero(dst.array(), 0, 7) && allZero(dst.array(), 7 + 4 * bytes, 5 * bytes));
    assertArrayEquals(x, src);
  }

  /**
   * Through DType, the way GGUF files are written: normal weights at three scales decode within the
   * kind's RMS and largest-error bounds, and an all-zero block stays exactly zero. (At sigma 1e-3
   * and below the f16 super-block scales become subnormal and the errors grow: in ggml too.)
   */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void roundTripStaysClose(Kind kind) {
    SplittableRandom rng = new SplittableRandom(5);
    for (double sigma : new double[] {0.02, 1, 300}) {
      float[] x = new float[64 * KQuants.BLOCK_SIZE];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) (sigma * gaussian(rng));
      }
      float[] y = roundTrip(kind.type, x);
      double squares = 0;
      for (int i = 0; i < x.length; i++) {
        assertEquals(x[i], y[i], kind.maxError * sigma, "sigma " + sigma + " weight " + i);
        squares += (x[i] - y[i]) * (x[i] - y[i]);
      }
      double rms = Math.sqrt(squares / x.length);
      assertTrue(rms <= kind.rmsError * sigma, "sigma " + sigma + ": RMS error " + rms);
    }
    // Zero, up to sign: Q6_K decodes its zero block as 0 * (0 - 32).
    for (float v : roundTrip(kind.type, new float[KQuants.BLOCK_SIZE])) {
      assertEquals(0f, v, 0f);
    }
  }

  private static float[] roundTrip(DType type, float[] x) {
    ByteBuffer q =
        ByteBuffer.allocate(Math.toIntExact(type.bytesFor(x.length)))
            .order(ByteOrder.LITTLE_ENDIAN);
    type.put(x, 0, x.length, q);
    assertEquals(q.capacity(), q.position());
    float[] y = new float[x.length];
    type.decode(q, 0, y, 0, x.length);
    return y;
  }

  private static double gaussian(SplittableRandom rng) {
    // Box-Muller: SplittableRandom has no nextGaussian on Java 17.
    return Math.sqrt(-2 * Math.log(1 - rng.nextDouble()))
        * Math.cos(2 * Math.PI * rng.nextDouble());
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
