package org.dbrxspark.runtime.kernels;

import java.util.List;

/**
 * The matrix multiplies of the CPU backend ({@link CpuBackend}).
 *
 * <p>Activations are row-major float arrays of {@code n} rows (one per token). Weights stay in
 * their checkpoint dtype; implementations widen them to float32 and accumulate in float32.
 */
interface Kernels extends AutoCloseable {

  /**
   * {@code out[t, j] = Σ_i x[t, i] · w[j, i]}: the nn.Linear form, for weights stored {@code
   * [outFeatures, inFeatures]}. {@code x} is {@code [n, w.cols]}, {@code out} is {@code [n,
   * w.rows]}.
   */
  default void matmulTransposed(float[] x, int n, WeightMatrix w, float[] out) {
    matmulTransposed(List.of(new Product(x, n, w, out)));
  }

  /**
   * {@code out[t, j] = Σ_i x[t, i] · w[i, j]}: for weights stored {@code [inFeatures, outFeatures]}
   * (DBRX's expert down-projection). {@code x} is {@code [n, w.rows]}, {@code out} is {@code [n,
   * w.cols]}.
   */
  default void matmul(float[] x, int n, WeightMatrix w, float[] out) {
    matmul(List.of(new Product(x, n, w, out)));
  }

  /**
   * Several independent {@link #matmulTransposed(float[], int, WeightMatrix, float[])} products in
   * one parallel pass (a grouped GEMM): the experts of a layer, say, whose matrices are each too
   * small to keep every thread busy on their own.
   */
  void matmulTransposed(List<Product> products);

  /**
   * Several independent {@link #matmul(float[], int, WeightMatrix, float[])} products in one
   * parallel pass.
   */
  void matmul(List<Product> products);

  /**
   * Runs {@code body(i)} for i in {@code [0, count)} on the kernels' threads; returns when all are
   * done.
   */
  void parallelFor(int count, java.util.function.IntConsumer body);

  /**
   * Runs {@code body.run(from, to)} over {@code [0, count)} cut into ranges of at least {@code
   * grain} items, a few per thread, on the kernels' threads; returns when all are done. For per-row
   * work whose rows are independent, so any cut gives the same results.
   */
  default void parallelRanges(int count, int grain, RangeBody body) {
    int pieces = (int) Math.min(threads() * 4L, count / Math.max(1, grain));
    if (pieces <= 1) {
      body.run(0, count);
      return;
    }
    parallelFor(
        pieces,
        p -> body.run((int) ((long) count * p / pieces), (int) ((long) count * (p + 1) / pieces)));
  }

  /** A body that handles the index range {@code [from, to)}. */
  @FunctionalInterface
  interface RangeBody {
    void run(int from, int to);
  }

  /** Threads the kernels use. */
  int threads();

  /** Stops the kernels' threads. */
  @Override
  void close();

  /**
   * One product of a grouped call: {@code n} rows of activations {@code x}, a weight matrix, the
   * output.
   */
  record Product(float[] x, int n, WeightMatrix w, float[] out) {}

  /** CPU kernels on the JDK Vector API, using {@code threads} threads. */
  static Kernels cpu(int threads) {
    return new CpuKernels(threads);
  }
}
