package org.dbrxspark.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.dbrxspark.runtime.checkpoint.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Both matmul forms against a double-precision reference, on every dtype and awkward sizes. */
class KernelsTest {
  private static final Kernels KERNELS = Kernels.cpu(2);
  // Sizes with vector tails for 8- and 16-lane species, an odd width, and a one-column matrix.
  // {1100, 600} spans several row chunks and column bands of the down-projection kernel.
  private static final int[][] SHAPES = {
    {7, 2 * (16 * 3 + 5)}, {33, 70}, {5, 1}, {300, 130}, {4, 33}, {1100, 600}
  };

  @AfterAll
  static void close() {
    KERNELS.close();
  }

  /**
   * A random matrix; {@code values} receives what it holds after rounding to the dtype. A block
   * type gets random blocks (any code bytes with a modest f16 scale are a valid block), read back
   * through the dequantization the golden tests check against the reference.
   */
  private static WeightMatrix matrix(DType dtype, int rows, int cols, float[] values, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    ByteBuffer bytes =
        ByteBuffer.allocate(Math.toIntExact(rows * dtype.bytesFor(cols)))
            .order(ByteOrder.LITTLE_ENDIAN);
    if (dtype.isQuantized()) {
      byte[] raw = new byte[bytes.capacity()];
      for (int i = 0; i < raw.length; i++) {
        raw[i] = (byte) random.nextInt(256);
      }
      bytes.put(raw);
      // Where each type keeps its f16 scales (ggml-common.h): random bytes there could be inf or
      // NaN.
      // K-quants multiply d by a sub-block scale of up to 63 (Q6_K: 127) as well, so their d is
      // smaller, keeping weights within about ±1 like the other types'.
      int[] scales =
          switch (dtype) {
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> new int[] {0};
          };
      float unit = dtype.blockSize() == 256 ? 1f / 262144 : 1f / 4096;
      for (int b = 0; b < raw.length / dtype.blockBytes(); b++) {
        for (int at : scales) {
          bytes.putShort(
              b * dtype.blockBytes() + at, DType.floatToF16((random.nextInt(64) + 1) * unit));
        }
      }
      dtype.decode(bytes, 0, values, 0, rows * cols);
      return new WeightMatrix(bytes, dtype, rows, cols);
    }
    for (int i = 0; i < rows * cols; i++) {
      float v = (random.nextInt(2001) - 1000) / 1024f;
      switch (dtype) {
        case F32 -> bytes.putFloat(values[i] = v);
        case BF16 ->
            bytes.putShort(DType.floatToBf16(values[i] = DType.bf16ToFloat(DType.floatToBf16(v))));
        case F16 ->
            bytes.putShort(DType.floatToF16(values[i] = DType.f16ToFloat(DType.floatToF16(v))));
        default -> throw new AssertionError(dtype);
      }
    }
    return new WeightMatrix(bytes, dtype, rows, cols);
  }

  /** Columns rounded up to whole blocks of the dtype: block types hold whole blocks per row. */
  private static int cols(DType dtype, int cols) {
    int block = dtype.blockSize();
    return (cols + block - 1) / block * block;
  }

  private static float[] activations(int n, SplittableRandom random) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (random.nextDouble() * 2 - 1);
    }
    return x;
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void linearFormMatchesTheReferenceForAnyBatch(DType dtype) {
    for (int[] shape : SHAPES) {
      int rows = shape[0];
      int cols = cols(dtype, shape[1]);
      float[] w = new float[rows * cols];
      WeightMatrix matrix = matrix(dtype, rows, cols, w, rows * 31L + cols);
      for (int n : new int[] {1, 3, 4, 9}) {
        float[] x = activations(n * cols, new SplittableRandom(n));
        float[] out = new float[n * rows];
        KERNELS.matmulTransposed(x, n, matrix, out);
        for (int t = 0; t < n; t++) {
          for (int j = 0; j < rows; j++) {
            double expected = 0;
            for (int i = 0; i < cols; i++) {
              expected += (double) x[t * cols + i] * w[j * cols + i];
            }
            assertEquals(
                expected,
                out[t * rows + j],
                1e-4 * (1 + Math.abs(expected)),
                dtype + " " + Arrays.toString(shape));
          }
          float[] alone = new float[rows];
          KERNELS.matmulTransposed(
              Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, matrix, alone);
          assertArrayEquals(
              alone, Arrays.copyOfRange(out, t * rows, (t + 1) * rows), "token " + t + " of " + n);
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void inputMajorFormMatchesTheReferenceForAnyBatch(DType dtype) {
    for (int[] shape : SHAPES) {
      int rows = shape[0];
      int cols = cols(dtype, shape[1]);
      float[] w = new float[rows * cols];
      WeightMatrix matrix = matrix(dtype, rows, cols, w, rows * 17L + cols);
      // 24 tokens take the column-band path, fewer the row-block path: both must sum alike.
      for (int n : new int[] {1, 2, 5, 24}) {
        float[] x = activations(n * rows, new SplittableRandom(n + 100));
        float[] out = new float[n * cols];
        Arrays.fill(out, Float.NaN); // every output must be written, not accumulated into
        KERNELS.matmul(x, n, matrix, out);
        for (int t = 0; t < n; t++) {
          for (int j = 0; j < cols; j++) {
            double expected = 0;
            for (int i = 0; i < rows; i++) {
              expected += (double) x[t * rows + i] * w[i * cols + j];
            }
            assertEquals(
                expected,
                out[t * cols + j],
                1e-4 * (1 + Math.abs(expected)),
                dtype + " " + Arrays.toString(shape));
          }
          float[] alone = new float[cols];
          KERNELS.matmul(Arrays.copyOfRange(x, t * rows, (t + 1) * rows), 1, matrix, alone);
          assertArrayEquals(
              alone, Arrays.copyOfRange(out, t * cols, (t + 1) * cols), "token " + t + " of " + n);
        }
      }
    }
  }

  /** The per-row operations' cut: every index once, in ranges of at least the grain. */
  @Test
  void parallelRangesVisitEveryIndexOnceInRangesOfAtLeastTheGrain() {
    try (Kernels three = Kernels.cpu(3)) {
      for (int[] countAndGrain : new int[][] {{0, 5}, {4, 5}, {5, 5}, {11, 5}, {1000, 7}}) {
        int count = countAndGrain[0];
        int grain = countAndGrain[1];
        int[] visits = new int[count];
        List<int[]> ranges = java.util.Collections.synchronizedList(new ArrayList<>());
        three.parallelRanges(
            count,
            grain,
            (from, to) -> {
              ranges.add(new int[] {from, to});
              for (int i = from; i < to; i++) {
                visits[i]++;
              }
            });
        int[] once = new int[count];
        Arrays.fill(once, 1);
        assertArrayEquals(once, visits, count + " items");
        for (int[] range : ranges) {
          assertEquals(true, range[1] - range[0] >= Math.min(grain, count), Arrays.toString(range));
        }
        assertEquals(count >= 2 * grain, ranges.size() > 1, count + " items, " + ranges.size());
      }
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void groupedCallsGiveEachProductsOwnResult(DType dtype) {
    // Products of different shapes and batch sizes in one call, as a layer's experts are run.
    int[][] shapes = {{300, 130}, {1100, 600}, {33, 70}, {7, 106}};
    List<Kernels.Product> linear = new ArrayList<>();
    List<Kernels.Product> inputMajor = new ArrayList<>();
    List<float[]> linearAlone = new ArrayList<>();
    List<float[]> inputMajorAlone = new ArrayList<>();
    for (int g = 0; g < shapes.length; g++) {
      int rows = shapes[g][0];
      int cols = cols(dtype, shapes[g][1]);
      int n = 1 + g * 7;
      WeightMatrix matrix = matrix(dtype, rows, cols, new float[rows * cols], 900L + g);
      float[] x = activations(n * cols, new SplittableRandom(g));
      float[] alone = new float[n * rows];
      KERNELS.matmulTransposed(x, n, matrix, alone);
      linear.add(new Kernels.Product(x, n, matrix, new float[n * rows]));
      linearAlone.add(alone);
      float[] xt = activations(n * rows, new SplittableRandom(50 + g));
      float[] aloneT = new float[n * cols];
      KERNELS.matmul(xt, n, matrix, aloneT);
      inputMajor.add(new Kernels.Product(xt, n, matrix, new float[n * cols]));
      inputMajorAlone.add(aloneT);
    }
    // Products that read the same input array, as an expert's gate and up do: as the same
    // [n, cols], as fewer of its rows, as another shape.
    float[] shared = activations(4 * 70, new SplittableRandom(7));
    int[][] sharing = {{13, 70, 1}, {33, 70, 4}, {21, 70, 4}, {9, 140, 2}};
    for (int[] shape : sharing) {
      int rows = shape[0];
      int cols = cols(dtype, shape[1]);
      int n = shape[2];
      WeightMatrix matrix = matrix(dtype, rows, cols, new float[rows * cols], 950L + rows);
      float[] x = cols == shape[1] ? shared : activations(n * cols, new SplittableRandom(rows));
      float[] alone = new float[n * rows];
      KERNELS.matmulTransposed(x, n, matrix, alone);
      linear.add(new Kernels.Product(x, n, matrix, new float[n * rows]));
      linearAlone.add(alone);
    }
    KERNELS.matmulTransposed(linear);
    KERNELS.matmul(inputMajor);
    for (int g = 0; g < linear.size(); g++) {
      assertArrayEquals(linearAlone.get(g), linear.get(g).out(), "linear form, product " + g);
    }
    for (int g = 0; g < shapes.length; g++) {
      assertArrayEquals(
          inputMajorAlone.get(g), inputMajor.get(g).out(), "input-major form, product " + g);
    }
  }

  /**
   * Block-quantized rows against their scalar dequantization, multiplied in double precision. The
   * kernels multiply exactly the dequantized weights (rowsReadBackExactly), whether widened into a
   * tile or in registers, so the only difference is float32 summation: each product passes through
   * at most cols / 8 FMAs of its lane (one vector sum of at least 8 lanes, as VectorMath.dot) and
   * 15 lane adds, and so is off by at most γ_depth · Σ |x_i w_i| (Higham, Accuracy and Stability of
   * Numerical Algorithms, §4.2).
   */
  @ParameterizedTest
  @EnumSource(
      value = DType.class,
      names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
  void blockRowsDifferFromTheirDequantizationOnlyBySummationOrder(DType dtype) {
    // Odd row counts; 1 to 11 super-blocks per row; batches with and without a tail of four.
    int[][] shapes = {{1, 256}, {7, 768}, {33, 1280}, {129, 512}, {5, 2816}};
    for (int[] shape : shapes) {
      int rows = shape[0];
      int cols = shape[1];
      float[] w = new float[rows * cols];
      WeightMatrix matrix = matrix(dtype, rows, cols, w, rows * 7L + cols);
      double depth = cols / 8.0 + 15;
      double unit = Math.ulp(1f) / 2;
      double gamma = depth * unit / (1 - depth * unit);
      for (int n : new int[] {1, 5, 8, 32}) {
        float[] x = activations(n * cols, new SplittableRandom(cols + n));
        float[] out = new float[n * rows];
        KERNELS.matmulTransposed(x, n, matrix, out);
        for (int t = 0; t < n; t++) {
          for (int j = 0; j < rows; j++) {
            double exact = 0;
            double magnitude = 0;
            for (int i = 0; i < cols; i++) {
              double product = (double) x[t * cols + i] * w[j * cols + i];
              exact += product;
              magnitude += Math.abs(product);
            }
            assertEquals(
                exact,
                out[t * rows + j],
                gamma * magnitude,
                dtype + " " + Arrays.toString(shape) + " batch " + n + " token " + t + " row " + j);
          }
        }
      }
    }
  }

  /**
   * BF16 rows take blocks of four rows and four tokens, of four rows and one token, and single
   * dots: a token's result is the same bits whichever took it, at every batch size from 1 to 21 and
   * at 64, on one thread or three. Shapes with leftover rows, a row tail past the last whole
   * vector, and rows spanning several bulk copies.
   */
  @Test
  void bf16LinearRowsDoNotDependOnTheBatchOrTheThreads() {
    for (int[] shape : new int[][] {{37, 106}, {70, 1024}, {9, 2}}) {
      int rows = shape[0];
      int cols = shape[1];
      WeightMatrix matrix = matrix(DType.BF16, rows, cols, new float[rows * cols], rows + cols);
      assertSameBitsAtEveryBatch(Kernels::matmulTransposed, matrix, cols, rows, cols);
    }
  }

  /**
   * The BF16 input-major form takes two tokens over two register blocks of columns, one token over
   * one or two, and single column pairs past the last block: a token's result is the same bits
   * whichever took it, at every batch size from 1 to 21 and at 64, on one thread or three. Shapes
   * with an unpaired last register block, a column band narrower than the others, a column tail,
   * several row blocks, and batches on both the row-block and the column-band path.
   */
  @Test
  void bf16InputMajorColumnsDoNotDependOnTheBatchOrTheThreads() {
    for (int[] shape : new int[][] {{150, 1094}, {70, 192}, {9, 130}}) {
      int rows = shape[0];
      int cols = shape[1];
      WeightMatrix matrix = matrix(DType.BF16, rows, cols, new float[rows * cols], rows + cols);
      assertSameBitsAtEveryBatch(Kernels::matmul, matrix, rows, cols, rows);
    }
  }

  /** One of the kernels' two product forms: {@code n} tokens of {@code x} by {@code matrix}. */
  private interface Product {
    void run(Kernels kernels, float[] x, int n, WeightMatrix matrix, float[] out);
  }

  /**
   * Each token's result of {@code product}, at every batch size from 1 to 21 on one thread, is the
   * same bits as in a batch of 64 on the test's three threads.
   *
   * @param in a token's input width
   * @param out a token's output width
   * @param seed the activations' seed
   */
  private static void assertSameBitsAtEveryBatch(
      Product product, WeightMatrix matrix, int in, int out, int seed) {
    float[] x = activations(64 * in, new SplittableRandom(seed));
    float[] batch64 = new float[64 * out];
    product.run(KERNELS, x, 64, matrix, batch64);
    try (Kernels oneThread = Kernels.cpu(1)) {
      for (int n = 1; n <= 21; n++) {
        float[] result = new float[n * out];
        product.run(oneThread, Arrays.copyOf(x, n * in), n, matrix, result);
        assertArrayEquals(
            Arrays.copyOf(batch64, n * out),
            result,
            "[" + matrix.rows() + ", " + matrix.cols() + "] batch " + n);
      }
    }
  }

  /**
   * A row's result is the same bits alone (on the blocks, two or four rows at a time, a row left
   * over widened), in a batch of 2, 7 or 32 (on widened tiles, with and without a tail of tokens),
   * and on one thread or two; and at every batch size from 1 to 21, the sizes an expert gets
   * (groups of four tokens, a last group of two or three with a stand-in token, one token left
   * over), as in a batch of 64. Odd row counts, spanning several bulk copies of rows.
   */
  @ParameterizedTest
  @EnumSource(
      value = DType.class,
      names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
  void blockRowsDoNotDependOnTheBatchOrTheThreads(DType dtype) {
    for (int[] shape : new int[][] {{37, 1024}, {75, 1792}}) {
      blockRowsDoNotDependOnTheBatchOrTheThreads(dtype, shape[0], shape[1]);
    }
  }

  private static void blockRowsDoNotDependOnTheBatchOrTheThreads(DType dtype, int rows, int cols) {
    String what = dtype + " [" + rows + ", " + cols + "]";
    WeightMatrix matrix = matrix(dtype, rows, cols, new float[rows * cols], 11 + rows);
    assertSameBitsAtEveryBatch(Kernels::matmulTransposed, matrix, cols, rows, cols);
    float[] x = activations(32 * cols, new SplittableRandom(3));
    float[] batch32 = new float[32 * rows];
    KERNELS.matmulTransposed(x, 32, matrix, batch32);
    float[] batch7 = new float[7 * rows];
    float[] batch2 = new float[2 * rows];
    try (Kernels oneThread = Kernels.cpu(1)) {
      oneThread.matmulTransposed(x, 7, matrix, batch7);
      oneThread.matmulTransposed(Arrays.copyOfRange(x, 5 * cols, 7 * cols), 2, matrix, batch2);
      assertArrayEquals(
          Arrays.copyOfRange(batch32, 5 * rows, 7 * rows), batch2, what + " tokens 5 and 6");
      for (int t = 0; t < 7; t++) {
        float[] alone = new float[rows];
        oneThread.matmulTransposed(
            Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, matrix, alone);
        float[] want = Arrays.copyOfRange(batch32, t * rows, (t + 1) * rows);
        assertArrayEquals(want, alone, what + " token " + t + " alone");
        assertArrayEquals(
            want, Arrays.copyOfRange(batch7, t * rows, (t + 1) * rows), what + " token " + t);
      }
    }
  }

  /**
   * A single token on the blocks multiplies each weight exactly as {@link DType#decode} gives it:
   * with the token a unit vector e_i, every row's result is its weight i. This checks each weight's
   * unpacking on its own, where a sum would hide a wrong code in it.
   */
  @ParameterizedTest
  @EnumSource(
      value = DType.class,
      names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
  void oneTokenOnTheBlocksTakesEachWeightAsDecoded(DType dtype) {
    int rows = 9;
    int cols = 512;
    float[] w = new float[rows * cols];
    WeightMatrix matrix = matrix(dtype, rows, cols, w, 17);
    float[] unit = new float[cols];
    float[] out = new float[rows];
    for (int i = 0; i < cols; i++) {
      unit[i] = 1;
      KERNELS.matmulTransposed(unit, 1, matrix, out);
      unit[i] = 0;
      for (int j = 0; j < rows; j++) {
        // Delta 0: a weight of -0 sums to +0.
        assertEquals(w[j * cols + i], out[j], 0f, dtype + " row " + j + " weight " + i);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void rowsReadBackExactly(DType dtype) {
    // Block types go through the vector widening here, and must give the scalar decode's bits.
    int cols = cols(dtype, 40);
    float[] w = new float[6 * cols];
    WeightMatrix matrix = matrix(dtype, 6, cols, w, 5);
    float[] row = new float[cols + 5];
    matrix.readRow(4, row, 5);
    assertArrayEquals(
        Arrays.copyOfRange(w, 4 * cols, 5 * cols), Arrays.copyOfRange(row, 5, cols + 5));
  }
}
