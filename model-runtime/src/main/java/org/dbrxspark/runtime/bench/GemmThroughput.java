package org.dbrxspark.runtime.bench;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The machine's float32 GEMM throughput through ND4J (OpenBLAS): the compute roofline. */
public final class GemmThroughput {
  private GemmThroughput() {}

  /**
   * Whether ND4J is on the class path: it is an optional dependency of the runtime, and bundles
   * that leave out its large native jars (scripts/device-check) measure without this roofline.
   */
  public static boolean available() {
    try {
      Class.forName("org.nd4j.linalg.factory.Nd4j", false, GemmThroughput.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  /** Best-of-{@code repeats} FLOP/s of an n x n x n float32 matrix multiply. */
  public static double measure(int n, int repeats) {
    INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
    INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
    INDArray c = Nd4j.create(DataType.FLOAT, n, n);
    double best = 0;
    for (int r = 0; r < repeats + 2; r++) {
      long start = System.nanoTime();
      Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
      double seconds = (System.nanoTime() - start) / 1e9;
      if (r >= 2) {
        best = Math.max(best, 2.0 * n * n * n / seconds);
      }
    }
    return best;
  }
}
