package org.dbrxspark.runtime.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
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
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.dbrxspark.runtime.checkpoint.TensorLayout;
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * The DBRX forward pass over a batch of sequences of different lengths, each with its own KV cache,
 * written once against a {@link Backend}: the backend holds the weights, the activations and the KV
 * cache, and runs every operation.
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
  private final Backend backend;
  private final Checkpoint checkpoint;
  private final Weights embedding;
  private final Layer[] layers;
  private final Weights normF;
  private final Weights lmHead;

  /**
   * GGUF stores each expert's w2 transposed, [d_model, ffn]: its product is then the nn.Linear
   * form.
   */
  private final boolean downProjectionTransposed;

  private KvBlockPool unboundedPool;

  /** One transformer block's weights. */
  private record Layer(
      Weights norm1,
      Weights wqkv,
      Weights outProj,
      Weights norm2,
      Weights router,
      Weights[] w1,
      Weights[] v1,
      Weights[] w2) {}

  private DbrxModel(Checkpoint checkpoint, Backend backend) {
    this.checkpoint = checkpoint;
    this.backend = backend;
    this.config = checkpoint.config();
    this.downProjectionTransposed = checkpoint.format() == Checkpoint.Format.GGUF;
    this.embedding = backend.weights(checkpoint.tensor(TensorLayout.WTE));
    this.layers = new Layer[config.nLayers()];
    for (int l = 0; l < layers.length; l++) {
      layers[l] = loadLayer(l);
    }
    this.normF = backend.weights(checkpoint.tensor(TensorLayout.NORM_F));
    this.lmHead = backend.weights(checkpoint.tensor(TensorLayout.LM_HEAD));
  }

  /**
   * Opens and validates the checkpoint at {@code path} (a folder or a GGUF file) and maps its
   * weights.
   */
  public static DbrxModel load(Path path, Backend backend) throws IOException {
    return load(Checkpoint.open(path), backend);
  }

  /**
   * Builds the model over an open checkpoint, which the model then owns and closes; a model that
   * cannot be built closes it at once.
   */
  public static DbrxModel load(Checkpoint checkpoint, Backend backend) {
    try {
      return new DbrxModel(checkpoint, backend);
    } catch (RuntimeException e) {
      checkpoint.closeAfter(e);
      throw e;
    }
  }

  private Layer loadLayer(int l) {
    int experts = config.moeNumExperts();
    int ffn = config.ffnHiddenSize();
    Weights[] w1 = new Weights[experts];
    Weights[] v1 = new Weights[experts];
    Weights[] w2 = new Weights[experts];
    int downRows = downProjectionTransposed ? config.dModel() : ffn;
    for (int e = 0; e < experts; e++) {
      long firstRow = (long) e * ffn;
      w1[e] = backend.weights(checkpoint.tensor(TensorLayout.w1(l)), firstRow, ffn);
      v1[e] = backend.weights(checkpoint.tensor(TensorLayout.v1(l)), firstRow, ffn);
      w2[e] = backend.weights(checkpoint.tensor(TensorLayout.w2(l)), (long) e * downRows, downRows);
    }
    return new Layer(
        backend.weights(checkpoint.tensor(TensorLayout.norm1(l))),
        backend.weights(checkpoint.tensor(TensorLayout.wqkv(l))),
        backend.weights(checkpoint.tensor(TensorLayout.outProj(l))),
        backend.weights(checkpoint.tensor(TensorLayout.norm2(l))),
        backend.weights(checkpoint.tensor(TensorLayout.router(l))),
        w1,
        v1,
        w2);
  }

  public DbrxConfig config() {
    return config;
  }

  /** The backend the model computes on. */
  public Backend backend() {
    return backend;
  }

  /** Bytes of weights in the checkpoint (memory-mapped, not on the heap). */
  public long weightBytes() {
    return checkpoint.totalBytes();
  }

  /**
   * A pool of KV-cache blocks in this model's backend, holding at most {@code capacityTokens}
   * positions at once, and keeping full blocks for reuse by later sequences when {@code
   * prefixCaching}.
   */
  public KvBlockPool newKvPool(KvDType dtype, long capacityTokens, boolean prefixCaching) {
    return new KvBlockPool(backend.kvStorage(config, dtype), capacityTokens, prefixCaching);
  }

  /**
   * An empty f32 cache for a new sequence, from a pool of this model's with no bound: for callers
   * that run sequences directly (tests, {@code logits}); the engines draw on a bounded pool.
   */
  public synchronized KvCache newCache() {
    if (unboundedPool == null) {
      unboundedPool = newKvPool(KvDType.F32, Long.MAX_VALUE, false);
    }
    return unboundedPool.newCache();
  }

  /**
   * Runs the new tokens of every step through the model, appending them to the steps' caches.
   *
   * @return the final hidden states after {@code norm_f}, {@code [Σ step.outputRows(), d_model]},
   *     in step order
   */
  public float[] forward(List<Step> steps) {
    int n = 0;
    for (Step step : steps) {
      validate(step);
      n += step.tokens().length;
    }
    int[] tokens = new int[n];
    KvStorage[] storages = new KvStorage[n];
    int[][] tables = new int[n][];
    int[] positions = new int[n];
    int t = 0;
    for (Step step : steps) {
      KvCache cache = step.cache();
      cache.reserve(step.tokens().length);
      for (int i = 0; i < step.tokens().length; i++, t++) {
        tokens[t] = step.tokens()[i];
        storages[t] = cache.pool().storage();
        tables[t] = cache.blockTable();
        positions[t] = cache.length() + i;
      }
    }
    KvBatch batch = new KvBatch(storages, tables, positions);
    Activations x = backend.allocate(n, config.dModel());
    backend.embed(embedding, tokens, x);
    Activations rotation = backend.rotation(positions, config.headDim(), config.ropeTheta());
    for (int l = 0; l < layers.length; l++) {
      block(l, x, batch, rotation);
    }
    for (Step step : steps) {
      step.cache().advance(step.tokens());
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
          "sequence of "
              + length
              + " tokens exceeds the model's max_seq_len "
              + config.maxSeqLen());
    }
  }

  /** Logits {@code [rows, vocab_size]} for rows of final hidden state. */
  public void logits(float[] hidden, int rows, float[] out) {
    Activations logits = backend.allocate(rows, config.vocabSize());
    backend.linear(
        List.of(new Product(backend.upload(hidden, rows, config.dModel()), lmHead, logits)));
    backend.download(logits, out);
  }

  private void block(int l, Activations x, KvBatch batch, Activations rotation) {
    Layer layer = layers[l];
    int n = x.rows();
    int d = config.dModel();
    int kvWidth = config.kvNHeads() * config.headDim();
    Activations normed = backend.allocate(n, d);
    backend.layerNorm(x, layer.norm1(), normed);
    Activations qkv = backend.allocate(n, config.qkvWidth());
    backend.linear(List.of(new Product(normed, layer.wqkv(), qkv)));
    if (config.clipQkv() != null) {
      backend.clamp(qkv, config.clipQkv().floatValue());
    }
    backend.rope(qkv, rotation, config.nHeads() + config.kvNHeads());
    backend.storeKv(l, qkv, d, d + kvWidth, batch);
    Activations attended = backend.allocate(n, d);
    backend.attend(l, qkv, config.nHeads(), batch, attended);
    Activations projected = backend.allocate(n, d);
    backend.linear(List.of(new Product(attended, layer.outProj(), projected)));
    backend.add(x, projected);
    backend.layerNorm(x, layer.norm2(), normed);
    addMixtureOfExperts(layer, normed, x);
  }

  /** x += MoE(normed): routes each token to its top-k experts and runs each expert once. */
  private void addMixtureOfExperts(Layer layer, Activations normed, Activations x) {
    int n = normed.rows();
    int d = config.dModel();
    int ffn = config.ffnHiddenSize();
    int experts = config.moeNumExperts();
    Activations routerLogits = backend.allocate(n, experts);
    backend.linear(List.of(new Product(normed, layer.router(), routerLogits)));
    Routing routing =
        backend.route(routerLogits, config.moeTopK(), config.moeNormalizeExpertWeights());
    // Every chosen expert's tokens, gathered; then each weight kind runs as one grouped pass.
    List<ExpertBatch> batches = new ArrayList<>();
    for (int e = 0; e < experts; e++) {
      int[] rows = rowsRoutedTo(routing, e);
      if (rows.length == 0) {
        continue;
      }
      float[] rowWeights = new float[rows.length];
      for (int i = 0; i < rows.length; i++) {
        rowWeights[i] = weightOf(routing, rows[i], e);
      }
      Activations input = backend.allocate(rows.length, d);
      backend.gatherRows(normed, rows, input);
      Activations gate = backend.allocate(rows.length, ffn);
      batches.add(
          new ExpertBatch(
              rows,
              rowWeights,
              new Product(input, layer.w1()[e], gate),
              new Product(input, layer.v1()[e], backend.allocate(rows.length, ffn)),
              new Product(gate, layer.w2()[e], backend.allocate(rows.length, d))));
    }
    List<Product> gatesAndUps = new ArrayList<>();
    batches.forEach(b -> gatesAndUps.add(b.gate()));
    batches.forEach(b -> gatesAndUps.add(b.up()));
    backend.linear(gatesAndUps);
    backend.glu(
        config.activation(),
        batches.stream().map(b -> b.gate().out()).toList(),
        batches.stream().map(b -> b.up().out()).toList());
    List<Product> downs = batches.stream().map(ExpertBatch::down).toList();
    if (downProjectionTransposed) {
      backend.linear(downs);
    } else {
      backend.inputMajor(downs);
    }
    // Added in expert order, so a token's sum does not depend on what else is in the batch.
    backend.addScaledRows(
        batches.stream().map(b -> new ScaledRows(b.down().out(), b.rows(), b.weights())).toList(),
        x);
  }

  /** The tokens that chose expert {@code e}, in token order. */
  private static int[] rowsRoutedTo(Routing routing, int e) {
    int count = 0;
    for (int expert : routing.experts()) {
      if (expert == e) {
        count++;
      }
    }
    int[] rows = new int[count];
    int r = 0;
    for (int i = 0; i < routing.experts().length; i++) {
      if (routing.experts()[i] == e) {
        rows[r++] = i / routing.k();
      }
    }
    return rows;
  }

  private static float weightOf(Routing routing, int token, int e) {
    for (int j = 0; j < routing.k(); j++) {
      if (routing.experts()[token * routing.k() + j] == e) {
        return routing.weights()[token * routing.k() + j];
      }
    }
    throw new IllegalStateException("token " + token + " was not routed to expert " + e);
  }

  /**
   * One expert's share of a layer: the batch rows routed to it, their routing weights, and its
   * three products (the down projection reads the gate's output after the GLU).
   */
  private record ExpertBatch(int[] rows, float[] weights, Product gate, Product up, Product down) {}

  /**
   * The rows each step keeps (all its tokens, or its last), through {@code norm_f}, on the host.
   */
  private float[] finalHidden(List<Step> steps, Activations x) {
    int rows = 0;
    for (Step step : steps) {
      rows += step.outputRows();
    }
    int[] kept = new int[rows];
    int src = 0;
    int dst = 0;
    for (Step step : steps) {
      int len = step.tokens().length;
      for (int i = len - step.outputRows(); i < len; i++) {
        kept[dst++] = src + i;
      }
      src += len;
    }
    Activations selected = backend.allocate(rows, config.dModel());
    backend.gatherRows(x, kept, selected);
    Activations out = backend.allocate(rows, config.dModel());
    backend.layerNorm(selected, normF, out);
    return backend.download(out);
  }

  /** Releases the memory-mapped checkpoint; the backend stays with its owner. */
  @Override
  public void close() {
    checkpoint.close();
  }
}
