package org.dbrxspark.runtime.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.dbrxspark.runtime.Devices;
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.dbrxspark.runtime.checkpoint.CheckpointWriter;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.checkpoint.QuantizedMatrices;
import org.dbrxspark.runtime.checkpoint.Tensor;
import org.dbrxspark.runtime.checkpoint.TensorLayout;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every operation of {@link Backend} against a plain scalar reference in double precision, on
 * shapes with vector tails (36 columns, 103 rows) and on weights of every stored type: F32, F16 and
 * BF16 from a random checkpoint, Q8_0 and Q4_0 from the golden GGUF files, the K-quants from {@link
 * QuantizedMatrices}. A new device is one line of {@link TestDevices}; runtime-cuda runs the suite
 * with the CUDA backend on the class path.
 */
class BackendConformanceTest {
  /** float32 arithmetic against a double reference: relative to the magnitude of the terms. */
  private static final double TOLERANCE = 2e-5;

  /** Every device of {@link TestDevices}, the CPU with one thread and with three. */
  static Stream<Arguments> backends() {
    return TestDevices.devices()
        .flatMap(
            device ->
                Devices.CPU.equals(device)
                    ? Stream.of(Arguments.of(device, 1), Arguments.of(device, 3))
                    : Stream.of(Arguments.of(device, 1)));
  }

  private static Backend open(String device, int threads) {
    return TestDevices.open(device, threads);
  }

  @TempDir static Path tmp;
  private static final List<Checkpoint> CHECKPOINTS = new ArrayList<>();

  /** Q4_K, Q5_K and Q6_K matrices: rows of two 256-element super-blocks. */
  private static QuantizedMatrices kQuants;

  /** d_model 36 (3 heads of 12, 1 KV head), ffn 20, 5 experts, vocab 103. */
  private static final DbrxConfig ODD =
      new DbrxConfig(
          36, 3, 1, 64, 103, 1, 2.0, 10000.0, 20, 5, 2, 1.0, DbrxConfig.Activation.SILU, "float32");

  @BeforeAll
  static void writeCheckpoints() throws IOException {
    kQuants =
        QuantizedMatrices.write(
            tmp.resolve("k-quants.gguf"), 7, 512, 12, DType.Q4_K, DType.Q5_K, DType.Q6_K);
    for (DType dtype : new DType[] {DType.F32, DType.F16, DType.BF16}) {
      Path dir = tmp.resolve(dtype.name());
      CheckpointWriter.writeRandom(dir, ODD, 11, dtype, 1);
      CHECKPOINTS.add(Checkpoint.open(dir));
    }
    for (String type : new String[] {"q8_0", "q4_0"}) {
      try {
        CHECKPOINTS.add(
            Checkpoint.open(
                Path.of(
                    BackendConformanceTest.class
                        .getResource("/golden/tiny-gguf/model-" + type + ".gguf")
                        .toURI())));
      } catch (java.net.URISyntaxException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  @AfterAll
  static void closeCheckpoints() {
    CHECKPOINTS.forEach(Checkpoint::close);
    kQuants.close();
  }

  /** Matrices of every stored type: the QKV projection and the output head of each checkpoint. */
  private static List<Tensor> matrices() {
    List<Tensor> out = new ArrayList<>();
    for (Checkpoint c : CHECKPOINTS) {
      out.add(c.tensor(TensorLayout.wqkv(0)));
      out.add(c.tensor(TensorLayout.LM_HEAD));
    }
    out.addAll(kQuants.tensors());
    return out;
  }

  private static float[] random(SplittableRandom random, int count) {
    float[] v = new float[count];
    for (int i = 0; i < count; i++) {
      v[i] = (float) (random.nextDouble() * 2 - 1);
    }
    return v;
  }

  @ParameterizedTest
  @MethodSource("backends")
  void uploadDownloadAndAllocate(String device, int threads) {
    try (Backend backend = open(device, threads)) {
      float[] v = random(new SplittableRandom(1), 7 * 5);
      assertArrayEquals(v, backend.download(backend.upload(v, 7, 5)));
      assertArrayEquals(new float[12], backend.download(backend.allocate(3, 4)));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void embedReadsTheTokensRows(String device, int threads) {
    try (Backend backend = open(device, threads)) {
      List<Tensor> tables = new ArrayList<>(kQuants.tensors());
      CHECKPOINTS.forEach(c -> tables.add(c.tensor(TensorLayout.WTE)));
      for (Tensor table : tables) {
        float[] all = table.toFloatArray();
        int[] tokens = {0, 5, (int) table.rows() - 1, 5};
        Activations out = backend.allocate(tokens.length, table.cols());
        backend.embed(backend.weights(table), tokens, out);
        float[] got = backend.download(out);
        for (int t = 0; t < tokens.length; t++) {
          for (int i = 0; i < table.cols(); i++) {
            assertEquals(
                all[tokens[t] * table.cols() + i], got[t * table.cols() + i], table.toString());
          }
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void layerNormWithoutBias(String device, int threads) {
    try (Backend backend = open(device, threads)) {
      Tensor gamma = CHECKPOINTS.get(0).tensor(TensorLayout.norm1(0));
      float[] g = gamma.toFloatArray();
      int rows = 5;
      int d = g.length;
      float[] x = random(new SplittableRandom(2), rows * d);
      Activations out = backend.allocate(rows, d);
      backend.layerNorm(backend.upload(x, rows, d), backend.weights(gamma), out);
      float[] got = backend.download(out);
      for (int r = 0; r < rows; r++) {
        double mean = 0;
        for (int i = 0; i < d; i++) {
          mean += x[r * d + i];
        }
        mean /= d;
        double var = 0;
        for (int i = 0; i < d; i++) {
          var += (x[r * d + i] - mean) * (x[r * d + i] - mean);
        }
        var /= d;
        for (int i = 0; i < d; i++) {
          double want = (x[r * d + i] - mean) / Math.sqrt(var + 1e-5) * g[i];
          assertEquals(want, got[r * d + i], TOLERANCE * (1 + Math.abs(want)));
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void linearAndInputMajorProductsOfEveryTypeAndBatchRowByRow(String device, int threads) {
    try (Backend backend = open(device, threads)) {
      SplittableRandom random = new SplittableRandom(3);
      for (Tensor tensor : matrices()) {
        Weights w = backend.weights(tensor);
        float[] values = tensor.toFloatArray();
        for (int n : new int[] {1, 4, 9}) {
          float[] x = random(random, n * w.cols());
          float[] out = linear(backend, w, x, n);
          assertProduct(x, values, n, w.rows(), w.cols(), false, out, tensor.toString());
          assertSameAlone(backend, w, x, n, out, tensor);
          if (!tensor.dtype().isQuantized()) {
            float[] xt = random(random, n * w.rows());
            Activations outT = backend.allocate(n, w.cols());
            backend.inputMajor(List.of(new Product(backend.upload(xt, n, w.rows()), w, outT)));
            assertProduct(
                xt,
                values,
                n,
                w.rows(),
                w.cols(),
                true,
                backend.download(outT),
                tensor + " input-major");
          }
        }
      }
    }
  }

  /** Each row's product is the same bits alone as in its batch: no result depends on the batch. */
  private static void assertSameAlone(
      Backend backend, Weights w, float[] x, int n, float[] batch, Tensor tensor) {
    int cols = w.cols();
    int rows = w.rows();
    for (int t = 1; t < n; t++) {
      assertArrayEquals(
          Arrays.copyOfRange(batch, t * rows, (t + 1) * rows),
          linear(backend, w, Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1),
          tensor + " row " + t + " of " + n);
    }
  }

  /** {@code x · wᵀ} for {@code n} rows of {@code x}, on the host. */
  private static float[] linear(Backend backend, Weights w, float[] x, int n) {
    Activations out = backend.allocate(n, w.rows());
    backend.linear(List.of(new Product(backend.upload(x, n, w.cols()), w, out)));
    return backend.download(out);
  }

  /** out[t, j] = Σ_i x[t, i] w[j, i], or Σ_i x[t, i] w[i, j] for the input-major form. */
  private static void assertProduct(
      float[] x,
      float[] w,
      int n,
      int rows,
      int cols,
      boolean inputMajor,
      float[] got,
      String what) {
    int inner = inputMajor ? rows : cols;
    int outer = inputMajor ? cols : rows;
    for (int t = 0; t < n; t++) {
      for (int j = 0; j < outer; j++) {
        double sum = 0;
        double magnitude = 0;
        for (int i = 0; i < inner; i++) {
          double term =
              (double) x[t * inner + i] * (inputMajor ? w[i * cols + j] : w[j * cols + i]);
          sum += term;
          magnitude += Math.abs(term);
        }
        assertEquals(
            sum, got[t * outer + j], TOLERANCE * (1 + magnitude), what + " [" + t + ", " + j + "]");
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void clampBoundsEveryElement(String device, int threads) {
    try (Backend backend = open(device, threads)) {
      float[] x = {-3f, -2f, -0.5f, 0f, 1.99f, 2f, 7f, Float.NEGATIVE_INFINITY};
      Activations a = backend.upload(x, 2, 4);
      backend.clamp(a, 2f);
      assertArrayEquals(new float[] {-2f, -2f, -0.5f, 0f, 1.99f, 2f, 2f, -2f}, backend.download(a));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void ropeRotatesTheFirstHeadsByPosition(String device, int threads) {
    try (Backend backend = open(device, threads)) {
      int heads = 3;
      int headDim = 12;
      int cols = 5 * headDim; // the last two heads are not rotated
      int[] positions = {0, 7, 300};
      double theta = 500000;
      float[] x = random(new SplittableRandom(4), positions.length * cols);
      Activations a = backend.upload(x, positions.length, cols);
      backend.rope(a, backend.rotation(positions, headDim, theta), heads);
      float[] got = backend.download(a);
      int half = headDim / 2;
      for (int t = 0; t < positions.length; t++) {
        for (int h = 0; h < 5; h++) {
          for (int i = 0; i < half; i++) {
            int at = t * cols + h * headDim + i;
            double x1 = x[at];
            double x2 = x[at + half];
            double angle = positions[t] * Math.pow(theta, -2.0 * i / headDim);
            double want1 = h < heads ? x1 * Math.cos(angle) - x2 * Math.sin(angle) : x1;
            double want2 = h < heads ? x2 * Math.cos(angle) + x1 * Math.sin(angle) : x2;
            assertEquals(want1, got[at], TOLERANCE);
            assertEquals(want2, got[at + half], TOLERANCE);
          }
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void attentionOverPagedBlocksOfTwoSequences(String device, int threads) {
    try (Backend backend = open(device, threads)) {
      for (KvDType dtype : KvDType.values()) {
        attendOverTwoSequences(backend, dtype);
      }
    }
  }

  private static void attendOverTwoSequences(Backend backend, KvDType dtype) {
    // 3 query heads over 1 KV head of 12; two sequences, their blocks interleaved in storage.
    DbrxConfig c = ODD;
    int headDim = c.headDim();
    int width = c.qkvWidth();
    int kvWidth = c.kvNHeads() * headDim;
    KvStorage storage = backend.kvStorage(c, dtype);
    storage.ensureBlocks(6);
    int[] tableA = {4, 0, 2};
    int[] tableB = {5, 1};
    int lengthA = 40;
    int lengthB = 19;
    SplittableRandom random = new SplittableRandom(5);
    float[][] rowsA = new float[lengthA][];
    float[][] rowsB = new float[lengthB][];
    // Store every position, a few tokens per call, both sequences mixed in a call.
    for (int p = 0; p < Math.max(lengthA, lengthB); p++) {
      Call call = new Call();
      if (p < lengthA) {
        rowsA[p] = call.add(random(random, width), tableA, p);
      }
      if (p < lengthB) {
        rowsB[p] = call.add(random(random, width), tableB, p);
      }
      KvBatch batch = batch(storage, call.tables(), call.positions());
      Activations qkv = backend.upload(concat(call.rows()), call.rows().size(), width);
      backend.storeKv(0, qkv, c.dModel(), c.dModel() + kvWidth, batch);
    }
    // Attend from the last position of each sequence, in one call.
    KvBatch batch = batch(storage, List.of(tableA, tableB), List.of(lengthA - 1, lengthB - 1));
    Activations qkv =
        backend.upload(concat(List.of(rowsA[lengthA - 1], rowsB[lengthB - 1])), 2, width);
    Activations out = backend.allocate(2, c.dModel());
    backend.attend(0, qkv, c.nHeads(), batch, out);
    float[] got = backend.download(out);
    assertAttention(rowsA, c, dtype, got, 0);
    assertAttention(rowsB, c, dtype, got, 1);
  }

  /**
   * Head size 84 takes every path over the head dimension (blocks of four vectors, one vector,
   * single elements); two KV heads of three query heads each.
   */
  private static final DbrxConfig WIDE_HEADS =
      new DbrxConfig(
          504, 6, 1, 64, 103, 2, 2.0, 1e4, 20, 5, 2, 1.0, DbrxConfig.Activation.SILU, "float32");

  @ParameterizedTest
  @MethodSource("backends")
  void attentionOfTwoWholePromptsInOneCallEqualsEachTokenAlone(String device, int threads) {
    try (Backend backend = open(device, threads)) {
      for (DbrxConfig c : List.of(ODD, WIDE_HEADS)) {
        int width = c.qkvWidth();
        int keys = c.dModel();
        int values = keys + c.kvNHeads() * c.headDim();
        KvStorage storage = backend.kvStorage(c, KvDType.F32);
        storage.ensureBlocks(6);
        int[] tableA = {4, 0, 2};
        int[] tableB = {5, 1};
        SplittableRandom random = new SplittableRandom(11);
        float[][] rowsA = new float[40][];
        float[][] rowsB = new float[19][];
        Call call = new Call();
        for (int p = 0; p < rowsA.length; p++) {
          rowsA[p] = call.add(random(random, width), tableA, p);
        }
        for (int p = 0; p < rowsB.length; p++) {
          rowsB[p] = call.add(random(random, width), tableB, p);
        }
        List<float[]> rows = call.rows();
        List<int[]> tables = call.tables();
        List<Integer> positions = call.positions();
        // Both prompts in one call, as a prefill of two sequences stores and attends them.
        KvBatch all = batch(storage, tables, positions);
        Activations qkv = backend.upload(concat(rows), rows.size(), width);
        backend.storeKv(0, qkv, keys, values, all);
        Activations out = backend.allocate(rows.size(), c.dModel());
        backend.attend(0, qkv, c.nHeads(), all, out);
        float[] together = backend.download(out);
        for (int t = 0; t < rows.size(); t++) {
          KvBatch one = batch(storage, List.of(tables.get(t)), List.of(positions.get(t)));
          Activations alone = backend.allocate(1, c.dModel());
          backend.attend(0, backend.upload(rows.get(t), 1, width), c.nHeads(), one, alone);
          float[] row = Arrays.copyOfRange(together, t * c.dModel(), (t + 1) * c.dModel());
          assertArrayEquals(backend.download(alone), row, "token " + t + " alone vs in the call");
          float[][] prefix = Arrays.copyOf(t < rowsA.length ? rowsA : rowsB, positions.get(t) + 1);
          assertAttention(prefix, c, KvDType.F32, together, t);
        }
      }
    }
  }

  /** The tokens of one attention call: their QKV rows, block tables and positions. */
  private record Call(List<float[]> rows, List<int[]> tables, List<Integer> positions) {
    Call() {
      this(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    }

    /** Adds a token and returns its row. */
    float[] add(float[] row, int[] table, int position) {
      rows.add(row);
      tables.add(table);
      positions.add(position);
      return row;
    }
  }

  private static KvBatch batch(KvStorage storage, List<int[]> tables, List<Integer> positions) {
    KvStorage[] storages = new KvStorage[positions.size()];
    java.util.Arrays.fill(storages, storage);
    return new KvBatch(
        storages,
        tables.toArray(int[][]::new),
        positions.stream().mapToInt(Integer::intValue).toArray());
  }

  private static float[] concat(List<float[]> rows) {
    float[] all = new float[rows.stream().mapToInt(r -> r.length).sum()];
    int at = 0;
    for (float[] r : rows) {
      System.arraycopy(r, 0, all, at, r.length);
      at += r.length;
    }
    return all;
  }

  /**
   * Softmax(q·k / sqrt(d)) · v over every stored position of one sequence, per query head, with
   * keys and values as the cache's dtype rounds them.
   */
  private static void assertAttention(
      float[][] rows, DbrxConfig c, KvDType dtype, float[] got, int outRow) {
    int headDim = c.headDim();
    int last = rows.length - 1;
    for (int h = 0; h < c.nHeads(); h++) {
      int kvHead = h / c.groupSize();
      double[] scores = new double[rows.length];
      double max = Double.NEGATIVE_INFINITY;
      for (int p = 0; p < rows.length; p++) {
        double dot = 0;
        for (int i = 0; i < headDim; i++) {
          dot +=
              (double) rows[last][h * headDim + i]
                  * stored(dtype, rows[p][c.dModel() + kvHead * headDim + i]);
        }
        scores[p] = dot / Math.sqrt(headDim);
        max = Math.max(max, scores[p]);
      }
      double sum = 0;
      for (int p = 0; p < rows.length; p++) {
        scores[p] = Math.exp(scores[p] - max);
        sum += scores[p];
      }
      int values = c.dModel() + c.kvNHeads() * headDim + kvHead * headDim;
      for (int i = 0; i < headDim; i++) {
        double want = 0;
        for (int p = 0; p < rows.length; p++) {
          want += scores[p] / sum * stored(dtype, rows[p][values + i]);
        }
        assertEquals(
            want,
            got[outRow * c.dModel() + h * headDim + i],
            TOLERANCE,
            dtype + " head " + h + " element " + i);
      }
    }
  }

  /** {@code v} as a KV cache of {@code dtype} holds it. */
  private static double stored(KvDType dtype, float v) {
    return switch (dtype) {
      case F32 -> v;
      case F16 -> DType.f16ToFloat(DType.floatToF16(v));
      case BF16 -> DType.bf16ToFloat(DType.floatToBf16(v));
    };
  }

  @ParameterizedTest
  @MethodSource("backends")
  void routeTakesTheTopKOfTheSoftmaxAndRenormalises(String device, int threads) {
    try (Backend backend = open(device, threads)) {
      float[] logits = {0.5f, 2f, -1f, 2f, 0f, /* */ 3f, 1f, 1f, 0f, -2f};
      Activations a = backend.upload(logits, 2, 5);
      Routing plain = backend.route(a, 2, null);
      Routing l2 = backend.route(a, 2, 2.0);
      // Ties go to the lower index: experts 1 then 3 for the first token.
      assertArrayEquals(new int[] {1, 3, 0, 1}, plain.experts());
      assertArrayEquals(new int[] {1, 3, 0, 1}, l2.experts());
      for (int t = 0; t < 2; t++) {
        double sum = 0;
        for (int e = 0; e < 5; e++) {
          sum += Math.exp(logits[t * 5 + e]);
        }
        double p0 = Math.exp(logits[t * 5 + plain.experts()[t * 2]]) / sum;
        double p1 = Math.exp(logits[t * 5 + plain.experts()[t * 2 + 1]]) / sum;
        assertEquals(p0, plain.weights()[t * 2], 1e-6);
        assertEquals(p1, plain.weights()[t * 2 + 1], 1e-6);
        double norm = Math.sqrt(p0 * p0 + p1 * p1);
        assertEquals(p0 / norm, l2.weights()[t * 2], 1e-6);
        assertEquals(p1 / norm, l2.weights()[t * 2 + 1], 1e-6);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void gatherGluScaledRowsAndAdd(String device, int threads) {
    try (Backend backend = open(device, threads)) {
      SplittableRandom random = new SplittableRandom(6);
      int cols = 37;
      float[] src = random(random, 4 * cols);
      Activations gathered = backend.allocate(3, cols);
      backend.gatherRows(backend.upload(src, 4, cols), new int[] {3, 0, 3}, gathered);
      float[] g = backend.download(gathered);
      for (int i = 0; i < cols; i++) {
        assertEquals(src[3 * cols + i], g[i]);
        assertEquals(src[i], g[cols + i]);
        assertEquals(src[3 * cols + i], g[2 * cols + i]);
      }

      for (DbrxConfig.Activation activation : DbrxConfig.Activation.values()) {
        float[] gate = random(random, 2 * cols);
        float[] up = random(random, 2 * cols);
        Activations a = backend.upload(gate, 2, cols);
        backend.glu(activation, a, backend.upload(up, 2, cols));
        float[] got = backend.download(a);
        for (int i = 0; i < gate.length; i++) {
          double z = gate[i];
          double act =
              switch (activation) {
                case SILU -> z / (1 + Math.exp(-z));
                case GELU -> 0.5 * z * (1 + erf(z / Math.sqrt(2)));
                case GELU_TANH ->
                    0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)));
                case RELU -> Math.max(0, z);
              };
          assertEquals(act * up[i], got[i], 1e-6, activation.toString());
        }
      }

      float[] dst = random(random, 3 * cols);
      float[] rows = random(random, 2 * cols);
      Activations target = backend.upload(dst, 3, cols);
      backend.addScaledRows(
          backend.upload(rows, 2, cols), new int[] {2, 0}, new float[] {0.25f, -2f}, target);
      float[] y = random(random, 3 * cols);
      backend.add(target, backend.upload(y, 3, cols));
      float[] got = backend.download(target);
      for (int i = 0; i < cols; i++) {
        assertEquals(dst[i] - 2.0 * rows[cols + i] + y[i], got[i], 1e-6);
        assertEquals(dst[cols + i] + y[cols + i], got[cols + i], 1e-6);
        assertEquals(dst[2 * cols + i] + 0.25 * rows[i] + y[2 * cols + i], got[2 * cols + i], 1e-6);
      }
    }
  }

  /**
   * The grouped GLU and scaled adds, on sizes the CPU backend shares among its threads: the same
   * bits as one call per expert on one thread, so each row of the destination takes its terms in
   * list order (rows repeat within a term and across terms); and the values of a double reference.
   */
  @ParameterizedTest
  @MethodSource("backends")
  void groupedGluAndScaledRowsMatchOneCallPerExpertAndTheReference(String device, int threads) {
    int cols = 37;
    int dstRows = 2000;
    int[] sizes = {700, 3, 1100};
    SplittableRandom random = new SplittableRandom(9);
    float[] dst = random(random, dstRows * cols);
    List<float[]> gates = new ArrayList<>();
    List<float[]> ups = new ArrayList<>();
    List<int[]> rows = new ArrayList<>();
    List<float[]> scales = new ArrayList<>();
    for (int size : sizes) {
      gates.add(random(random, size * cols));
      ups.add(random(random, size * cols));
      rows.add(random.ints(size, 0, dstRows).toArray());
      scales.add(random(random, size));
    }
    float[][] perExpert =
        gluAndScaledRows(open(device, 1), false, dst, cols, gates, ups, rows, scales);
    float[][] got =
        gluAndScaledRows(open(device, threads), true, dst, cols, gates, ups, rows, scales);
    for (int e = 0; e <= sizes.length; e++) {
      assertArrayEquals(perExpert[e], got[e], "part " + e);
    }
    double[] expected = new double[dst.length];
    for (int i = 0; i < dst.length; i++) {
      expected[i] = dst[i];
    }
    for (int e = 0; e < sizes.length; e++) {
      for (int i = 0; i < gates.get(e).length; i++) {
        double z = gates.get(e)[i];
        double glu = z / (1 + Math.exp(-z)) * ups.get(e)[i];
        assertEquals(glu, got[e][i], 1e-6);
        expected[rows.get(e)[i / cols] * cols + i % cols] += scales.get(e)[i / cols] * glu;
      }
    }
    for (int i = 0; i < dst.length; i++) {
      assertEquals(expected[i], got[sizes.length][i], 1e-5);
    }
  }

  /**
   * The GLUs of the experts, then their rows added into dst, in grouped calls or one call per
   * expert: each GLU's output, then dst.
   */
  private static float[][] gluAndScaledRows(
      Backend opened,
      boolean grouped,
      float[] dst,
      int cols,
      List<float[]> gates,
      List<float[]> ups,
      List<int[]> rows,
      List<float[]> scales) {
    try (Backend backend = opened) {
      List<Activations> gateActs = new ArrayList<>();
      List<Activations> upActs = new ArrayList<>();
      for (int e = 0; e < gates.size(); e++) {
        gateActs.add(backend.upload(gates.get(e), gates.get(e).length / cols, cols));
        upActs.add(backend.upload(ups.get(e), ups.get(e).length / cols, cols));
      }
      Activations target = backend.upload(dst, dst.length / cols, cols);
      if (grouped) {
        backend.glu(DbrxConfig.Activation.SILU, gateActs, upActs);
        List<ScaledRows> terms = new ArrayList<>();
        for (int e = 0; e < gates.size(); e++) {
          terms.add(new ScaledRows(gateActs.get(e), rows.get(e), scales.get(e)));
        }
        backend.addScaledRows(terms, target);
      } else {
        for (int e = 0; e < gates.size(); e++) {
          backend.glu(DbrxConfig.Activation.SILU, gateActs.get(e), upActs.get(e));
        }
        for (int e = 0; e < gates.size(); e++) {
          backend.addScaledRows(gateActs.get(e), rows.get(e), scales.get(e), target);
        }
      }
      float[][] out = new float[gates.size() + 1][];
      for (int e = 0; e < gates.size(); e++) {
        out[e] = backend.download(gateActs.get(e));
      }
      out[gates.size()] = backend.download(target);
      return out;
    }
  }

  /**
   * erf to double precision by its series: the reference must not share the backend's
   * approximation.
   */
  private static double erf(double x) {
    double sum = 0;
    double term = x;
    for (int n = 0; n < 60; n++) {
      sum += term / (2 * n + 1);
      term *= -x * x / (n + 1);
    }
    return 2 / Math.sqrt(Math.PI) * sum;
  }
}
