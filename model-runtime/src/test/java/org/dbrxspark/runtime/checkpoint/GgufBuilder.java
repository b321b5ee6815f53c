package org.dbrxspark.runtime.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF files for the tests, with {@link GgufWriter}'s encodings but any magic, version or
 * offset: a real file (a golden one written by llama.cpp's converter) changed in one place, to
 * check that each kind of damage is refused by name.
 */
final class GgufBuilder {
  /**
   * One tensor: dims innermost first, as ggml writes them; {@code offset} null for the natural one.
   */
  static final class Entry {
    String name;
    long[] ne;
    long type;
    byte[] data;
    Long offset;

    Entry(String name, long[] ne, long type, byte[] data) {
      this.name = name;
      this.ne = ne;
      this.type = type;
      this.data = data;
    }
  }

  int magic = 0x46554747;
  long version = 3;
  final Map<String, Object> metadata = new LinkedHashMap<>();
  final List<Entry> tensors = new ArrayList<>();

  /** Everything {@code file} holds, ready to be changed and written again. */
  static GgufBuilder copyOf(Path file) throws IOException {
    GgufBuilder b = new GgufBuilder();
    try (GgufFile gguf = GgufFile.open(file)) {
      b.metadata.putAll(gguf.metadata());
      for (Tensor t : gguf.tensors().values()) {
        long[] shape = t.shape();
        long[] ne = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
          ne[i] = shape[shape.length - 1 - i];
        }
        ByteBuffer bytes = t.rowBytes(0, Math.toIntExact(t.rows()));
        byte[] data = new byte[bytes.remaining()];
        bytes.get(data);
        b.tensors.add(new Entry(t.name(), ne, t.dtype().ggmlType(), data));
      }
    }
    return b;
  }

  Entry tensor(String name) {
    return tensors.stream().filter(e -> e.name.equals(name)).findFirst().orElseThrow();
  }

  /**
   * Writes the file with 32-byte alignment; a Long as u32 or u64, a Short as u16, an Integer as
   * i32, numbers as f32.
   */
  Path write(Path file) throws IOException {
    ByteArrayOutputStream header = new ByteArrayOutputStream();
    GgufWriter.Encoding.u32(header, magic);
    GgufWriter.Encoding.u32(header, version);
    GgufWriter.Encoding.u64(header, tensors.size());
    GgufWriter.Encoding.u64(header, metadata.size());
    for (Map.Entry<String, Object> e : metadata.entrySet()) {
      GgufWriter.Encoding.string(header, e.getKey());
      value(header, e.getValue());
    }
    long offset = 0;
    List<Long> offsets = new ArrayList<>();
    for (Entry t : tensors) {
      GgufWriter.Encoding.string(header, t.name);
      GgufWriter.Encoding.u32(header, t.ne.length);
      for (long d : t.ne) {
        GgufWriter.Encoding.u64(header, d);
      }
      GgufWriter.Encoding.u32(header, t.type);
      long at = t.offset != null ? t.offset : offset;
      GgufWriter.Encoding.u64(header, at);
      offsets.add(at);
      if (t.offset == null) {
        offset = align(at + t.data.length);
      }
    }
    try (OutputStream out = Files.newOutputStream(file)) {
      byte[] head = header.toByteArray();
      out.write(head);
      out.write(new byte[(int) (align(head.length) - head.length)]);
      long written = 0;
      for (int i = 0; i < tensors.size(); i++) {
        if (tensors.get(i).offset != null) {
          continue; // placed by hand: its bytes are not written
        }
        out.write(new byte[(int) (offsets.get(i) - written)]);
        out.write(tensors.get(i).data);
        written = offsets.get(i) + tensors.get(i).data.length;
      }
      out.write(new byte[(int) (align(written) - written)]);
    }
    return file;
  }

  private static long align(long n) {
    return (n + 31) / 32 * 32;
  }

  private static void value(ByteArrayOutputStream out, Object v) {
    if (v instanceof Short u16) {
      // gguf-split's split.no and split.count
      GgufWriter.Encoding.u32(out, GgufWriter.UINT16);
      GgufWriter.Encoding.u16(out, u16);
    } else if (v instanceof Integer i32) {
      GgufWriter.Encoding.u32(out, GgufWriter.INT32);
      GgufWriter.Encoding.u32(out, i32);
    } else if (v instanceof Long l) {
      boolean small = l >= 0 && l <= 0xFFFFFFFFL;
      GgufWriter.Encoding.u32(out, small ? 4 : 10);
      if (small) {
        GgufWriter.Encoding.u32(out, l);
      } else {
        GgufWriter.Encoding.u64(out, l);
      }
    } else if (v instanceof Double d) {
      GgufWriter.Encoding.u32(out, 6);
      GgufWriter.Encoding.u32(out, Float.floatToIntBits(d.floatValue()));
    } else if (v instanceof Boolean b) {
      GgufWriter.Encoding.u32(out, 7);
      out.write(b ? 1 : 0);
    } else if (v instanceof String s) {
      GgufWriter.Encoding.u32(out, 8);
      GgufWriter.Encoding.string(out, s);
    } else if (v instanceof List<?> list) {
      GgufWriter.Encoding.u32(out, 9);
      // Arrays of strings, or of integers as i32 (as token types are written).
      boolean strings = !list.isEmpty() && list.get(0) instanceof String;
      GgufWriter.Encoding.u32(out, strings ? 8 : 5);
      GgufWriter.Encoding.u64(out, list.size());
      for (Object item : list) {
        if (strings) {
          GgufWriter.Encoding.string(out, (String) item);
        } else {
          GgufWriter.Encoding.u32(out, (Long) item);
        }
      }
    } else {
      throw new IllegalArgumentException("cannot write " + v);
    }
  }
}
