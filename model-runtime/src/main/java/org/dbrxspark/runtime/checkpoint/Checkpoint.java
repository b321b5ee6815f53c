package org.dbrxspark.runtime.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
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
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * A DBRX checkpoint folder in the Hugging Face layout, opened and validated: {@code config.json}
 * plus either {@code model.safetensors} or shards listed by {@code model.safetensors.index.json}.
 *
 * <p>Every tensor that {@link TensorLayout#expectedShapes} derives from the config must be present
 * with exactly that shape; each may have any supported {@link DType}. Tensors beyond those are kept
 * and reachable by name. With an index, the index and the shard headers must agree exactly: each
 * listed tensor is in its shard, and a shard holds no tensor the index does not assign to it
 * (a mismatch means files of different checkpoints were mixed). Shard names must be plain file
 * names in the folder; symbolic links are followed, because the Hugging Face cache stores shards as
 * links into a blob folder. The index's {@code metadata.total_size} is informational and not checked.
 *
 * <p>Thread-safe. {@link #close()} releases the files; tensors fail on access afterwards.
 */
public final class Checkpoint implements AutoCloseable {
  static final String CONFIG = "config.json";
  static final String SINGLE_FILE = "model.safetensors";
  static final String INDEX = "model.safetensors.index.json";

  private final Path directory;
  private final DbrxConfig config;
  private final List<SafetensorsFile> files;
  private final Map<String, Tensor> tensors;
  private final long totalBytes;

  private Checkpoint(Path directory, DbrxConfig config, List<SafetensorsFile> files, Map<String, Tensor> tensors) {
    this.directory = directory;
    this.config = config;
    this.files = files;
    this.tensors = tensors;
    this.totalBytes = tensors.values().stream().mapToLong(Tensor::byteSize).sum();
  }

  /**
   * Opens and validates the checkpoint in {@code dir}. Like Hugging Face transformers, a
   * {@code model.safetensors} takes precedence over an index.
   *
   * @throws CheckpointFormatException if a weights file or the index is malformed or missing, or
   *     disagrees with the config
   * @throws IllegalArgumentException if {@code config.json} describes an invalid model
   * @throws IOException if {@code config.json} is not JSON, or on an I/O error
   */
  public static Checkpoint open(Path dir) throws IOException {
    Path directory = dir.toAbsolutePath().normalize();
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
        throw new CheckpointFormatException(directory + ": has neither " + SINGLE_FILE + " nor " + INDEX);
      }
      checkShapes(config, tensors, source);
      return new Checkpoint(directory, config, List.copyOf(files), tensors);
    } catch (IOException | RuntimeException e) {
      for (SafetensorsFile f : files) {
        try {
          f.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
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
            index + ": tensor '" + e.getKey() + "': shard must be a file name, got " + e.getValue());
      }
      String shard = e.getValue().textValue();
      checkShardName(dir, index, e.getKey(), shard);
      byShard.computeIfAbsent(shard, s -> new LinkedHashSet<>()).add(e.getKey());
    }

    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, Set<String>> e : byShard.entrySet()) {
      Path shardPath = dir.resolve(e.getKey());
      if (!Files.exists(shardPath)) {
        throw new CheckpointFormatException(index + ": shard '" + e.getKey() + "' (holding tensor '"
            + e.getValue().iterator().next() + "') does not exist in " + dir);
      }
      SafetensorsFile shard = SafetensorsFile.open(shardPath);
      opened.add(shard);
      for (String name : e.getValue()) {
        if (!shard.tensors().containsKey(name)) {
          throw new CheckpointFormatException(shardPath + ": tensor '" + name + "': listed for this shard in "
              + index.getFileName() + " but not in the file");
        }
      }
      for (Tensor t : shard.tensors().values()) {
        if (!e.getValue().contains(t.name())) {
          throw new CheckpointFormatException(shardPath + ": tensor '" + t.name() + "': not assigned to this shard by "
              + index.getFileName() + " (files of different checkpoints mixed?)");
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
    if (resolved == null || !dir.equals(resolved.getParent()) || !resolved.getFileName().toString().equals(shard)) {
      throw new CheckpointFormatException(index + ": tensor '" + tensor + "': shard '" + shard
          + "' is not a plain file name inside the checkpoint folder");
    }
  }

  private static void checkShapes(DbrxConfig config, Map<String, Tensor> tensors, String source)
      throws CheckpointFormatException {
    for (Map.Entry<String, long[]> e : TensorLayout.expectedShapes(config).entrySet()) {
      Tensor t = tensors.get(e.getKey());
      if (t == null) {
        throw new CheckpointFormatException(source + ": tensor '" + e.getKey() + "' (shape "
            + Arrays.toString(e.getValue()) + ", required by config.json) is missing");
      }
      if (!Arrays.equals(t.shape(), e.getValue())) {
        throw new CheckpointFormatException(t.file() + ": tensor '" + e.getKey() + "' has shape "
            + Arrays.toString(t.shape()) + " but config.json implies " + Arrays.toString(e.getValue()));
      }
    }
  }

  /** The absolute checkpoint folder. */
  public Path directory() {
    return directory;
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
      throw new IllegalArgumentException("no tensor '" + name + "' in checkpoint " + directory);
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

  /** Closes the files; buffers already mapped stay readable. Idempotent. */
  @Override
  public void close() {
    UncheckedIOException failure = null;
    for (SafetensorsFile f : files) {
      try {
        f.close();
      } catch (IOException e) {
        if (failure == null) {
          failure = new UncheckedIOException("closing checkpoint " + directory, e);
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }
}
