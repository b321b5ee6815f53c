package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.dbrxspark.runtime.config.DbrxConfig;

/** Shared fixtures: golden checkpoints, a tiny config, and raw safetensors files. */
final class TestFiles {
  private TestFiles() {}

  /**
   * Cuts {@code file} to {@code size} bytes, or grows it there without writing them (a sparse file,
   * which costs no disk).
   */
  static void setLength(Path file, long size) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.setLength(size);
    }
  }

  /** Where the golden checkpoints live when the project has not copied them into test resources. */
  static final Path SHARED_GOLDEN = Path.of("/work/shared/golden");

  /**
   * The golden checkpoint {@code name}: {@code golden/<name>} on the test classpath (that is,
   * {@code src/test/resources/golden/<name>}) if present, else {@link #SHARED_GOLDEN}; the test is
   * skipped when neither exists, so the suite passes on a bare clone.
   */
  static Path golden(String name) {
    URL url = TestFiles.class.getClassLoader().getResource("golden/" + name + "/config.json");
    if (url != null && "file".equals(url.getProtocol())) {
      try {
        return Path.of(url.toURI()).getParent();
      } catch (URISyntaxException e) {
        throw new IllegalStateException(e);
      }
    }
    Path shared = SHARED_GOLDEN.resolve(name);
    assumeTrue(
        Files.isRegularFile(shared.resolve("config.json")),
        "golden checkpoint " + name + " not available");
    return shared;
  }

  /** 2 layers, d_model 16, 4 experts: a checkpoint of about 11k parameters. */
  static DbrxConfig tinyConfig() {
    return tinyConfig(2, 64);
  }

  static DbrxConfig tinyConfig(int layers, int vocab) {
    return new DbrxConfig(
        16,
        2,
        layers,
        32,
        vocab,
        1,
        null,
        10000.0,
        8,
        4,
        2,
        1.0,
        DbrxConfig.Activation.SILU,
        "bfloat16");
  }

  /**
   * Writes an 8-byte little-endian {@code headerLength}, then {@code header}, then {@code data}.
   */
  static void writeRaw(Path file, long headerLength, byte[] header, byte[] data)
      throws IOException {
    ByteBuffer buf =
        ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(headerLength).put(header).put(data);
    Files.write(file, buf.array());
  }

  static void writeRaw(Path file, String header, byte[] data) throws IOException {
    byte[] bytes = header.getBytes(StandardCharsets.UTF_8);
    writeRaw(file, bytes.length, bytes, data);
  }

  /** Parses the header of a well-formed file, lets {@code edit} change it, and writes it back. */
  static void rewriteHeader(Path file, Consumer<ObjectNode> edit) throws IOException {
    byte[] all = Files.readAllBytes(file);
    int n = (int) ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    ObjectNode header =
        (ObjectNode) SafetensorsFile.JSON.readTree(new String(all, 8, n, StandardCharsets.UTF_8));
    edit.accept(header);
    writeRaw(
        file,
        SafetensorsFile.JSON.writeValueAsString(header),
        Arrays.copyOfRange(all, 8 + n, all.length));
  }

  /** A tensor for {@link #writeTensors}: values are rounded to {@code dtype}. */
  record RawTensor(String name, DType dtype, long[] shape, float[] values) {}

  /** Writes a well-formed safetensors file holding {@code tensors} in order. */
  static void writeTensors(Path file, List<RawTensor> tensors) throws IOException {
    ObjectNode header = SafetensorsFile.JSON.createObjectNode();
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    for (RawTensor t : tensors) {
      ByteBuffer bytes =
          ByteBuffer.allocate(t.values().length * t.dtype().byteSize())
              .order(ByteOrder.LITTLE_ENDIAN);
      t.dtype().put(t.values(), 0, t.values().length, bytes);
      ObjectNode entry = header.putObject(t.name());
      entry.put("dtype", t.dtype().name());
      ArrayNode shape = entry.putArray("shape");
      Arrays.stream(t.shape()).forEach(shape::add);
      entry.putArray("data_offsets").add(data.size()).add(data.size() + bytes.capacity());
      data.write(bytes.array());
    }
    writeRaw(file, SafetensorsFile.JSON.writeValueAsString(header), data.toByteArray());
  }

  /** Overwrites the 8 bytes at the start of {@code file}. */
  static void patchHeaderLength(Path file, long value) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).flip();
      ch.write(buf, 0);
    }
  }
}
