package org.dbrxspark.runtime.backend;

import java.util.List;
import org.dbrxspark.runtime.checkpoint.Tensor;
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * The seam between the forward pass and the hardware: every operation of a DBRX forward step, over
 * activations, weights and KV-cache storage that the backend holds. The forward pass ({@code
 * model.DbrxModel}) is written once against this interface; the CPU backend ({@code
 * kernels.CpuBackend}, Vector API kernels) implements it, and a GPU backend plugs in beside it
 * through {@code Devices.backend}.
 *
 * <p>Activations are {@code [rows, cols]} float32, a row per token; weights stay in their stored
 * type and are widened inside the operations, which accumulate in float32. Every operation's
 * meaning is pinned down by the scalar reference of the backend conformance suite in the test tree,
 * which every backend passes. Each row's result depends only on that row's inputs, never on the
 * other rows of the call, so results do not depend on batch composition.
 *
 * <p>Thread-safe: concurrent forward passes may share a backend and its weights.
 */
public interface Backend extends AutoCloseable {

  /** The device, as {@code Devices.backend} takes it: {@code cpu}, {@code cuda:0}. */
  String device();

  // ---- memory

  /** Rows {@code [firstRow, firstRow + rows)} of a 2-D view of a checkpoint tensor. */
  Weights weights(Tensor tensor, long firstRow, int rows);

  /** A whole checkpoint tensor (a 1-D tensor is one row). */
  default Weights weights(Tensor tensor) {
    return weights(tensor, 0, Math.toIntExact(tensor.rows()));
  }

  /** New activations, all zero. */
  Activations allocate(int rows, int cols);

  /** Activations holding {@code values} ({@code rows * cols} floats, row-major). */
  Activations upload(float[] values, int rows, int cols);

  /** Copies the values of {@code a}, row-major, into {@code dst} on the host. */
  void download(Activations a, float[] dst);

  /** The values of {@code a}, row-major, on the host. */
  default float[] download(Activations a) {
    float[] values = new float[Math.multiplyExact(a.rows(), a.cols())];
    download(a, values);
    return values;
  }

  /** Empty storage for the KV cache of a model with {@code config}, in {@code dtype}. */
  KvStorage kvStorage(DbrxConfig config, KvDType dtype);

  // ---- the operations of a forward step

  /** {@code out[t] = table[tokens[t]]}, widened to float32. */
  void embed(Weights table, int[] tokens, Activations out);

  /** LayerNorm without bias over each row: {@code out = (x - mean) / sqrt(var + 1e-5) * gamma}. */
  void layerNorm(Activations x, Weights gamma, Activations out);

  /**
   * {@code out = x · wᵀ} (the nn.Linear form, weights stored {@code [out, in]}) for every product,
   * in one pass over the hardware: the experts of a layer, say, each too small on their own.
   */
  void linear(List<Product> products);

  /** {@code out = x · w} for weights stored {@code [in, out]} (a Hugging Face expert's w2). */
  void inputMajor(List<Product> products);

  /** Clamps every element of {@code x} into {@code [-bound, bound]}, in place. */
  void clamp(Activations x, float bound);

  /**
   * The rotation RoPE applies at each position, {@code [positions.length, headDim]}: row t holds
   * {@code cos(positions[t] * theta^(-2i/headDim))} for i below {@code headDim / 2}, then the
   * sines. It depends on the positions only, so a forward pass computes it once for all layers.
   */
  Activations rotation(int[] positions, int headDim, double theta);

  /**
   * Rotate-half RoPE (the GPT-NeoX layout), in place, on the first {@code heads} heads of {@code
   * rotation.cols()} columns of each row, row t rotated by row t of {@code rotation}.
   */
  void rope(Activations x, Activations rotation, int heads);

  /**
   * Stores each row's keys (columns {@code [keyCol, keyCol + kvHeads * headDim)}) and values (from
   * {@code valueCol}) at its position of layer {@code layer} of its sequence's cache.
   */
  void storeKv(int layer, Activations qkv, int keyCol, int valueCol, KvBatch batch);

  /**
   * Causal grouped-query attention of each row's {@code heads} query heads (columns {@code [0,
   * heads * headDim)} of {@code qkv}) over positions {@code [0, position]} of its sequence's layer
   * {@code layer}; query head h reads KV head {@code h / (heads / kvHeads)}. Scores are scaled by
   * {@code 1/sqrt(headDim)}; {@code out} gets {@code heads * headDim} columns.
   */
  void attend(int layer, Activations qkv, int heads, KvBatch batch, Activations out);

  /**
   * Softmax over each row of router logits, then its {@code k} most probable experts (ties to the
   * lower index), their probabilities renormalised by their p-norm when {@code pNorm} is not null.
   */
  Routing route(Activations logits, int k, Double pNorm);

  /** {@code dst[i] = src[rows[i]]}. */
  void gatherRows(Activations src, int[] rows, Activations dst);

  /** {@code gate = activation(gate) * up}, elementwise: the GLU of an expert, in place. */
  void glu(DbrxConfig.Activation activation, Activations gate, Activations up);

  /**
   * The GLU of several experts: {@link #glu(DbrxConfig.Activation, Activations, Activations)} for
   * each {@code gates[e]} with {@code ups[e]}. One call lets a backend share the layer's whole GLU
   * among its threads at once.
   */
  default void glu(
      DbrxConfig.Activation activation, List<Activations> gates, List<Activations> ups) {
    for (int e = 0; e < gates.size(); e++) {
      glu(activation, gates.get(e), ups.get(e));
    }
  }

  /** {@code dst[rows[i]] += scales[i] * src[i]}, for i in order. */
  void addScaledRows(Activations src, int[] rows, float[] scales, Activations dst);

  /**
   * {@link #addScaledRows(Activations, int[], float[], Activations)} for each term in list order,
   * so each row of {@code dst} takes its terms in that order: a layer's experts added into the
   * residual stream in one call.
   */
  default void addScaledRows(List<ScaledRows> terms, Activations dst) {
    for (ScaledRows term : terms) {
      addScaledRows(term.src(), term.rows(), term.scales(), dst);
    }
  }

  /** {@code x += y}, elementwise. */
  void add(Activations x, Activations y);

  /** Releases the backend's threads and memory; its activations and weights are unusable after. */
  @Override
  void close();
}
