package org.dbrxspark.runtime.checkpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.dbrxspark.runtime.config.DbrxConfig;

/** Writes DBRX checkpoints with random weights, for tests and benchmarks. */
public final class CheckpointWriter {
  private CheckpointWriter() {}

  /** Standard deviation of the random weights: Hugging Face's default {@code initializer_range}. */
  static final double INIT_STD = 0.02;

  /** Weights generated per parallel task. */
  private static final int CHUNK_ELEMENTS = 1 << 16;

  /** Bounds the buffers (about 0.4 MiB per lane) on machines with many cores. */
  private static final int MAX_LANES = 16;

  /** splitmix64's increment, 2^64 divided by the golden ratio. */
  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  /** Scales the sum of four uniform 16-bit integers to unit variance. */
  private static final double IRWIN_HALL_SCALE = 1 / Math.sqrt((65536.0 * 65536.0 - 1) / 3);

  /**
   * Writes a checkpoint with random weights into {@code dir}, which must not exist, in the Hugging
   * Face layout: {@code config.json} (with {@code torch_dtype} set to {@code dtype}), then one
   * {@code model.safetensors} when {@code shards == 1}, else {@code
   * model-0000i-of-0000n.safetensors} files plus {@code model.safetensors.index.json}. Tensors are
   * in {@link TensorLayout} order and shards hold contiguous runs of them of about equal byte size.
   *
   * <p>Each tensor's values depend only on {@code seed} and the tensor's name, so neither the shard
   * count nor the machine changes them, and the dtypes hold the same values rounded differently.
   * Matrices are about normal with mean 0 and standard deviation 0.02; norm weights are the same
   * plus 1. The distribution is Irwin–Hall (a sum of four uniforms), bounded at ±3.46 standard
   * deviations.
   *
   * <p>Files are streamed to disk, so memory use does not grow with the model; weights are
   * generated on up to 16 cores (the common fork-join pool) at a few nanoseconds each. They are
   * written into a hidden sibling folder that is renamed to {@code dir} at the end: a crash or
   * error never leaves a half-written checkpoint at {@code dir}.
   *
   * @param shards number of safetensors files, from 1 to the number of tensors
   */
  public static void writeRandom(Path dir, DbrxConfig config, long seed, DType dtype, int shards)
      throws IOException {
    Map<String, long[]> shapes = TensorLayout.expectedShapes(config);
    if (shards < 1 || shards > shapes.size()) {
      throw new IllegalArgumentException(
          "shards must be between 1 and " + shapes.size() + ", got " + shards);
    }
    Path target = dir.toAbsolutePath().normalize();
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      throw new FileAlreadyExistsException(
          target.toString(), null, "will not overwrite it with a new checkpoint");
    }
    Files.createDirectories(target.getParent());
    Path staging =
        Files.createDirectory(
            target.resolveSibling(
                "."
                    + target.getFileName()
                    + ".partial-"
                    + Long.toHexString(ThreadLocalRandom.current().nextLong())));
    try {
      writeFiles(staging, withTorchDtype(config, dtype), seed, dtype, shards, shapes);
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException | Error e) {
      deleteTree(staging, e);
      throw e;
    }
  }

  private static void writeFiles(
      Path dir, DbrxConfig config, long seed, DType dtype, int shards, Map<String, long[]> shapes)
      throws IOException {
    writeSmallFile(dir.resolve(Checkpoint.CONFIG), config.toJson());
    Map<String, Long> sizes = new LinkedHashMap<>();
    shapes.forEach((name, shape) -> sizes.put(name, elements(shape) * dtype.byteSize()));
    List<List<String>> parts = split(sizes, shards);
    if (shards == 1) {
      writeShard(dir.resolve(Checkpoint.SINGLE_FILE), parts.get(0), shapes, dtype, seed);
      return;
    }
    ObjectNode index = SafetensorsFile.JSON.createObjectNode();
    index
        .putObject("metadata")
        .put("total_size", sizes.values().stream().mapToLong(Long::longValue).sum());
    ObjectNode weightMap = index.putObject("weight_map");
    for (int i = 0; i < shards; i++) {
      String file = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards);
      writeShard(dir.resolve(file), parts.get(i), shapes, dtype, seed);
      parts.get(i).forEach(name -> weightMap.put(name, file));
    }
    writeSmallFile(
        dir.resolve(Checkpoint.INDEX),
        SafetensorsFile.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
  }

  /**
   * Cuts the tensors, in order, into {@code shards} non-empty runs: a tensor goes to the shard
   * whose equal share of the total bytes contains the tensor's middle byte.
   */
  static List<List<String>> split(Map<String, Long> sizes, int shards) {
    long total = sizes.values().stream().mapToLong(Long::longValue).sum();
    List<List<String>> parts = new ArrayList<>();
    List<String> current = new ArrayList<>();
    parts.add(current);
    long before = 0;
    int tensorsLeft = sizes.size();
    for (Map.Entry<String, Long> e : sizes.entrySet()) {
      int shardsLeft = shards - parts.size();
      boolean pastShare = before + e.getValue() / 2.0 > (double) total * parts.size() / shards;
      if (!current.isEmpty() && shardsLeft > 0 && (pastShare || tensorsLeft == shardsLeft)) {
        current = new ArrayList<>();
        parts.add(current);
      }
      current.add(e.getKey());
      before += e.getValue();
      tensorsLeft--;
    }
    return parts;
  }

  private static void writeShard(
      Path file, List<String> names, Map<String, long[]> shapes, DType dtype, long seed)
      throws IOException {
    // Weight i of a tensor depends only on i, so the chunks of a batch are filled in parallel and
    // then written in order.
    int lanes = Math.min(MAX_LANES, Runtime.getRuntime().availableProcessors());
    float[][] values = new float[lanes][CHUNK_ELEMENTS];
    ByteBuffer[] buffers = new ByteBuffer[lanes];
    for (int j = 0; j < lanes; j++) {
      buffers[j] =
          ByteBuffer.allocateDirect(CHUNK_ELEMENTS * dtype.byteSize())
              .order(ByteOrder.LITTLE_ENDIAN);
    }
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      writeFully(channel, header(names, shapes, dtype));
      for (String name : names) {
        long[] shape = shapes.get(name);
        // All 1-D DBRX tensors are LayerNorm weights: centre them on 1, the identity scale.
        float mean = shape.length == 1 ? 1f : 0f;
        long tensorSeed = mix64(seed ^ fnv1a64(name));
        long elements = elements(shape);
        for (long batch = 0; batch < elements; batch += (long) lanes * CHUNK_ELEMENTS) {
          long batchStart = batch;
          IntStream.range(0, lanes)
              .parallel()
              .forEach(
                  j -> {
                    long first = batchStart + (long) j * CHUNK_ELEMENTS;
                    int n = (int) Math.max(0, Math.min(CHUNK_ELEMENTS, elements - first));
                    fillRandom(tensorSeed, first, mean, values[j], n);
                    buffers[j].clear();
                    dtype.put(values[j], 0, n, buffers[j]);
                    buffers[j].flip();
                  });
          for (ByteBuffer b : buffers) {
            writeFully(channel, b);
          }
        }
      }
      channel.force(true); // the rename must not publish data still in the page cache
    }
  }

  /** The length prefix and JSON header of a shard holding {@code names}, in that order. */
  private static ByteBuffer header(List<String> names, Map<String, long[]> shapes, DType dtype)
      throws IOException {
    ObjectNode header = SafetensorsFile.JSON.createObjectNode();
    header.putObject(SafetensorsFile.METADATA).put("format", "pt"); // as PyTorch-saved HF files
    long offset = 0;
    for (String name : names) {
      long[] shape = shapes.get(name);
      long bytes = elements(shape) * dtype.byteSize();
      ObjectNode entry = header.putObject(name);
      entry.put("dtype", dtype.name());
      ArrayNode dims = entry.putArray("shape");
      for (long d : shape) {
        dims.add(d);
      }
      entry.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] json = SafetensorsFile.JSON.writeValueAsBytes(header);
    // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
    int paddedLength = (json.length + 7) / 8 * 8;
    ByteBuffer head = ByteBuffer.allocate(8 + paddedLength).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(paddedLength).put(json);
    while (head.hasRemaining()) {
      head.put((byte) ' ');
    }
    return head.flip();
  }

  /**
   * Weights {@code [first, first + count)} of a tensor: weight i is a function of the tensor seed
   * and i alone (the splitmix64 sequence), so any chunking gives the same values. Each is
   * Irwin–Hall with n = 4 (four 16-bit uniforms from one 64-bit output), scaled to mean {@code
   * mean} and standard deviation {@link #INIT_STD}: cheap enough for a billion weights.
   */
  private static void fillRandom(
      long tensorSeed, long first, float mean, float[] values, int count) {
    float scale = (float) (INIT_STD * IRWIN_HALL_SCALE);
    long state = tensorSeed + first * GOLDEN_GAMMA;
    for (int i = 0; i < count; i++) {
      state += GOLDEN_GAMMA;
      long r = mix64(state);
      int sum = (int) ((r & 0xFFFF) + ((r >>> 16) & 0xFFFF) + ((r >>> 32) & 0xFFFF) + (r >>> 48));
      values[i] = mean + (sum - 2 * 65535) * scale;
    }
  }

  /** splitmix64's finaliser: a bijective mix of all 64 bits. */
  private static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** A stable 64-bit hash of the tensor name (String.hashCode is only 32 bits). */
  private static long fnv1a64(String s) {
    long hash = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      hash = (hash ^ (b & 0xFF)) * 0x100000001b3L;
    }
    return hash;
  }

  private static long elements(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  private static DbrxConfig withTorchDtype(DbrxConfig c, DType dtype) {
    return new DbrxConfig(
        c.dModel(),
        c.nHeads(),
        c.nLayers(),
        c.maxSeqLen(),
        c.vocabSize(),
        c.kvNHeads(),
        c.clipQkv(),
        c.ropeTheta(),
        c.ffnHiddenSize(),
        c.moeNumExperts(),
        c.moeTopK(),
        c.moeNormalizeExpertWeights(),
        c.activation(),
        dtype.torchName());
  }

  private static void writeSmallFile(Path file, String text) throws IOException {
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      writeFully(channel, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
      channel.force(true);
    }
  }

  private static void writeFully(FileChannel channel, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      channel.write(buf);
    }
  }

  private static void deleteTree(Path root, Throwable failure) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      failure.addSuppressed(e);
    }
  }
}
