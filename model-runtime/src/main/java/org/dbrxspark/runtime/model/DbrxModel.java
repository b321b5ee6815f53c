package org.dbrxspark.runtime.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.dbrxspark.runtime.checkpoint.TensorLayout;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.kernels.Kernels;
import org.dbrxspark.runtime.kernels.VectorMath;
import org.dbrxspark.runtime.kernels.WeightMatrix;

/**
 * The DBRX forward pass (SPEC §3) over a batch of sequences of different lengths, each with its
 * own KV cache.
 *
 * <p>All new tokens of a batch are stacked into one activation matrix so that every projection is
 * one matrix multiply; in the MoE the tokens are grouped by expert so each expert runs once per
 * layer. Every token's result is computed in the same order whatever else is in the batch, so a
 * sequence gives bit-identical outputs alone or batched.
 *
 * <p>Thread-safe for concurrent {@link #forward} calls on different caches.
 */
public final class DbrxModel implements AutoCloseable {
  private final DbrxConfig config;
  private final Kernels kernels;
  private final Checkpoint checkpoint;
  private final WeightMatrix embedding;
  private final Layer[] layers;
  private final float[] normF;
  private final WeightMatrix lmHead;
  private final double[] inverseFrequencies;
  /** GGUF stores each expert's w2 transposed, [d_model, ffn]: its product is then the nn.Linear form. */
  private final boolean downProjectionTransposed;
  private KvBlockPool f32Pool;

  /** One transformer block's weights. */
  private record Layer(
      float[] norm1,
      WeightMatrix wqkv,
      WeightMatrix outProj,
      float[] norm2,
      WeightMatrix router,
      WeightMatrix[] w1,
      WeightMatrix[] v1,
      WeightMatrix[] w2) {}

  private DbrxModel(Checkpoint checkpoint, Kernels kernels) {
    this.checkpoint = checkpoint;
    this.kernels = kernels;
    this.config = checkpoint.config();
    this.downProjectionTransposed = checkpoint.format() == Checkpoint.Format.GGUF;
    this.embedding = WeightMatrix.of(checkpoint.tensor(TensorLayout.WTE));
    this.layers = new Layer[config.nLayers()];
    for (int l = 0; l < layers.length; l++) {
      layers[l] = loadLayer(l);
    }
    this.normF = checkpoint.tensor(TensorLayout.NORM_F).toFloatArray();
    this.lmHead = WeightMatrix.of(checkpoint.tensor(TensorLayout.LM_HEAD));
    int half = config.headDim() / 2;
    this.inverseFrequencies = new double[half];
    for (int i = 0; i < half; i++) {
      inverseFrequencies[i] = Math.pow(config.ropeTheta(), -2.0 * i / config.headDim());
    }
  }

  /** Opens and validates the checkpoint at {@code path} (a folder or a GGUF file) and maps its weights. */
  public static DbrxModel load(Path path, Kernels kernels) throws IOException {
    return new DbrxModel(Checkpoint.open(path), kernels);
  }

  /** Builds the model over an open checkpoint, which the model then owns and closes. */
  public static DbrxModel load(Checkpoint checkpoint, Kernels kernels) {
    return new DbrxModel(checkpoint, kernels);
  }

  private Layer loadLayer(int l) {
    int experts = config.moeNumExperts();
    int ffn = config.ffnHiddenSize();
    WeightMatrix[] w1 = new WeightMatrix[experts];
    WeightMatrix[] v1 = new WeightMatrix[experts];
    WeightMatrix[] w2 = new WeightMatrix[experts];
    int downRows = downProjectionTransposed ? config.dModel() : ffn;
    for (int e = 0; e < experts; e++) {
      long firstRow = (long) e * ffn;
      w1[e] = WeightMatrix.of(checkpoint.tensor(TensorLayout.w1(l)), firstRow, ffn);
      v1[e] = WeightMatrix.of(checkpoint.tensor(TensorLayout.v1(l)), firstRow, ffn);
      w2[e] = WeightMatrix.of(checkpoint.tensor(TensorLayout.w2(l)), (long) e * downRows, downRows);
    }
    return new Layer(
        checkpoint.tensor(TensorLayout.norm1(l)).toFloatArray(),
        WeightMatrix.of(checkpoint.tensor(TensorLayout.wqkv(l))),
        WeightMatrix.of(checkpoint.tensor(TensorLayout.outProj(l))),
        checkpoint.tensor(TensorLayout.norm2(l)).toFloatArray(),
        WeightMatrix.of(checkpoint.tensor(TensorLayout.router(l))),
        w1, v1, w2);
  }

  public DbrxConfig config() {
    return config;
  }

  /** Bytes of weights in the checkpoint (memory-mapped, not on the heap). */
  public long weightBytes() {
    return checkpoint.totalBytes();
  }

  /**
   * An empty f32 cache for a new sequence, from a pool of this model's with no bound: for callers
   * that run sequences directly (tests, {@code logits}); the engines draw on a bounded pool.
   */
  public synchronized KvCache newCache() {
    if (f32Pool == null) {
      f32Pool = new KvBlockPool(config, KvDType.F32, Long.MAX_VALUE);
    }
    return f32Pool.newCache();
  }

  /**
   * Runs the new tokens of every step through the model, appending them to the steps' caches.
   *
   * @return the final hidden states after {@code norm_f}, {@code [Σ step.outputRows(), d_model]},
   *     in step order
   */
  public float[] forward(List<Step> steps) {
    int d = config.dModel();
    int n = 0;
    for (Step step : steps) {
      validate(step);
      n += step.tokens().length;
    }
    int[] positions = new int[n];
    KvCache[] cacheOf = new KvCache[n];
    float[] x = new float[n * d];
    int t = 0;
    for (Step step : steps) {
      step.cache().reserve(step.tokens().length);
      for (int i = 0; i < step.tokens().length; i++, t++) {
        embedding.readRow(step.tokens()[i], x, t * d);
        positions[t] = step.cache().length() + i;
        cacheOf[t] = step.cache();
      }
    }
    float[][] rotation = rotation(positions);
    for (int l = 0; l < layers.length; l++) {
      block(l, x, n, positions, cacheOf, rotation);
    }
    for (Step step : steps) {
      step.cache().advance(step.tokens().length);
    }
    return finalHidden(steps, x);
  }

  private void validate(Step step) {
    for (int token : step.tokens()) {
      if (token < 0 || token >= config.vocabSize()) {
        throw new IllegalArgumentException(
            "token id " + token + " is outside the vocabulary [0, " + config.vocabSize() + ")");
      }
    }
    int length = step.cache().length() + step.tokens().length;
    if (length > config.maxSeqLen()) {
      throw new IllegalArgumentException(
          "sequence of " + length + " tokens exceeds the model's max_seq_len " + config.maxSeqLen());
    }
  }

  /** Logits {@code [rows, vocab_size]} for rows of final hidden state. */
  public void logits(float[] hidden, int rows, float[] out) {
    kernels.matmulTransposed(hidden, rows, lmHead, out);
  }

  private void block(int l, float[] x, int n, int[] positions, KvCache[] cacheOf, float[][] rotation) {
    Layer layer = layers[l];
    int d = config.dModel();
    float[] normed = new float[n * d];
    RowOps.layerNorm(x, n, d, layer.norm1(), normed);
    float[] qkv = new float[n * config.qkvWidth()];
    kernels.matmulTransposed(normed, n, layer.wqkv(), qkv);
    if (config.clipQkv() != null) {
      float clip = config.clipQkv().floatValue();
      for (int i = 0; i < qkv.length; i++) {
        qkv[i] = Math.max(-clip, Math.min(clip, qkv[i]));
      }
    }
    applyRope(qkv, n, rotation);
    storeKeysAndValues(l, qkv, n, positions, cacheOf);
    float[] attended = new float[n * d];
    attend(l, qkv, n, positions, cacheOf, attended);
    float[] projected = new float[n * d];
    kernels.matmulTransposed(attended, n, layer.outProj(), projected);
    for (int i = 0; i < x.length; i++) {
      x[i] += projected[i];
    }
    RowOps.layerNorm(x, n, d, layer.norm2(), normed);
    addMixtureOfExperts(layer, normed, n, x);
  }

  /** cos and sin of position × inverse frequency, {@code [n, headDim/2]} each. */
  private float[][] rotation(int[] positions) {
    int half = inverseFrequencies.length;
    float[] cos = new float[positions.length * half];
    float[] sin = new float[positions.length * half];
    for (int t = 0; t < positions.length; t++) {
      for (int i = 0; i < half; i++) {
        double angle = positions[t] * inverseFrequencies[i];
        cos[t * half + i] = (float) Math.cos(angle);
        sin[t * half + i] = (float) Math.sin(angle);
      }
    }
    return new float[][] {cos, sin};
  }

  /** Rotate-half RoPE (GPT-NeoX layout) on every query and key head, in place. */
  private void applyRope(float[] qkv, int n, float[][] rotation) {
    int headDim = config.headDim();
    int half = headDim / 2;
    int ropedHeads = config.nHeads() + config.kvNHeads();
    int width = config.qkvWidth();
    float[] cos = rotation[0];
    float[] sin = rotation[1];
    for (int t = 0; t < n; t++) {
      for (int h = 0; h < ropedHeads; h++) {
        int off = t * width + h * headDim;
        for (int i = 0; i < half; i++) {
          float c = cos[t * half + i];
          float s = sin[t * half + i];
          float x1 = qkv[off + i];
          float x2 = qkv[off + i + half];
          qkv[off + i] = x1 * c - x2 * s;
          qkv[off + i + half] = x2 * c + x1 * s;
        }
      }
    }
  }

  private void storeKeysAndValues(int l, float[] qkv, int n, int[] positions, KvCache[] cacheOf) {
    int width = config.qkvWidth();
    int kvWidth = config.kvNHeads() * config.headDim();
    for (int t = 0; t < n; t++) {
      int keys = t * width + config.dModel();
      cacheOf[t].write(l, KvCache.KEYS, positions[t], qkv, keys);
      cacheOf[t].write(l, KvCache.VALUES, positions[t], qkv, keys + kvWidth);
    }
  }

  /**
   * Causal grouped-query attention of every new token over its own sequence's cache. One work item
   * is a token and a KV head: the head's keys and values are widened to f32 a block at a time and
   * used by every query head of its group. Each query head's arithmetic (a dot product per
   * position, the softmax, then the weighted values in position order) is the same whatever the
   * cache's dtype and batch.
   */
  private void attend(int l, float[] qkv, int n, int[] positions, KvCache[] cacheOf, float[] out) {
    int kvHeads = config.kvNHeads();
    int headDim = config.headDim();
    int group = config.groupSize();
    int width = config.qkvWidth();
    int blockTokens = KvBlockPool.BLOCK_TOKENS;
    float scale = (float) (1.0 / Math.sqrt(headDim));
    kernels.parallelFor(n * kvHeads, item -> {
      int t = item / kvHeads;
      int kvHead = item % kvHeads;
      KvCache cache = cacheOf[t];
      int visible = positions[t] + 1;
      float[] tile = new float[blockTokens * headDim];
      float[] scores = new float[group * visible];
      for (int first = 0; first < visible; first += blockTokens) {
        int count = Math.min(blockTokens, visible - first);
        cache.read(l, KvCache.KEYS, kvHead, first, count, tile);
        for (int g = 0; g < group; g++) {
          int qOff = t * width + (kvHead * group + g) * headDim;
          for (int u = 0; u < count; u++) {
            scores[g * visible + first + u] = VectorMath.dot(qkv, qOff, tile, u * headDim, headDim) * scale;
          }
        }
      }
      for (int g = 0; g < group; g++) {
        RowOps.softmax(scores, g * visible, visible);
      }
      for (int first = 0; first < visible; first += blockTokens) {
        int count = Math.min(blockTokens, visible - first);
        cache.read(l, KvCache.VALUES, kvHead, first, count, tile);
        for (int g = 0; g < group; g++) {
          int outOff = t * config.dModel() + (kvHead * group + g) * headDim;
          for (int u = 0; u < count; u++) {
            VectorMath.axpy(scores[g * visible + first + u], tile, u * headDim, out, outOff, headDim);
          }
        }
      }
    });
  }

  /** x += MoE(normed): routes each token to its top-k experts and runs each expert once. */
  private void addMixtureOfExperts(Layer layer, float[] normed, int n, float[] x) {
    int d = config.dModel();
    int experts = config.moeNumExperts();
    int k = config.moeTopK();
    float[] probabilities = new float[n * experts];
    kernels.matmulTransposed(normed, n, layer.router(), probabilities);
    int[] chosen = new int[n * k];
    float[] weights = new float[n * k];
    int[] tokensPerExpert = new int[experts];
    for (int t = 0; t < n; t++) {
      RowOps.softmax(probabilities, t * experts, experts);
      route(probabilities, t * experts, chosen, weights, t * k);
      for (int j = 0; j < k; j++) {
        tokensPerExpert[chosen[t * k + j]]++;
      }
    }
    // Every chosen expert's tokens, gathered; then each weight kind runs as one grouped pass.
    int ffn = config.ffnHiddenSize();
    List<ExpertBatch> batches = new ArrayList<>();
    for (int e = 0; e < experts; e++) {
      int count = tokensPerExpert[e];
      if (count == 0) {
        continue;
      }
      int[] rows = new int[count];
      float[] rowWeights = new float[count];
      float[] input = new float[count * d];
      int r = 0;
      for (int t = 0; t < n; t++) {
        for (int j = 0; j < k; j++) {
          if (chosen[t * k + j] == e) {
            rows[r] = t;
            rowWeights[r] = weights[t * k + j];
            System.arraycopy(normed, t * d, input, r * d, d);
            r++;
          }
        }
      }
      float[] gate = new float[count * ffn];
      batches.add(new ExpertBatch(rows, rowWeights,
          new Kernels.Product(input, count, layer.w1()[e], gate),
          new Kernels.Product(input, count, layer.v1()[e], new float[count * ffn]),
          new Kernels.Product(gate, count, layer.w2()[e], new float[count * d])));
    }
    List<Kernels.Product> gatesAndUps = new ArrayList<>();
    batches.forEach(b -> gatesAndUps.add(b.gate()));
    batches.forEach(b -> gatesAndUps.add(b.up()));
    kernels.matmulTransposed(gatesAndUps);
    for (ExpertBatch b : batches) {
      RowOps.glu(config.activation(), b.gate().out(), b.up().out(), b.gate().out().length);
    }
    List<Kernels.Product> downs = batches.stream().map(ExpertBatch::down).toList();
    if (downProjectionTransposed) {
      kernels.matmulTransposed(downs);
    } else {
      kernels.matmul(downs);
    }
    // Added in expert order, so a token's sum does not depend on what else is in the batch.
    for (ExpertBatch b : batches) {
      float[] down = b.down().out();
      for (int i = 0; i < b.rows().length; i++) {
        VectorMath.axpy(b.weights()[i], down, i * d, x, b.rows()[i] * d, d);
      }
    }
  }

  /**
   * One expert's share of a layer: the batch rows routed to it, their routing weights, and its
   * three products (the down projection reads the gate's output after the GLU).
   */
  private record ExpertBatch(int[] rows, float[] weights, Kernels.Product gate, Kernels.Product up,
      Kernels.Product down) {}

  /** Top-k experts of one token's router probabilities, renormalised by the configured p-norm. */
  private void route(float[] probabilities, int off, int[] chosen, float[] weights, int outOff) {
    int experts = config.moeNumExperts();
    int k = config.moeTopK();
    boolean[] taken = new boolean[experts];
    for (int j = 0; j < k; j++) {
      int best = -1;
      for (int e = 0; e < experts; e++) {
        if (!taken[e] && (best < 0 || probabilities[off + e] > probabilities[off + best])) {
          best = e;
        }
      }
      taken[best] = true;
      chosen[outOff + j] = best;
      weights[outOff + j] = probabilities[off + best];
    }
    Double p = config.moeNormalizeExpertWeights();
    if (p != null) {
      double norm = 0;
      for (int j = 0; j < k; j++) {
        norm += Math.pow(weights[outOff + j], p);
      }
      norm = Math.pow(norm, 1.0 / p);
      for (int j = 0; j < k; j++) {
        weights[outOff + j] = (float) (weights[outOff + j] / norm);
      }
    }
  }

  private float[] finalHidden(List<Step> steps, float[] x) {
    int d = config.dModel();
    int rows = 0;
    for (Step step : steps) {
      rows += step.outputRows();
    }
    float[] selected = new float[rows * d];
    int src = 0;
    int dst = 0;
    for (Step step : steps) {
      int len = step.tokens().length;
      int keep = step.outputRows();
      System.arraycopy(x, (src + len - keep) * d, selected, dst * d, keep * d);
      src += len;
      dst += keep;
    }
    float[] out = new float[rows * d];
    RowOps.layerNorm(selected, rows, d, normF, out);
    return out;
  }

  /** Releases the memory-mapped checkpoint. */
  @Override
  public void close() {
    checkpoint.close();
  }
}
