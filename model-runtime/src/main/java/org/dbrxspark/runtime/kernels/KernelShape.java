package org.dbrxspark.runtime.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shape every CPU kernel computes in: the processor's preferred one (256 bits on AVX2,
 * 512 on AVX-512). The system property {@code dbrx.kernels.vectorBits} (128, 256 or 512) names
 * another, for the build's tests: the Vector API computes any shape on any processor, without its
 * instructions where the processor has none, so an AVX2 build host still runs the kernels' 512-bit
 * code (far slower, and with the same results). {@code -XX:MaxVectorSize} can only lower the
 * preferred shape.
 */
final class KernelShape {
  static final String PROPERTY = "dbrx.kernels.vectorBits";

  private static final VectorShape SHAPE = shape(System.getProperty(PROPERTY));

  /** Floats of the kernels' shape. */
  static final VectorSpecies<Float> FLOATS = VectorSpecies.of(float.class, SHAPE);

  /** Ints of the kernels' shape. */
  static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, SHAPE);

  private KernelShape() {}

  private static VectorShape shape(String bits) {
    if (bits == null) {
      return FloatVector.SPECIES_PREFERRED.vectorShape();
    }
    switch (bits.trim()) {
      case "128", "256", "512":
        return VectorShape.forBitSize(Integer.parseInt(bits.trim()));
      default:
        throw new IllegalArgumentException(
            "system property " + PROPERTY + " is '" + bits + "'; it takes 128, 256 or 512");
    }
  }
}
