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
 * name only when complete: it is written to a hidden sibling and renamed. A model larger than a
 * part's limit is written in parts, as llama.cpp's gguf-split writes them ({@link GgufParts}).
 */
final class GgufWriter {
  static final int MAGIC = 0x46554747; // "GGUF" as a little-endian int
  static final int VERSION = 3;
  static final int ALIGNMENT = 32;

  /** Parts a split model may have: {@code split.count} is a uint16. */
  static final int MAX_PARTS = 65_535;

  /** GGUF metadata value types (gguf.h). */
  static final int UINT16 = 2;

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
    write(file, Long.MAX_VALUE);
  }

  /**
   * Writes the model to {@code file}, or, when its tensors' bytes exceed {@code maxPartBytes}, to
   * parts named as llama.cpp names them beside it ({@code NAME-00001-of-0000N.gguf} for {@code
   * NAME.gguf}). A part takes tensors in order while they fit, and at least one, so a tensor larger
   * than the limit is a part alone (gguf-split's limit is soft too). Parts appear only once all are
   * written; on any failure none is left.
   *
   * @return the files written, the one to open first
   */
  List<Path> write(Path file, long maxPartBytes) throws IOException {
    Path target = file.toAbsolutePath().normalize();
    List<List<Declared>> parts = parts(maxPartBytes);
    if (parts.size() > MAX_PARTS) {
      throw new IllegalArgumentException(
          "a part of at most "
              + maxPartBytes
              + " bytes makes "
              + parts.size()
              + " parts; split.count is a uint16, at most "
              + MAX_PARTS);
    }
    List<Path> targets = new ArrayList<>();
    if (parts.size() == 1) {
      targets.add(target);
    } else {
      String prefix = GgufParts.prefix(target.getFileName().toString());
      for (int i = 0; i < parts.size(); i++) {
        targets.add(target.resolveSibling(GgufParts.partName(prefix, i, parts.size())));
      }
    }
    List<Path> partials = new ArrayList<>();
    List<Path> moved = new ArrayList<>();
    try {
      for (int i = 0; i < parts.size(); i++) {
        Path partial =
            targets.get(i).resolveSibling("." + targets.get(i).getFileName() + ".partial");
        partials.add(partial);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(partial), 1 << 20)) {
          writeTo(out, parts.get(i), i, parts.size());
        }
      }
      for (int i = 0; i < parts.size(); i++) {
        Files.move(
            partials.get(i),
            targets.get(i),
            StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
        moved.add(targets.get(i));
      }
      return targets;
    } catch (IOException | RuntimeException | Error e) {
      for (Path p : partials) {
        Files.deleteIfExists(p);
      }
      for (Path p : moved) {
        Files.deleteIfExists(p);
      }
      throw e;
    }
  }

  /** The tensors in parts of at most {@code maxPartBytes} of data each, or one tensor. */
  private List<List<Declared>> parts(long maxPartBytes) {
    List<List<Declared>> parts = new ArrayList<>();
    List<Declared> part = new ArrayList<>();
    long bytes = 0;
    for (Declared t : tensors) {
      long size = aligned(size(t));
      if (!part.isEmpty() && bytes + size > maxPartBytes) {
        parts.add(part);
        part = new ArrayList<>();
        bytes = 0;
      }
      part.add(t);
      bytes += size;
    }
    parts.add(part);
    return parts;
  }

  /**
   * Part {@code no} of {@code count}: the metadata in the first, the split keys in each when there
   * are several, then this part's tensor infos and data.
   */
  private void writeTo(OutputStream out, List<Declared> part, int no, int count)
      throws IOException {
    ByteArrayOutputStream keys = new ByteArrayOutputStream();
    int keyCount = 0;
    if (no == 0) {
      metadata.writeTo(keys);
      keyCount += metadataCount;
    }
    if (count > 1) {
      Encoding.string(keys, GgufParts.SPLIT_NO);
      Encoding.u32(keys, UINT16);
      Encoding.u16(keys, no);
      Encoding.string(keys, GgufParts.SPLIT_COUNT);
      Encoding.u32(keys, UINT16);
      Encoding.u16(keys, count);
      Encoding.string(keys, GgufParts.SPLIT_TENSORS);
      Encoding.u32(keys, INT32);
      Encoding.u32(keys, tensors.size());
      keyCount += 3;
    }
    ByteArrayOutputStream header = new ByteArrayOutputStream();
    Encoding.u32(header, MAGIC);
    Encoding.u32(header, VERSION);
    Encoding.u64(header, part.size());
    Encoding.u64(header, keyCount);
    keys.writeTo(header);
    long offset = 0;
    for (Declared t : part) {
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
    for (Declared t : part) {
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

    static void u16(ByteArrayOutputStream out, int v) {
      out.write(v);
      out.write(v >>> 8);
    }

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
