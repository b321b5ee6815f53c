package org.dbrxspark.runtime.kernels;

/**
 * The matrix multiplies of the forward pass: the one seam a GPU backend plugs in behind.
 *
 * <p>Activations are row-major float arrays of {@code n} rows (one per token). Weights stay in their
 * checkpoint dtype; implementations widen them to float32 and accumulate in float32.
 */
public interface Kernels extends AutoCloseable {

  /**
   * {@code out[t, j] = Σ_i x[t, i] · w[j, i]}: the nn.Linear form, for weights stored
   * {@code [outFeatures, inFeatures]}. {@code x} is {@code [n, w.cols]}, {@code out} is
   * {@code [n, w.rows]}.
   */
  void matmulTransposed(float[] x, int n, WeightMatrix w, float[] out);

  /**
   * {@code out[t, j] = Σ_i x[t, i] · w[i, j]}: for weights stored {@code [inFeatures,
   * outFeatures]} (DBRX's expert down-projection). {@code x} is {@code [n, w.rows]}, {@code out}
   * is {@code [n, w.cols]}.
   */
  void matmul(float[] x, int n, WeightMatrix w, float[] out);

  /** Runs {@code body(i)} for i in {@code [0, count)} on the kernels' threads; returns when all are done. */
  void parallelFor(int count, java.util.function.IntConsumer body);

  /** Threads the kernels use. */
  int threads();

  /** Stops the kernels' threads. */
  @Override
  void close();

  /** CPU kernels on the JDK Vector API, using {@code threads} threads. */
  static Kernels cpu(int threads) {
    return new CpuKernels(threads);
  }
}
