package org.dbrxspark.runtime.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One open safetensors file: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * describing the tensors, then the data section. Everything in the header is validated before any
 * tensor is handed out; errors name the file and the tensor.
 */
final class SafetensorsFile extends TensorFile {
  /** Real headers are kilobytes; a huge length means a corrupt or foreign file. */
  static final long MAX_HEADER_BYTES = 100_000_000;

  static final String METADATA = "__metadata__";
  private static final Set<String> ENTRY_KEYS = Set.of("dtype", "shape", "data_offsets");

  static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final Map<String, String> metadata;

  private SafetensorsFile(
      Path path, FileMapper mapper, Map<String, Tensor> tensors, Map<String, String> metadata) {
    super(path, mapper, tensors);
    this.metadata = metadata;
  }

  static SafetensorsFile open(Path path) throws IOException {
    return open(path, channel -> new Header(path, channel).parse());
  }

  /** The {@code __metadata__} map, empty if absent. */
  Map<String, String> metadata() {
    return metadata;
  }

  /** Parsing state for one header. */
  private static final class Header extends HeaderReader {
    private final FileMapper mapper;
    private long dataStart;
    private long dataSize;

    Header(Path path, FileChannel channel) {
      super(path, channel);
      this.mapper = new FileMapper(path, channel);
    }

    SafetensorsFile parse() throws IOException {
      long fileSize = channel.size();
      if (fileSize < 8) {
        throw fail("file is " + fileSize + " bytes, too short for the 8-byte header length");
      }
      long headerLength = read(0, 8).getLong();
      // Unsigned in the format: a negative long is a length of 2^63 or more.
      if (headerLength < 0 || headerLength > fileSize - 8) {
        throw fail(
            "header length "
                + Long.toUnsignedString(headerLength)
                + " exceeds the file size "
                + fileSize
                + " (truncated, or not a safetensors file)");
      }
      if (headerLength > MAX_HEADER_BYTES) {
        throw fail(
            "header length " + headerLength + " exceeds the sane maximum of " + MAX_HEADER_BYTES);
      }
      dataStart = 8 + headerLength;
      dataSize = fileSize - dataStart;
      JsonNode root = parseJson(read(8, (int) headerLength));

      Map<String, String> metadata = Map.of();
      List<Tensor> list = new ArrayList<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        if (field.getKey().equals(METADATA)) {
          metadata = parseMetadata(field.getValue());
        } else {
          list.add(parseEntry(field.getKey(), field.getValue()));
        }
      }
      return new SafetensorsFile(path, mapper, checkLayout(list), metadata);
    }

    private JsonNode parseJson(ByteBuffer bytes) throws CheckpointFormatException {
      String text;
      try {
        text =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(bytes)
                .toString();
      } catch (CharacterCodingException e) {
        throw fail("header is not valid UTF-8", e);
      }
      JsonNode root;
      try {
        root = JSON.readTree(text);
      } catch (JsonProcessingException e) {
        throw fail("header is not valid JSON: " + e.getOriginalMessage(), e);
      }
      if (root == null || !root.isObject()) {
        throw fail("header is not a JSON object");
      }
      return root;
    }

    private Map<String, String> parseMetadata(JsonNode node) throws CheckpointFormatException {
      if (!node.isObject()) {
        throw fail(METADATA + " must be a JSON object of strings");
      }
      Map<String, String> map = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getValue().isTextual()) {
          throw fail(METADATA + "." + e.getKey() + " must be a string, got " + e.getValue());
        }
        map.put(e.getKey(), e.getValue().textValue());
      }
      return Collections.unmodifiableMap(map);
    }

    private Tensor parseEntry(String name, JsonNode node) throws CheckpointFormatException {
      if (!node.isObject()) {
        throw fail(name, "entry must be a JSON object, got " + node);
      }
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String key = it.next();
        if (!ENTRY_KEYS.contains(key)) {
          throw fail(name, "unexpected key '" + key + "' (expected dtype, shape, data_offsets)");
        }
      }
      JsonNode dtypeNode = node.path("dtype");
      if (!dtypeNode.isTextual()) {
        throw fail(name, "dtype must be a string, got " + dtypeNode);
      }
      DType dtype = DType.parse(dtypeNode.textValue(), path, name);
      long[] shape = naturals(name, "shape", node.path("shape"));
      long[] offsets = naturals(name, "data_offsets", node.path("data_offsets"));
      if (offsets.length != 2) {
        throw fail(name, "data_offsets must be [begin, end], got " + Arrays.toString(offsets));
      }
      long begin = offsets[0];
      long end = offsets[1];
      if (begin > end || end > dataSize) {
        throw fail(
            name,
            "data_offsets ["
                + begin
                + ", "
                + end
                + "] are not a range inside the data section of "
                + dataSize
                + " bytes (truncated file?)");
      }
      long bytes;
      try {
        long elements = 1;
        for (long d : shape) {
          elements = Math.multiplyExact(elements, d);
        }
        bytes = Math.multiplyExact(elements, (long) dtype.byteSize());
      } catch (ArithmeticException e) {
        throw fail(name, "shape " + Arrays.toString(shape) + " overflows a 64-bit byte count");
      }
      if (bytes != end - begin) {
        throw fail(
            name,
            dtype
                + " shape "
                + Arrays.toString(shape)
                + " needs "
                + bytes
                + " bytes but data_offsets ["
                + begin
                + ", "
                + end
                + "] span "
                + (end - begin));
      }
      long cols = shape.length == 0 ? 1 : shape[shape.length - 1];
      if (cols * dtype.byteSize() > Integer.MAX_VALUE) {
        throw fail(
            name, "rows of " + cols + " elements exceed 2 GiB, which this reader does not support");
      }
      return new Tensor(mapper, path, name, dtype, shape, dataStart + begin);
    }

    /** A JSON array of integers in [0, 2^63). */
    private long[] naturals(String tensor, String key, JsonNode node)
        throws CheckpointFormatException {
      if (!node.isArray()) {
        throw fail(tensor, key + " must be an array of non-negative integers, got " + node);
      }
      long[] values = new long[node.size()];
      for (int i = 0; i < values.length; i++) {
        JsonNode v = node.get(i);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
          throw fail(tensor, key + " must be an array of non-negative integers, got " + node);
        }
        values[i] = v.longValue();
      }
      return values;
    }

    /**
     * Like the reference implementation, requires the tensors to tile the data section exactly: no
     * overlaps (which would alias weights), no gaps and no trailing bytes (which mean a damaged or
     * hand-edited file).
     */
    private Map<String, Tensor> checkLayout(List<Tensor> list) throws CheckpointFormatException {
      list.sort(Comparator.comparingLong(Tensor::position).thenComparingLong(Tensor::byteSize));
      Map<String, Tensor> byName = new LinkedHashMap<>();
      Tensor previous = null;
      long expected = dataStart;
      for (Tensor t : list) {
        if (t.position() < expected) {
          throw fail(t.name(), "data_offsets overlap those of tensor '" + previous.name() + "'");
        }
        if (t.position() > expected) {
          throw fail(
              t.name(),
              "data starts at offset "
                  + (t.position() - dataStart)
                  + " but the previous tensor"
                  + (previous == null ? "" : " '" + previous.name() + "'")
                  + " ends at "
                  + (expected - dataStart)
                  + "; safetensors data must be contiguous");
        }
        byName.put(t.name(), t);
        previous = t;
        expected = t.position() + t.byteSize();
      }
      if (expected != dataStart + dataSize) {
        throw fail(
            (dataStart + dataSize - expected)
                + " bytes follow the last tensor"
                + (previous == null ? "" : " '" + previous.name() + "'")
                + " in the data section");
      }
      return Collections.unmodifiableMap(byName);
    }

    private ByteBuffer read(long position, int size) throws IOException {
      ByteBuffer buf = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
      while (buf.hasRemaining()) {
        if (channel.read(buf, position + buf.position()) < 0) {
          throw new EOFException(path + ": file shrank while reading its header");
        }
      }
      return buf.flip();
    }
  }
}
