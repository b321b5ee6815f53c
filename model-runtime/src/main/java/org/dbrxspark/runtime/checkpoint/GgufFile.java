package org.dbrxspark.runtime.checkpoint;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.RandomAccess;

/**
 * One open GGUF file, llama.cpp's single-file format (versions 2 and 3, little-endian): the magic
 * {@code GGUF}, the version, the tensor and metadata counts, the metadata key/value pairs, the
 * tensor infos (name, dims innermost first, ggml type, offset), then the data section at the next
 * multiple of {@code general.alignment} (32 by default).
 *
 * <p>Everything in the header is validated before any tensor is handed out: counts and lengths
 * against the file size, types, dims that overflow, rows that are not whole blocks, tensors that
 * overlap or extend past the data section. Errors name the file and the key or tensor at fault.
 * Tensor shapes are reported row-major (the reverse of ggml's {@code ne} order), like safetensors.
 */
final class GgufFile extends TensorFile {
  private static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian int
  private static final int MAX_DIMS = 4;
  private static final long DEFAULT_ALIGNMENT = 32;
  static final String ALIGNMENT_KEY = "general.alignment";

  /**
   * The most header (metadata and tensor infos) this reader takes. A DBRX GGUF's is about 4 MB,
   * nearly all of it the tokenizer's 100,352 tokens and merges. Counts and lengths are checked
   * against what is left of this as well as of the file: in a file of tens of gigabytes a damaged
   * one would otherwise pass and be read as metadata until memory ran out.
   */
  static final long MAX_HEADER_BYTES = 32L << 20;

  /** Bytes of each fixed-width metadata value type by GGUF type id; 0 for strings and arrays. */
  private static final int[] WIDTHS = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

  /** ggml's type names, to name an unsupported type in an error (ggml.h, enum ggml_type). */
  private static final String[] GGML_TYPE_NAMES = {
    "F32",
    "F16",
    "Q4_0",
    "Q4_1",
    "Q4_2 (removed)",
    "Q4_3 (removed)",
    "Q5_0",
    "Q5_1",
    "Q8_0",
    "Q8_1",
    "Q2_K",
    "Q3_K",
    "Q4_K",
    "Q5_K",
    "Q6_K",
    "Q8_K",
    "IQ2_XXS",
    "IQ2_XS",
    "IQ3_XXS",
    "IQ1_S",
    "IQ4_NL",
    "IQ3_S",
    "IQ2_S",
    "IQ4_XS",
    "I8",
    "I16",
    "I32",
    "I64",
    "F64",
    "IQ1_M",
    "BF16"
  };

  private final Map<String, Object> metadata;

  private GgufFile(
      Path path, FileMapper mapper, Map<String, Object> metadata, Map<String, Tensor> tensors) {
    super(path, mapper, tensors);
    this.metadata = metadata;
  }

  static GgufFile open(Path path) throws IOException {
    return open(path, channel -> new Header(path, channel).parse());
  }

  /**
   * The metadata in file order. Values are {@link Long} (every integer type), {@link Double}
   * (float32, float64), {@link Boolean}, {@link String} or a {@link List} of these.
   */
  Map<String, Object> metadata() {
    return metadata;
  }

  /** Parsing state for one header. */
  private static final class Header extends HeaderReader {
    private final InputStream in;
    private final long fileSize;
    private long position;

    Header(Path path, FileChannel channel) throws IOException {
      super(path, channel);
      this.fileSize = channel.size();
      // Not closed here: closing it would close the channel the mapper keeps.
      this.in = new BufferedInputStream(Channels.newInputStream(channel.position(0)), 1 << 16);
    }

    GgufFile parse() throws IOException {
      if (fileSize < 24) {
        throw fail("file is " + fileSize + " bytes, too short for a GGUF header");
      }
      int magic = (int) readUnsigned(4);
      if (magic != MAGIC) {
        throw fail(String.format("bad magic 0x%08x: not a GGUF file", magic));
      }
      long version = readUnsigned(4);
      if (version != 2 && version != 3) {
        throw fail("GGUF version " + version + " is not supported (versions 2 and 3 are)");
      }
      long tensorCount = readLong();
      long kvCount = readLong();
      // Each key/value pair takes at least 13 bytes and each tensor info at least 29.
      if (kvCount < 0 || kvCount > room() / 13) {
        throw fail(
            "metadata count " + Long.toUnsignedString(kvCount) + " cannot fit in " + bound());
      }
      if (tensorCount < 0 || tensorCount > room() / 29) {
        throw fail(
            "tensor count " + Long.toUnsignedString(tensorCount) + " cannot fit in " + bound());
      }
      Map<String, Object> metadata = new LinkedHashMap<>();
      for (long i = 0; i < kvCount; i++) {
        String key = readString("metadata key " + i);
        int type = (int) readUnsigned(4);
        if (metadata.put(key, readValue(key, type, 0)) != null) {
          throw fail("metadata key '" + key + "' appears twice");
        }
      }
      long alignment = alignment(metadata.get(ALIGNMENT_KEY));
      List<TensorInfo> infos = new ArrayList<>();
      for (long i = 0; i < tensorCount; i++) {
        infos.add(readTensorInfo());
      }
      long dataStart = (position + alignment - 1) / alignment * alignment;
      long dataSize = Math.max(0, fileSize - dataStart);
      FileMapper mapper = new FileMapper(path, channel);
      Map<String, Tensor> tensors = new LinkedHashMap<>();
      for (TensorInfo info : infos) {
        if (tensors.containsKey(info.name)) {
          throw fail(info.name, "appears twice in the tensor infos");
        }
        tensors.put(info.name, info.toTensor(mapper, alignment, dataStart, dataSize));
      }
      checkNoOverlap(tensors.values());
      return new GgufFile(
          path,
          mapper,
          Collections.unmodifiableMap(metadata),
          Collections.unmodifiableMap(tensors));
    }

    private long alignment(Object value) throws CheckpointFormatException {
      if (value == null) {
        return DEFAULT_ALIGNMENT;
      }
      if (!(value instanceof Long a) || a <= 0 || Long.bitCount(a) != 1 || a > (1 << 20)) {
        throw fail("metadata key '" + ALIGNMENT_KEY + "' must be a power of two, got " + value);
      }
      return a;
    }

    private Object readValue(String key, int type, int depth) throws IOException {
      if (type == GgufWriter.STRING) {
        return readString("metadata key '" + key + "'");
      }
      if (type == GgufWriter.ARRAY) {
        return readArray(key, depth);
      }
      return readScalars(key, type, 1).get(0);
    }

    /** {@code count} values of a fixed-width type, checked (booleans are 0 or 1) and packed. */
    private PackedValues readScalars(String key, int type, int count) throws IOException {
      byte[] bytes = readBytes(count * width(key, type));
      if (type == GgufWriter.BOOL) {
        for (byte b : bytes) {
          if (b != 0 && b != 1) {
            throw fail("metadata key '" + key + "': boolean byte " + b + " is neither 0 nor 1");
          }
        }
      }
      return new PackedValues(type, bytes, count);
    }

    /** Bytes per value of a fixed-width type; 0 for a string or an array. */
    private int width(String key, int type) throws CheckpointFormatException {
      if (type < 0 || type >= WIDTHS.length) {
        throw fail(
            "metadata key '" + key + "' has unknown value type " + Integer.toUnsignedString(type));
      }
      return WIDTHS[type];
    }

    private List<?> readArray(String key, int depth) throws IOException {
      if (depth > 2) {
        throw fail("metadata key '" + key + "': arrays nested deeper than 3 levels");
      }
      int type = (int) readUnsigned(4);
      long count = readLong();
      // The least an element takes: its width, a string's 8-byte length, an array's type and count.
      int least = type == GgufWriter.STRING ? 8 : type == GgufWriter.ARRAY ? 12 : width(key, type);
      if (count < 0 || count > room() / least) {
        throw fail(
            "metadata key '"
                + key
                + "': array of "
                + Long.toUnsignedString(count)
                + " elements cannot fit in "
                + bound());
      }
      if (type != GgufWriter.STRING && type != GgufWriter.ARRAY) {
        return readScalars(key, type, (int) count);
      }
      List<Object> items = new ArrayList<>();
      for (long i = 0; i < count; i++) {
        items.add(readValue(key, type, depth + 1));
      }
      return Collections.unmodifiableList(items);
    }

    private TensorInfo readTensorInfo() throws IOException {
      String name = readString("a tensor name");
      long dims = readUnsigned(4);
      if (dims < 1 || dims > MAX_DIMS) {
        throw fail(name, dims + " dimensions (ggml allows 1 to " + MAX_DIMS + ")");
      }
      long[] ne = new long[(int) dims];
      for (int i = 0; i < ne.length; i++) {
        ne[i] = readLong();
        if (ne[i] <= 0) {
          throw fail(
              name,
              "dimension " + i + " is " + Long.toUnsignedString(ne[i]) + "; dims must be positive");
        }
      }
      long type = readUnsigned(4);
      long offset = readLong();
      return new TensorInfo(name, ne, type, offset);
    }

    /** Tensors may leave gaps for alignment, but no two may share bytes. */
    private void checkNoOverlap(Iterable<Tensor> tensors) throws CheckpointFormatException {
      List<Tensor> sorted = new ArrayList<>();
      tensors.forEach(sorted::add);
      sorted.sort(Comparator.comparingLong(Tensor::position));
      for (int i = 1; i < sorted.size(); i++) {
        Tensor previous = sorted.get(i - 1);
        if (sorted.get(i).position() < previous.position() + previous.byteSize()) {
          throw fail(
              sorted.get(i).name(), "data overlaps that of tensor '" + previous.name() + "'");
        }
      }
    }

    /** One tensor info as read, validated against the data section by {@link #toTensor}. */
    private final class TensorInfo {
      final String name;
      final long[] ne;
      final long type;
      final long offset;

      TensorInfo(String name, long[] ne, long type, long offset) {
        this.name = name;
        this.ne = ne;
        this.type = type;
        this.offset = offset;
      }

      Tensor toTensor(FileMapper mapper, long alignment, long dataStart, long dataSize)
          throws CheckpointFormatException {
        DType dtype = DType.ofGgmlType(type);
        if (dtype == null) {
          String known =
              type < GGML_TYPE_NAMES.length ? " (" + GGML_TYPE_NAMES[(int) type] + ")" : "";
          throw fail(
              name,
              "ggml type "
                  + type
                  + known
                  + " is not supported (supported: F32, F16, BF16, "
                  + supportedQuantized()
                  + ")");
        }
        long[] shape = new long[ne.length];
        long bytes;
        try {
          long elements = 1;
          for (int i = 0; i < ne.length; i++) {
            shape[i] = ne[ne.length - 1 - i];
            elements = Math.multiplyExact(elements, ne[i]);
          }
          if (ne[0] % dtype.blockSize() != 0) {
            throw fail(
                name,
                "row length "
                    + ne[0]
                    + " is not a multiple of the "
                    + dtype
                    + " block size "
                    + dtype.blockSize());
          }
          bytes = dtype.bytesFor(elements);
        } catch (ArithmeticException e) {
          throw fail(name, "dims " + Arrays.toString(ne) + " overflow a 64-bit size");
        }
        // No overflow here: a row is no larger than the whole tensor.
        if (dtype.bytesFor(ne[0]) > Integer.MAX_VALUE) {
          throw fail(
              name,
              "rows of " + ne[0] + " elements exceed 2 GiB, which this reader does not support");
        }
        if (offset < 0 || offset % alignment != 0) {
          throw fail(
              name,
              "offset "
                  + Long.toUnsignedString(offset)
                  + " is not a multiple of the alignment "
                  + alignment);
        }
        if (offset > dataSize || bytes > dataSize - offset) {
          throw fail(
              name,
              dtype
                  + " "
                  + Arrays.toString(shape)
                  + " needs bytes ["
                  + offset
                  + ", "
                  + (offset + bytes)
                  + ") of the data section, which has "
                  + dataSize
                  + " (truncated file?)");
        }
        return new Tensor(mapper, path, name, dtype, shape, dataStart + offset);
      }
    }

    private static String supportedQuantized() {
      StringBuilder sb = new StringBuilder();
      for (DType t : DType.values()) {
        if (t.isQuantized()) {
          sb.append(sb.length() == 0 ? "" : ", ").append(t);
        }
      }
      return sb.toString();
    }

    private String readString(String what) throws IOException {
      long length = readLong();
      if (length < 0 || length > room()) {
        throw fail(
            "the length of "
                + what
                + ", "
                + Long.toUnsignedString(length)
                + " bytes, at byte "
                + position
                + " runs past "
                + bound());
      }
      if (length == 0) {
        return "";
      }
      byte[] bytes = readBytes((int) length);
      try {
        return StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(bytes))
            .toString();
      } catch (CharacterCodingException e) {
        throw fail(what + " is not valid UTF-8 (at byte " + (position - bytes.length) + ")", e);
      }
    }

    /** Bytes the header may still take: what is left of the file, or of the most it may be. */
    private long room() {
      return Math.min(fileSize, MAX_HEADER_BYTES) - position;
    }

    /** What {@link #room} is bounded by, for an error. */
    private String bound() {
      return fileSize <= MAX_HEADER_BYTES
          ? "the file (truncated?)"
          : "the "
              + (MAX_HEADER_BYTES >> 20)
              + " MiB this reader takes for a GGUF header (a damaged count or length?)";
    }

    private long readLong() throws IOException {
      return readUnsigned(4) | readUnsigned(4) << 32;
    }

    /** A little-endian unsigned integer of 1, 2 or 4 bytes. */
    private long readUnsigned(int bytes) throws IOException {
      long value = 0;
      for (int i = 0; i < bytes; i++) {
        int b = in.read();
        if (b < 0) {
          throw truncated();
        }
        value |= (long) b << (8 * i);
      }
      position += bytes;
      return value;
    }

    private byte[] readBytes(int length) throws IOException {
      byte[] bytes = in.readNBytes(length);
      if (bytes.length < length) {
        throw truncated();
      }
      position += length;
      return bytes;
    }

    private CheckpointFormatException truncated() {
      CheckpointFormatException e =
          fail("the header runs past the end of the file (" + fileSize + " bytes): truncated?");
      e.initCause(new EOFException());
      return e;
    }
  }

  /**
   * A metadata array of fixed-width values, kept as the file's bytes and read on access: boxed,
   * each value would take up to 20 times its size in the file.
   */
  private static final class PackedValues extends AbstractList<Object> implements RandomAccess {
    private final int type;
    private final ByteBuffer bytes;
    private final int size;

    PackedValues(int type, byte[] bytes, int size) {
      this.type = type;
      this.bytes = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
      this.size = size;
    }

    @Override
    public int size() {
      return size;
    }

    /** A {@link Long} for every integer type, a {@link Double} for floats, or a {@link Boolean}. */
    @Override
    public Object get(int i) {
      int at = Objects.checkIndex(i, size) * WIDTHS[type];
      return switch (type) {
        case 0 -> (long) (bytes.get(at) & 0xFF);
        case 1 -> (long) bytes.get(at);
        case 2 -> (long) (bytes.getShort(at) & 0xFFFF);
        case 3 -> (long) bytes.getShort(at);
        case 4 -> bytes.getInt(at) & 0xFFFFFFFFL;
        case 5 -> (long) bytes.getInt(at);
        case 6 -> (double) bytes.getFloat(at);
        case GgufWriter.BOOL -> bytes.get(at) == 1;
        case 10, 11 -> bytes.getLong(at);
        case 12 -> bytes.getDouble(at);
        default -> throw new IllegalStateException("not a fixed-width type: " + type);
      };
    }
  }
}
