package org.dbrxspark.runtime.checkpoint;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a GGUF v3 file: metadata and tensor infos are collected first, then {@link #write} streams
 * each tensor's bytes in order, so memory does not grow with the model. The file appears under its
 * name only when complete: it is written to a hidden sibling and renamed.
 */
final class GgufWriter {
  static final int MAGIC = 0x46554747; // "GGUF" as a little-endian int
  static final int VERSION = 3;
  static final int ALIGNMENT = 32;

  /** GGUF metadata value types (gguf.h). */
  static final int UINT32 = 4;

  static final int INT32 = 5;
  static final int FLOAT32 = 6;
  static final int BOOL = 7;
  static final int STRING = 8;
  static final int ARRAY = 9;

  /** Writes one tensor's bytes, exactly as many as its shape and type need. */
  @FunctionalInterface
  interface TensorBytes {
    void writeTo(OutputStream out) throws IOException;
  }

  private record Declared(String name, long[] shape, DType type, TensorBytes bytes) {}

  private final ByteArrayOutputStream metadata = new ByteArrayOutputStream();
  private int metadataCount;
  private final List<Declared> tensors = new ArrayList<>();

  void putUint32(String key, long value) {
    key(key, UINT32);
    Encoding.u32(metadata, value);
  }

  void putFloat32(String key, double value) {
    key(key, FLOAT32);
    Encoding.u32(metadata, Float.floatToIntBits((float) value));
  }

  void putBool(String key, boolean value) {
    key(key, BOOL);
    metadata.write(value ? 1 : 0);
  }

  void putString(String key, String value) {
    key(key, STRING);
    Encoding.string(metadata, value);
  }

  void putStrings(String key, List<String> values) {
    key(key, ARRAY);
    Encoding.u32(metadata, STRING);
    Encoding.u64(metadata, values.size());
    values.forEach(v -> Encoding.string(metadata, v));
  }

  void putInt32s(String key, int[] values) {
    key(key, ARRAY);
    Encoding.u32(metadata, INT32);
    Encoding.u64(metadata, values.length);
    for (int v : values) {
      Encoding.u32(metadata, v);
    }
  }

  private void key(String key, int type) {
    Encoding.string(metadata, key);
    Encoding.u32(metadata, type);
    metadataCount++;
  }

  /**
   * Declares a tensor of row-major {@code shape}; {@code bytes} writes its data during {@link
   * #write}.
   */
  void addTensor(String name, long[] shape, DType type, TensorBytes bytes) {
    tensors.add(new Declared(name, shape.clone(), type, bytes));
  }

  /** Writes the file; on any failure nothing is left at {@code file}. */
  void write(Path file) throws IOException {
    Path target = file.toAbsolutePath().normalize();
    Path partial = target.resolveSibling("." + target.getFileName() + ".partial");
    try {
      try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(partial), 1 << 20)) {
        writeTo(out);
      }
      Files.move(
          partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException | Error e) {
      Files.deleteIfExists(partial);
      throw e;
    }
  }

  private void writeTo(OutputStream out) throws IOException {
    ByteArrayOutputStream header = new ByteArrayOutputStream();
    Encoding.u32(header, MAGIC);
    Encoding.u32(header, VERSION);
    Encoding.u64(header, tensors.size());
    Encoding.u64(header, metadataCount);
    metadata.writeTo(header);
    long offset = 0;
    for (Declared t : tensors) {
      Encoding.string(header, t.name());
      Encoding.u32(header, t.shape().length);
      for (int i = t.shape().length - 1; i >= 0; i--) {
        Encoding.u64(header, t.shape()[i]); // ggml's order: innermost first
      }
      Encoding.u32(header, t.type().ggmlType());
      Encoding.u64(header, offset);
      offset = aligned(offset + size(t));
    }
    header.writeTo(out);
    padding(out, header.size());
    for (Declared t : tensors) {
      long expected = size(t);
      Counting counted = new Counting(out);
      t.bytes().writeTo(counted);
      if (counted.count != expected) {
        throw new IllegalStateException(
            "tensor '"
                + t.name()
                + "': wrote "
                + counted.count
                + " bytes, its "
                + t.type()
                + " shape needs "
                + expected);
      }
      padding(out, expected);
    }
  }

  private static long size(Declared t) {
    long elements = 1;
    for (long d : t.shape()) {
      elements = Math.multiplyExact(elements, d);
    }
    return t.type().bytesFor(elements);
  }

  private static long aligned(long n) {
    return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }

  private static void padding(OutputStream out, long written) throws IOException {
    out.write(new byte[(int) (aligned(written) - written)]);
  }

  /** Counts the bytes a tensor writes, to catch a writer that disagrees with its declared shape. */
  private static final class Counting extends FilterOutputStream {
    long count;

    Counting(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }

    @Override
    public void close() {
      // The tensor's writer must not close the file under the next tensor.
    }
  }

  /** Little-endian encodings of GGUF's scalars and strings. */
  static final class Encoding {
    private Encoding() {}

    static void u32(ByteArrayOutputStream out, long v) {
      for (int i = 0; i < 4; i++) {
        out.write((int) (v >>> (8 * i)));
      }
    }

    static void u64(ByteArrayOutputStream out, long v) {
      for (int i = 0; i < 8; i++) {
        out.write((int) (v >>> (8 * i)));
      }
    }

    static void string(ByteArrayOutputStream out, String s) {
      byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
      u64(out, bytes.length);
      out.write(bytes, 0, bytes.length);
    }
  }
}
