package org.dbrxspark.runtime.checkpoint;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a safetensors or GGUF file: an immutable, thread-safe view whose weights stay in
 * the file and are memory-mapped on access, never copied to the heap unless asked for as floats.
 *
 * <p>The tensor is seen as a row-major matrix of {@link #rows()} x {@link #cols()}: the last
 * dimension is the columns and all leading dimensions together are the rows, so a 1-D tensor (a
 * norm weight) is a single row, and a scalar is 1 x 1.
 *
 * <p>Access methods throw {@link IllegalStateException} once the owning {@link Checkpoint} is
 * closed (buffers mapped before stay valid) and {@link UncheckedIOException} on an I/O error or
 * when the calling thread is interrupted (other threads sharing the tensor are unaffected).
 */
public final class Tensor {
  /** Bytes converted per mapping in {@link #readRows}: bounds the mapped window, not a limit. */
  private static final long CONVERT_CHUNK_BYTES = 16L << 20;

  private final FileMapper mapper;
  private final Path file;
  private final String name;
  private final DType dtype;
  private final long[] shape;
  private final long position;
  private final long byteSize;
  private final long rows;
  private final int cols;
  private final long rowByteSize;

  /**
   * The caller has checked that {@code position} and the shape's byte size lie inside the file and
   * that one row fits in an int.
   */
  Tensor(FileMapper mapper, Path file, String name, DType dtype, long[] shape, long position) {
    this.mapper = mapper;
    this.file = file;
    this.name = name;
    this.dtype = dtype;
    this.shape = shape.clone();
    this.position = position;
    long leading = 1;
    for (int i = 0; i < shape.length - 1; i++) {
      leading *= shape[i];
    }
    this.rows = leading;
    this.cols = shape.length == 0 ? 1 : (int) shape[shape.length - 1];
    this.rowByteSize = dtype.bytesFor(cols);
    this.byteSize = rows * rowByteSize;
  }

  public String name() {
    return name;
  }

  public DType dtype() {
    return dtype;
  }

  /** The shape as stored (a copy). */
  public long[] shape() {
    return shape.clone();
  }

  /** Product of all dimensions but the last; 1 for 1-D tensors and scalars. */
  public long rows() {
    return rows;
  }

  /** The last dimension; 1 for scalars. */
  public int cols() {
    return cols;
  }

  /** Size of the weights in the file. */
  public long byteSize() {
    return byteSize;
  }

  /** The file holding the weights. */
  public Path file() {
    return file;
  }

  /** Absolute file position of the first byte. */
  long position() {
    return position;
  }

  /**
   * A read-only little-endian buffer over exactly rows {@code [firstRow, firstRow + rowCount)},
   * mapped from the file. The region must be under 2 GiB; ask for big tensors in row blocks.
   */
  public ByteBuffer rowBytes(long firstRow, int rowCount) {
    checkRows(firstRow, rowCount);
    long size = rowCount * rowByteSize;
    if (size > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          this
              + ": "
              + rowCount
              + " rows are "
              + size
              + " bytes, more than one buffer can hold; read fewer rows at a time");
    }
    try {
      return mapper.map(position + firstRow * rowByteSize, size).order(ByteOrder.LITTLE_ENDIAN);
    } catch (ClosedChannelException e) {
      throw new IllegalStateException(this + ": the checkpoint is closed", e);
    } catch (InterruptedIOException e) {
      throw new UncheckedIOException(
          this + ": interrupted while mapping rows " + firstRow + "+" + rowCount, e);
    } catch (IOException e) {
      throw new UncheckedIOException(this + ": cannot map rows " + firstRow + "+" + rowCount, e);
    }
  }

  /**
   * Converts rows {@code [firstRow, firstRow + rowCount)} to float32 into {@code dst}, starting at
   * {@code dstOffset}; writes {@code rowCount * cols()} floats.
   */
  public void readRows(long firstRow, int rowCount, float[] dst, int dstOffset) {
    checkRows(firstRow, rowCount);
    Objects.checkFromIndexSize(dstOffset, (long) rowCount * cols, dst.length);
    int rowsPerChunk =
        (int) Math.min(rowCount, Math.max(1, CONVERT_CHUNK_BYTES / Math.max(1, rowByteSize)));
    for (int done = 0; done < rowCount; done += rowsPerChunk) {
      int n = Math.min(rowsPerChunk, rowCount - done);
      dtype.decode(rowBytes(firstRow + done, n), 0, dst, dstOffset + done * cols, n * cols);
    }
  }

  /** All weights as float32; for small tensors such as norm weights and routers. */
  public float[] toFloatArray() {
    long elements = rows * cols;
    if (elements > Integer.MAX_VALUE - 8) {
      throw new IllegalStateException(
          this
              + ": "
              + elements
              + " elements do not fit in one float[]; use readRows on row blocks");
    }
    float[] out = new float[(int) elements];
    if (elements > 0) {
      readRows(0, (int) rows, out, 0);
    }
    return out;
  }

  private void checkRows(long firstRow, int rowCount) {
    if (firstRow < 0 || rowCount < 0 || firstRow > rows - rowCount) {
      throw new IndexOutOfBoundsException(
          this + ": rows " + firstRow + "+" + rowCount + " outside [0, " + rows + ")");
    }
  }

  /** Name, dtype, shape and file, for error messages. */
  @Override
  public String toString() {
    return "tensor '" + name + "' " + dtype + Arrays.toString(shape) + " in " + file;
  }
}
