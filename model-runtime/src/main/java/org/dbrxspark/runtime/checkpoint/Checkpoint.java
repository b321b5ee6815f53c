package org.dbrxspark.runtime.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * A DBRX checkpoint, opened and validated: a folder in the Hugging Face layout ({@code config.json}
 * plus either {@code model.safetensors} or shards listed by {@code model.safetensors.index.json}),
 * or a llama.cpp GGUF file (or the first part of a split one, {@link GgufParts}), whose metadata
 * stands in for {@code config.json}. A GGUF file's tensors are reachable under their Hugging Face
 * names too ({@link GgufLayout}).
 *
 * <p>Every tensor that {@link TensorLayout#expectedShapes} derives from the config must be present
 * with exactly that shape; each may have any supported {@link DType}. Tensors beyond those are kept
 * and reachable by name. With an index, the index and the shard headers must agree exactly: each
 * listed tensor is in its shard, and a shard holds no tensor the index does not assign to it (a
 * mismatch means files of different checkpoints were mixed). Shard names must be plain file names
 * in the folder; symbolic links are followed, because the Hugging Face cache stores shards as links
 * into a blob folder. The index's {@code metadata.total_size} is informational and not checked.
 *
 * <p>Thread-safe. {@link #close()} releases the files; tensors fail on access afterwards.
 */
public final class Checkpoint implements AutoCloseable {
  static final String CONFIG = "config.json";
  static final String SINGLE_FILE = "model.safetensors";
  static final String INDEX = "model.safetensors.index.json";

  /** The two file layouts a checkpoint may come in. */
  public enum Format {
    /** config.json and safetensors: the expert down-projection w2 is [experts * ffn, d_model]. */
    SAFETENSORS,
    /**
     * One GGUF file, or the parts of a split one: the expert down-projection is [experts, d_model,
     * ffn], w2 transposed per expert.
     */
    GGUF
  }

  private final Path location;
  private final Format format;
  private final DbrxConfig config;
  private final List<? extends Closeable> files;
  private final Map<String, Tensor> tensors;
  private final long totalBytes;

  private Checkpoint(
      Path location,
      Format format,
      DbrxConfig config,
      List<? extends Closeable> files,
      Map<String, Tensor> tensors) {
    this.location = location;
    this.format = format;
    this.config = config;
    this.files = files;
    this.tensors = tensors;
    this.totalBytes = tensors.values().stream().mapToLong(Tensor::byteSize).sum();
  }

  /**
   * Opens and validates the checkpoint at {@code path}: a GGUF file (the first part of a split
   * one), or a checkpoint folder. Like Hugging Face transformers, a folder's {@code
   * model.safetensors} takes precedence over an index.
   *
   * @throws CheckpointFormatException if a weights file or the index is malformed or missing, or
   *     disagrees with the config
   * @throws IllegalArgumentException if {@code config.json} describes an invalid model
   * @throws IOException if {@code config.json} is not JSON, or on an I/O error
   */
  public static Checkpoint open(Path path) throws IOException {
    if (!Files.exists(path)) {
      throw new CheckpointFormatException(
          path
              + ": missing: neither a checkpoint folder (config.json + safetensors)"
              + " nor a GGUF file is there");
    }
    if (Files.isRegularFile(path)) {
      return openGguf(path.toAbsolutePath().normalize());
    }
    Path directory = path.toAbsolutePath().normalize();
    Path configFile = directory.resolve(CONFIG);
    if (!Files.isRegularFile(configFile)) {
      throw new CheckpointFormatException(configFile + ": missing; not a checkpoint folder");
    }
    DbrxConfig config = DbrxConfig.read(configFile);
    List<SafetensorsFile> files = new ArrayList<>();
    try {
      Map<String, Tensor> tensors;
      String source;
      if (Files.exists(directory.resolve(SINGLE_FILE))) {
        SafetensorsFile file = SafetensorsFile.open(directory.resolve(SINGLE_FILE));
        files.add(file);
        tensors = file.tensors();
        source = file.path().toString();
      } else if (Files.exists(directory.resolve(INDEX))) {
        tensors = openShards(directory, directory.resolve(INDEX), files);
        source = directory.resolve(INDEX).toString();
      } else {
        throw new CheckpointFormatException(
            directory + ": has neither " + SINGLE_FILE + " nor " + INDEX);
      }
      checkLayerCount(config, tensors, source, CONFIG, "n_layers");
      checkShapes(TensorLayout.expectedShapes(config), tensors, name -> name, source, CONFIG);
      return new Checkpoint(directory, Format.SAFETENSORS, config, List.copyOf(files), tensors);
    } catch (IOException | RuntimeException e) {
      TensorFile.closeAfter(files, e);
      throw e;
    }
  }

  /**
   * The architecture of the checkpoint at {@code path} without opening its weights: a folder's
   * {@code config.json}, or a GGUF file's metadata. For sizing a model before loading it.
   */
  public static DbrxConfig readConfig(Path path) throws IOException {
    if (Files.isRegularFile(path)) {
      try (GgufParts gguf = GgufParts.open(path)) {
        return GgufLayout.config(gguf);
      }
    }
    return DbrxConfig.read(path.resolve(CONFIG));
  }

  /**
   * The files of the GGUF checkpoint named {@code fileName}: that name, or, for the first part of a
   * split model ({@code NAME-00001-of-0000N.gguf}, as llama.cpp names the parts), the names of all
   * N parts in order. For copying a checkpoint before it is opened.
   */
  public static List<String> ggufFileNames(String fileName) {
    return GgufParts.fileNames(fileName);
  }

  private static Checkpoint openGguf(Path file) throws IOException {
    GgufParts gguf = GgufParts.open(file);
    try {
      DbrxConfig config = GgufLayout.config(gguf);
      checkLayerCount(
          config, gguf.tensors(), file.toString(), "the GGUF metadata", "dbrx.block_count");
      Map<String, String> names = GgufLayout.tensorNames(config.nLayers());
      checkShapes(
          GgufLayout.expectedShapes(config),
          gguf.tensors(),
          names::get,
          file.toString(),
          "the GGUF metadata");
      GgufLayout.checkVocabulary(gguf, config);
      // Under their Hugging Face names the model finds them; tensors it does not read keep their
      // own.
      Map<String, Tensor> tensors = new LinkedHashMap<>();
      names.forEach((hf, own) -> tensors.put(hf, gguf.tensors().get(own)));
      gguf.tensors()
          .forEach(
              (own, t) -> {
                if (!names.containsValue(own)) {
                  tensors.put(own, t);
                }
              });
      return new Checkpoint(
          file, Format.GGUF, config, gguf.files(), Collections.unmodifiableMap(tensors));
    } catch (IOException | RuntimeException e) {
      TensorFile.closeAfter(gguf.files(), e);
      throw e;
    }
  }

  private static Map<String, Tensor> openShards(Path dir, Path index, List<SafetensorsFile> opened)
      throws IOException {
    JsonNode root;
    try {
      root = SafetensorsFile.JSON.readTree(index.toFile());
    } catch (JsonProcessingException e) {
      throw new CheckpointFormatException(index + ": not valid JSON: " + e.getOriginalMessage(), e);
    }
    JsonNode weightMap = root == null ? null : root.get("weight_map");
    if (weightMap == null || !weightMap.isObject()) {
      throw new CheckpointFormatException(index + ": has no weight_map object");
    }
    // Shard file name -> the tensors the index assigns to it, in index order.
    Map<String, Set<String>> byShard = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new CheckpointFormatException(
            index
                + ": tensor '"
                + e.getKey()
                + "': shard must be a file name, got "
                + e.getValue());
      }
      String shard = e.getValue().textValue();
      checkShardName(dir, index, e.getKey(), shard);
      byShard.computeIfAbsent(shard, s -> new LinkedHashSet<>()).add(e.getKey());
    }

    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, Set<String>> e : byShard.entrySet()) {
      Path shardPath = dir.resolve(e.getKey());
      if (!Files.exists(shardPath)) {
        throw new CheckpointFormatException(
            index
                + ": shard '"
                + e.getKey()
                + "' (holding tensor '"
                + e.getValue().iterator().next()
                + "') does not exist in "
                + dir);
      }
      SafetensorsFile shard = SafetensorsFile.open(shardPath);
      opened.add(shard);
      for (String name : e.getValue()) {
        if (!shard.tensors().containsKey(name)) {
          throw new CheckpointFormatException(
              shardPath
                  + ": tensor '"
                  + name
                  + "': listed for this shard in "
                  + index.getFileName()
                  + " but not in the file");
        }
      }
      for (Tensor t : shard.tensors().values()) {
        if (!e.getValue().contains(t.name())) {
          throw new CheckpointFormatException(
              shardPath
                  + ": tensor '"
                  + t.name()
                  + "': not assigned to this shard by "
                  + index.getFileName()
                  + " (files of different checkpoints mixed?)");
        }
        tensors.put(t.name(), t);
      }
    }
    return Collections.unmodifiableMap(tensors);
  }

  /**
   * Shard names come from a file we do not trust: the name must resolve to a file directly in the
   * folder (no "..", no absolute path) and be spelled that way (no "a/../b").
   */
  private static void checkShardName(Path dir, Path index, String tensor, String shard)
      throws CheckpointFormatException {
    Path resolved;
    try {
      resolved = dir.resolve(shard).normalize();
    } catch (InvalidPathException e) {
      resolved = null;
    }
    if (resolved == null
        || !dir.equals(resolved.getParent())
        || !resolved.getFileName().toString().equals(shard)) {
      throw new CheckpointFormatException(
          index
              + ": tensor '"
              + tensor
              + "': shard '"
              + shard
              + "' is not a plain file name inside the checkpoint folder");
    }
  }

  /**
   * A model with more layers than the checkpoint has tensors is refused before its expected tensors
   * are listed: for a count damaged to two billion, the list would not fit in memory. Fewer layers
   * than that are listed, and the first missing tensor named.
   */
  private static void checkLayerCount(
      DbrxConfig config, Map<String, Tensor> tensors, String source, String configName, String key)
      throws CheckpointFormatException {
    if (config.nLayers() > tensors.size()) {
      throw new CheckpointFormatException(
          source
              + ": "
              + configName
              + " describes "
              + config.nLayers()
              + " layers ("
              + key
              + "), but the checkpoint holds only "
              + tensors.size()
              + " tensors");
    }
  }

  /**
   * Every expected tensor is present with exactly its expected shape. {@code fileName} gives the
   * name a tensor has in the files, for lookups and errors; {@code configName} says what described
   * the model.
   */
  private static void checkShapes(
      Map<String, long[]> expected,
      Map<String, Tensor> tensors,
      UnaryOperator<String> fileName,
      String source,
      String configName)
      throws CheckpointFormatException {
    for (Map.Entry<String, long[]> e : expected.entrySet()) {
      String name = fileName.apply(e.getKey());
      Tensor t = tensors.get(name);
      if (t == null) {
        throw new CheckpointFormatException(
            source
                + ": tensor '"
                + name
                + "' (shape "
                + Arrays.toString(e.getValue())
                + ", required by "
                + configName
                + ") is missing");
      }
      if (!Arrays.equals(t.shape(), e.getValue())) {
        throw new CheckpointFormatException(
            t.file()
                + ": tensor '"
                + name
                + "' has shape "
                + Arrays.toString(t.shape())
                + " but "
                + configName
                + " implies "
                + Arrays.toString(e.getValue()));
      }
    }
  }

  /** The absolute checkpoint folder, or GGUF file. */
  public Path location() {
    return location;
  }

  /** The file layout the weights came in. */
  public Format format() {
    return format;
  }

  public DbrxConfig config() {
    return config;
  }

  /**
   * The tensor called {@code name}.
   *
   * @throws IllegalArgumentException if the checkpoint has no such tensor
   */
  public Tensor tensor(String name) {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException("no tensor '" + name + "' in checkpoint " + location);
    }
    return t;
  }

  /** Names of all tensors, in file order (shards in index order). */
  public Set<String> tensorNames() {
    return tensors.keySet();
  }

  /** Bytes of all weights, for memory budgeting. */
  public long totalBytes() {
    return totalBytes;
  }

  /**
   * Closes this checkpoint after {@code failure} (a load that gave up), adding a failure to close
   * to it as suppressed, so that the first failure is the one reported.
   */
  public void closeAfter(RuntimeException failure) {
    try {
      close();
    } catch (UncheckedIOException closing) {
      failure.addSuppressed(closing);
    }
  }

  /** Closes the files; buffers already mapped stay readable. Idempotent. */
  @Override
  public void close() {
    IOException failure = TensorFile.closeEach(files);
    if (failure != null) {
      throw new UncheckedIOException("closing checkpoint " + location, failure);
    }
  }
}
