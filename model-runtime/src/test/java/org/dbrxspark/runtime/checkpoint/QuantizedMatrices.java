package org.dbrxspark.runtime.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random matrices quantized as ggml quantizes them, one per block type, in a GGUF file: weights of
 * the types no small checkpoint of the test tree holds (the K-quants), for the backend conformance
 * suite. Each tensor is named after its type.
 */
public final class QuantizedMatrices implements AutoCloseable {
  private final GgufFile file;

  private QuantizedMatrices(GgufFile file) {
    this.file = file;
  }

  /** Writes {@code [rows, cols]} matrices of {@code types} to {@code path} and opens them. */
  public static QuantizedMatrices write(Path path, int rows, int cols, long seed, DType... types)
      throws IOException {
    GgufBuilder gguf = new GgufBuilder();
    SplittableRandom random = new SplittableRandom(seed);
    for (DType type : types) {
      float[] values = new float[rows * cols];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) (random.nextDouble() * 2 - 1);
      }
      ByteBuffer bytes =
          ByteBuffer.allocate(Math.toIntExact(rows * type.bytesFor(cols)))
              .order(ByteOrder.LITTLE_ENDIAN);
      type.put(values, 0, values.length, bytes);
      gguf.tensors.add(
          new GgufBuilder.Entry(
              type.name(), new long[] {cols, rows}, type.ggmlType(), bytes.array()));
    }
    return new QuantizedMatrices(GgufFile.open(gguf.write(path)));
  }

  /** The matrices, in the order of the types written. */
  public List<Tensor> tensors() {
    return List.copyOf(file.tensors().values());
  }

  @Override
  public void close() {
    try {
      file.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
