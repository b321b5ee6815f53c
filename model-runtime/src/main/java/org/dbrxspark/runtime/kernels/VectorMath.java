package org.dbrxspark.runtime.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised dot product and axpy over float arrays: the inner loops of attention and the kernels.
 * Both accumulate in a fixed order, so a result never depends on what else is batched.
 */
public final class VectorMath {
  private static final VectorSpecies<Float> F = KernelShape.FLOATS;
  private static final int LANES = F.length();

  /**
   * Each thread's buffer for {@link #sumLanes}: it runs per dot product, too often to allocate. As
   * long as the widest vector of the processor or of the kernels ({@link KernelShape}).
   */
  private static final ThreadLocal<float[]> LANE_BUFFER =
      ThreadLocal.withInitial(() -> new float[Math.max(FloatVector.SPECIES_MAX.length(), LANES)]);

  private VectorMath() {}

  /** Σ a[aOff + i] · b[bOff + i] for i in [0, len). */
  public static float dot(float[] a, int aOff, float[] b, int bOff, int len) {
    FloatVector acc = FloatVector.zero(F);
    int bound = F.loopBound(len);
    int i = 0;
    for (; i < bound; i += LANES) {
      acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
    }
    float sum = sumLanes(acc);
    for (; i < len; i++) {
      sum += a[aOff + i] * b[bOff + i];
    }
    return sum;
  }

  /**
   * The lanes' sum, added in lane order. Not {@code reduceLanes}: its order is unspecified and may
   * differ between the interpreted and the compiled code, which would make results depend on JIT
   * warm-up. Not {@code lane(i)} in a loop either: with a variable index C2 does not intrinsify it,
   * and the Java fallback cost a quarter of prefill's time.
   */
  public static float sumLanes(FloatVector v) {
    float[] lanes = LANE_BUFFER.get();
    v.intoArray(lanes, 0);
    float sum = 0;
    for (int i = 0; i < v.length(); i++) {
      sum += lanes[i];
    }
    return sum;
  }

  /** y[yOff + i] += alpha · x[xOff + i] for i in [0, len). */
  public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int len) {
    if (alpha == 0f) {
      return;
    }
    FloatVector av = FloatVector.broadcast(F, alpha);
    int bound = F.loopBound(len);
    int i = 0;
    for (; i < bound; i += LANES) {
      FloatVector.fromArray(F, x, xOff + i)
          .fma(av, FloatVector.fromArray(F, y, yOff + i))
          .intoArray(y, yOff + i);
    }
    for (; i < len; i++) {
      y[yOff + i] += alpha * x[xOff + i];
    }
  }
}
