package org.dbrxspark.runtime.kernels;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.dbrxspark.runtime.backend.Activations;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.KvBatch;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.backend.KvStorage;
import org.dbrxspark.runtime.backend.Product;
import org.dbrxspark.runtime.backend.Routing;
import org.dbrxspark.runtime.backend.ScaledRows;
import org.dbrxspark.runtime.backend.Weights;
import org.dbrxspark.runtime.checkpoint.Tensor;
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * The CPU backend: activations are float arrays on the Java heap, weights are read in place from
 * the memory-mapped checkpoint, the KV cache lives in direct buffers. Matrix products run on the
 * Vector API kernels of {@link CpuKernels}; attention runs on {@link CachedAttention}; the per-row
 * operations are plain loops.
 */
public final class CpuBackend implements Backend {
  /**
   * Floats per range at least when a per-row operation is shared among the kernels' threads: below
   * this, handing out the work costs more than it saves.
   */
  private static final int RANGE_FLOATS = 32 * 1024;

  private final CpuKernels kernels;

  public CpuBackend(int threads) {
    this.kernels = new CpuKernels(threads);
  }

  @Override
  public String device() {
    return "cpu";
  }

  /** Threads of the kernels. */
  public int threads() {
    return kernels.threads();
  }

  @Override
  public void close() {
    kernels.close();
  }

  /** Rows of {@code cols} floats per range of a per-row operation. */
  private static int rowsPerRange(int cols) {
    return Math.max(1, RANGE_FLOATS / Math.max(1, cols));
  }

  // ---- memory

  /** Activations of the CPU backend: a row-major float array. */
  private record Floats(float[] data, int rows, int cols) implements Activations {}

  private static float[] data(Activations a) {
    return ((Floats) a).data();
  }

  private static WeightMatrix matrix(Weights w) {
    return (WeightMatrix) w;
  }

  @Override
  public Weights weights(Tensor tensor, long firstRow, int rows) {
    return WeightMatrix.of(tensor, firstRow, rows);
  }

  @Override
  public Activations allocate(int rows, int cols) {
    return new Floats(new float[Math.multiplyExact(rows, cols)], rows, cols);
  }

  @Override
  public Activations upload(float[] values, int rows, int cols) {
    if (values.length != (long) rows * cols) {
      throw new IllegalArgumentException(
          values.length + " values are not [" + rows + ", " + cols + "]");
    }
    return new Floats(values.clone(), rows, cols);
  }

  @Override
  public void download(Activations a, float[] dst) {
    System.arraycopy(data(a), 0, dst, 0, data(a).length);
  }

  @Override
  public KvStorage kvStorage(DbrxConfig config, KvDType dtype) {
    return new CpuKvStorage(config, dtype);
  }

  // ---- operations

  @Override
  public void embed(Weights table, int[] tokens, Activations out) {
    WeightMatrix w = matrix(table);
    kernels.parallelRanges(
        tokens.length,
        rowsPerRange(w.cols()),
        (from, to) -> {
          for (int t = from; t < to; t++) {
            w.readRow(tokens[t], data(out), t * w.cols());
          }
        });
  }

  @Override
  public void layerNorm(Activations x, Weights gamma, Activations out) {
    float[] g = new float[gamma.cols()];
    matrix(gamma).readRow(0, g, 0);
    kernels.parallelRanges(
        x.rows(),
        rowsPerRange(x.cols()),
        (from, to) -> RowKernels.layerNorm(data(x), from, to, x.cols(), g, data(out)));
  }

  @Override
  public void linear(List<Product> products) {
    kernels.matmulTransposed(asKernelProducts(products));
  }

  @Override
  public void inputMajor(List<Product> products) {
    kernels.matmul(asKernelProducts(products));
  }

  private static List<Kernels.Product> asKernelProducts(List<Product> products) {
    List<Kernels.Product> out = new ArrayList<>(products.size());
    for (Product p : products) {
      out.add(new Kernels.Product(data(p.x()), p.x().rows(), matrix(p.w()), data(p.out())));
    }
    return out;
  }

  @Override
  public void clamp(Activations x, float bound) {
    float[] v = data(x);
    kernels.parallelRanges(
        v.length,
        RANGE_FLOATS,
        (from, to) -> {
          for (int i = from; i < to; i++) {
            v[i] = Math.max(-bound, Math.min(bound, v[i]));
          }
        });
  }

  @Override
  public Activations rotation(int[] positions, int headDim, double theta) {
    int half = headDim / 2;
    float[] table = new float[positions.length * headDim];
    for (int t = 0; t < positions.length; t++) {
      for (int i = 0; i < half; i++) {
        double angle = positions[t] * Math.pow(theta, -2.0 * i / headDim);
        table[t * headDim + i] = (float) Math.cos(angle);
        table[t * headDim + half + i] = (float) Math.sin(angle);
      }
    }
    return new Floats(table, positions.length, headDim);
  }

  @Override
  public void rope(Activations x, Activations rotation, int heads) {
    float[] v = data(x);
    float[] table = data(rotation);
    int headDim = rotation.cols();
    int half = headDim / 2;
    kernels.parallelRanges(
        x.rows(),
        rowsPerRange(x.cols()),
        (from, to) -> {
          for (int t = from; t < to; t++) {
            int cos = t * headDim;
            int sin = cos + half;
            for (int h = 0; h < heads; h++) {
              int off = t * x.cols() + h * headDim;
              for (int i = 0; i < half; i++) {
                float x1 = v[off + i];
                float x2 = v[off + i + half];
                v[off + i] = x1 * table[cos + i] - x2 * table[sin + i];
                v[off + i + half] = x2 * table[cos + i] + x1 * table[sin + i];
              }
            }
          }
        });
  }

  @Override
  public void storeKv(int layer, Activations qkv, int keyCol, int valueCol, KvBatch batch) {
    float[] v = data(qkv);
    // Each token writes its own slots, with absolute puts: the threads share out the tokens.
    kernels.parallelRanges(
        batch.tokens(),
        rowsPerRange(qkv.cols()),
        (from, to) -> {
          for (int t = from; t < to; t++) {
            CpuKvStorage storage = (CpuKvStorage) batch.storages()[t];
            int position = batch.positions()[t];
            int block = batch.blockTables()[t][position / KvStorage.BLOCK_TOKENS];
            int slot = position % KvStorage.BLOCK_TOKENS;
            storage.write(block, layer, CpuKvStorage.KEYS, slot, v, t * qkv.cols() + keyCol);
            storage.write(block, layer, CpuKvStorage.VALUES, slot, v, t * qkv.cols() + valueCol);
          }
        });
  }

  /** One work item is a run of a sequence's tokens and a KV head: see {@link CachedAttention}. */
  @Override
  public void attend(int layer, Activations qkv, int heads, KvBatch batch, Activations out) {
    if (batch.tokens() == 0) {
      return;
    }
    float[] o = data(out);
    int kvHeadCount = ((CpuKvStorage) batch.storages()[0]).kvHeads();
    int group = heads / kvHeadCount;
    int headDim = out.cols() / heads;
    // The runs that see the most positions first, so that no thread is left with a long one last.
    List<int[]> runs = new ArrayList<>(CachedAttention.runs(batch));
    runs.sort(Comparator.comparingInt((int[] run) -> batch.positions()[run[1] - 1]).reversed());
    Arrays.fill(o, 0f);
    kernels.parallelFor(
        runs.size() * kvHeadCount,
        item -> {
          int[] run = runs.get(item / kvHeadCount);
          CachedAttention.attendRun(
              layer,
              batch,
              run[0],
              run[1],
              item % kvHeadCount,
              group,
              headDim,
              data(qkv),
              qkv.cols(),
              o,
              out.cols());
        });
  }

  @Override
  public Routing route(Activations logits, int k, Double pNorm) {
    float[] p = data(logits).clone();
    int experts = logits.cols();
    int tokens = logits.rows();
    int[] chosen = new int[tokens * k];
    float[] weights = new float[tokens * k];
    for (int t = 0; t < tokens; t++) {
      int off = t * experts;
      RowKernels.softmax(p, off, experts);
      boolean[] taken = new boolean[experts];
      for (int j = 0; j < k; j++) {
        int best = -1;
        for (int e = 0; e < experts; e++) {
          if (!taken[e] && (best < 0 || p[off + e] > p[off + best])) {
            best = e;
          }
        }
        taken[best] = true;
        chosen[t * k + j] = best;
        weights[t * k + j] = p[off + best];
      }
      if (pNorm != null) {
        double norm = 0;
        for (int j = 0; j < k; j++) {
          norm += Math.pow(weights[t * k + j], pNorm);
        }
        norm = Math.pow(norm, 1.0 / pNorm);
        for (int j = 0; j < k; j++) {
          weights[t * k + j] = (float) (weights[t * k + j] / norm);
        }
      }
    }
    return new Routing(k, chosen, weights);
  }

  @Override
  public void gatherRows(Activations src, int[] rows, Activations dst) {
    int cols = src.cols();
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(data(src), rows[i] * cols, data(dst), i * cols, cols);
    }
  }

  @Override
  public void glu(DbrxConfig.Activation activation, Activations gate, Activations up) {
    glu(activation, List.of(gate), List.of(up));
  }

  @Override
  public void addScaledRows(Activations src, int[] rows, float[] scales, Activations dst) {
    addScaledRows(List.of(new ScaledRows(src, rows, scales)), dst);
  }

  /** All the experts' GLUs as one index space, cut into ranges for the kernels' threads. */
  @Override
  public void glu(
      DbrxConfig.Activation activation, List<Activations> gates, List<Activations> ups) {
    int[] starts = new int[gates.size() + 1];
    for (int e = 0; e < gates.size(); e++) {
      starts[e + 1] = Math.addExact(starts[e], data(gates.get(e)).length);
    }
    kernels.parallelRanges(
        starts[gates.size()],
        RANGE_FLOATS,
        (from, to) -> {
          for (int e = 0; e < gates.size(); e++) {
            int lo = Math.max(from, starts[e]);
            int hi = Math.min(to, starts[e + 1]);
            if (lo < hi) {
              float[] g = data(gates.get(e));
              RowKernels.glu(activation, g, data(ups.get(e)), lo - starts[e], hi - starts[e]);
            }
          }
        });
  }

  /**
   * The threads share out dst's rows: each takes, for its rows only, every term in list order, so
   * every row sums its terms in the same order as one thread would.
   */
  @Override
  public void addScaledRows(List<ScaledRows> terms, Activations dst) {
    int cols = dst.cols();
    float[] d = data(dst);
    kernels.parallelRanges(
        dst.rows(),
        rowsPerRange(cols),
        (from, to) -> {
          for (ScaledRows term : terms) {
            float[] src = data(term.src());
            for (int i = 0; i < term.rows().length; i++) {
              int row = term.rows()[i];
              if (row >= from && row < to) {
                VectorMath.axpy(term.scales()[i], src, i * cols, d, row * cols, cols);
              }
            }
          }
        });
  }

  @Override
  public void add(Activations x, Activations y) {
    VectorMath.axpy(1f, data(y), 0, data(x), 0, data(x).length);
  }
}
