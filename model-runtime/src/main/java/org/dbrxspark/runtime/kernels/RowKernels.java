package org.dbrxspark.runtime.kernels;

import org.dbrxspark.runtime.config.DbrxConfig;

/** Per-row operations of the forward pass: small, so plain Java beats any library call. */
final class RowKernels {
  private RowKernels() {}

  /**
   * LayerNorm without bias over rows {@code [from, to)} of {@code x} ([rows, dim]) into {@code
   * out}.
   */
  static void layerNorm(float[] x, int from, int to, int dim, float[] gamma, float[] out) {
    for (int r = from; r < to; r++) {
      int off = r * dim;
      double sum = 0;
      for (int i = 0; i < dim; i++) {
        sum += x[off + i];
      }
      double mean = sum / dim;
      double var = 0;
      for (int i = 0; i < dim; i++) {
        double dev = x[off + i] - mean;
        var += dev * dev;
      }
      double inv = 1.0 / Math.sqrt(var / dim + DbrxConfig.LAYER_NORM_EPS);
      for (int i = 0; i < dim; i++) {
        out[off + i] = (float) ((x[off + i] - mean) * inv) * gamma[i];
      }
    }
  }

  /** In-place softmax of {@code x[off .. off+len)}. */
  static void softmax(float[] x, int off, int len) {
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < len; i++) {
      max = Math.max(max, x[off + i]);
    }
    double sum = 0;
    for (int i = 0; i < len; i++) {
      float e = (float) Math.exp(x[off + i] - max);
      x[off + i] = e;
      sum += e;
    }
    float inv = (float) (1.0 / sum);
    for (int i = 0; i < len; i++) {
      x[off + i] *= inv;
    }
  }

  /** gate[i] = act(gate[i]) * up[i] for i in {@code [from, to)}: the GLU of one expert. */
  static void glu(DbrxConfig.Activation activation, float[] gate, float[] up, int from, int to) {
    for (int i = from; i < to; i++) {
      gate[i] = activate(activation, gate[i]) * up[i];
    }
  }

  private static float activate(DbrxConfig.Activation activation, float z) {
    return switch (activation) {
      case SILU -> z / (1f + (float) Math.exp(-z));
      case GELU -> (float) (0.5 * z * (1 + erf(z / Math.sqrt(2))));
      case GELU_TANH ->
          (float) (0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z))));
      case RELU -> Math.max(0f, z);
    };
  }

  /**
   * erf by Abramowitz-Stegun 7.1.26: absolute error below 1.5e-7, under float32 resolution near 1.
   */
  private static double erf(double x) {
    double t = 1 / (1 + 0.3275911 * Math.abs(x));
    double y =
        1
            - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
                    + 0.254829592)
                * t
                * Math.exp(-x * x);
    return x >= 0 ? y : -y;
  }
}
