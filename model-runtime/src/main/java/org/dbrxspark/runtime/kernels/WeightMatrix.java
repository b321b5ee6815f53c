package org.dbrxspark.runtime.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.dbrxspark.runtime.backend.Weights;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.checkpoint.Tensor;

/**
 * A row-major {@code [rows, cols]} weight matrix in its stored dtype, read in place from the
 * memory-mapped checkpoint (never copied onto the heap). Rows of a block-quantized dtype hold whole
 * blocks.
 */
final class WeightMatrix implements Weights {
  private final ByteBuffer bytes;

  /** The same bytes as little-endian int pairs (BF16) or floats (F32), for bulk copies. */
  private final IntBuffer ints;

  private final FloatBuffer floats;
  private final DType dtype;
  private final int rows;
  private final int cols;

  WeightMatrix(ByteBuffer bytes, DType dtype, int rows, int cols) {
    long needed = rows * dtype.bytesFor(cols);
    if (bytes.capacity() != needed) {
      throw new IllegalArgumentException(
          "weight buffer holds "
              + bytes.capacity()
              + " bytes, ["
              + rows
              + ", "
              + cols
              + "] "
              + dtype
              + " needs "
              + needed);
    }
    // The whole buffer, wherever the caller left its position: reads are absolute.
    this.bytes = bytes.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN);
    this.ints = this.bytes.asIntBuffer();
    this.floats = this.bytes.asFloatBuffer();
    this.dtype = dtype;
    this.rows = rows;
    this.cols = cols;
  }

  /** Rows {@code [firstRow, firstRow + rowCount)} of a 2-D checkpoint tensor. */
  static WeightMatrix of(Tensor tensor, long firstRow, int rowCount) {
    long bytes = rowCount * tensor.dtype().bytesFor(tensor.cols());
    if (bytes > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          tensor.name()
              + ": a "
              + rowCount
              + "-row slice is "
              + bytes
              + " bytes, over the 2 GiB a single weight matrix may span");
    }
    return new WeightMatrix(
        tensor.rowBytes(firstRow, rowCount), tensor.dtype(), rowCount, tensor.cols());
  }

  /** A whole 2-D checkpoint tensor. */
  static WeightMatrix of(Tensor tensor) {
    return of(tensor, 0, Math.toIntExact(tensor.rows()));
  }

  /** An F32 matrix over a heap array: for tests and small derived weights. */
  public static WeightMatrix ofFloats(float[] data, int rows, int cols) {
    ByteBuffer buffer = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buffer.asFloatBuffer().put(data);
    return new WeightMatrix(buffer, DType.F32, rows, cols);
  }

  @Override
  public int rows() {
    return rows;
  }

  @Override
  public int cols() {
    return cols;
  }

  @Override
  public DType dtype() {
    return dtype;
  }

  /** Widens row {@code row} into {@code dst[offset .. offset + cols)} (an embedding lookup). */
  void readRow(int row, float[] dst, int offset) {
    if (row < 0 || row >= rows) {
      throw new IndexOutOfBoundsException("row " + row + " of a " + rows + "-row matrix");
    }
    CpuKernels.widen(this, (long) row * cols, cols, dst, offset);
  }

  /** Bytes this matrix occupies in the checkpoint. */
  @Override
  public long byteSize() {
    return bytes.capacity();
  }

  ByteBuffer bytes() {
    return bytes;
  }

  IntBuffer ints() {
    return ints;
  }

  FloatBuffer floats() {
    return floats;
  }
}
