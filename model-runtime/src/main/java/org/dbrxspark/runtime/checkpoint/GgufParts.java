package org.dbrxspark.runtime.checkpoint;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A GGUF model: one file, or the parts of a split one. Community GGUFs of large models come split,
 * because model hubs cap a file's size (Hugging Face at 50 GB, and a Q4_K_M DBRX is 80 GB).
 * llama.cpp's {@code gguf-split} and its converters' {@code --split-max-size} name the parts {@code
 * NAME-00001-of-0000N.gguf} to {@code NAME-0000N-of-0000N.gguf}. Each part is a GGUF file of its
 * own: the first holds all the metadata, and every part holds {@code split.no} (uint16, from 0),
 * {@code split.count} (uint16) and {@code split.tensors.count} (int32, over all parts), and some of
 * the tensors (the first may hold none).
 *
 * <p>As in llama.cpp, a split model is opened from its first part, and the others are found by name
 * beside it. Each part's keys are checked against the first's, a tensor may be in one part only,
 * and the parts must hold {@code split.tensors.count} tensors in all. Errors name the part at
 * fault.
 */
final class GgufParts implements Closeable {
  static final String SPLIT_NO = "split.no";
  static final String SPLIT_COUNT = "split.count";
  static final String SPLIT_TENSORS = "split.tensors.count";

  /** llama.cpp's part names: {@code %s-%05d-of-%05d.gguf}, numbered from 1. */
  private static final Pattern PART_NAME = Pattern.compile("(.+)-(\\d{5})-of-(\\d{5})\\.gguf");

  private final List<GgufFile> files;
  private final Map<String, Tensor> tensors;

  private GgufParts(List<GgufFile> files, Map<String, Tensor> tensors) {
    this.files = files;
    this.tensors = tensors;
  }

  /**
   * Opens the GGUF model at {@code path}: the file alone, or, when it is the first part of a split
   * model, every part.
   *
   * @throws CheckpointFormatException if a part is malformed, missing, from another split, or
   *     {@code path} is not the first part
   */
  static GgufParts open(Path path) throws IOException {
    List<GgufFile> files = new ArrayList<>();
    try {
      GgufFile first = GgufFile.open(path);
      files.add(first);
      if (!first.metadata().containsKey(SPLIT_COUNT)) {
        return new GgufParts(files, first.tensors());
      }
      int count = splitKey(first, SPLIT_COUNT, 1, 65_535);
      int no = splitKey(first, SPLIT_NO, 0, count - 1);
      long total = splitKey(first, SPLIT_TENSORS, 0, Integer.MAX_VALUE);
      Matcher name = PART_NAME.matcher(path.getFileName().toString());
      boolean named = name.matches() && Integer.parseInt(name.group(3)) == count;
      if (no != 0) {
        throw new CheckpointFormatException(
            path
                + ": is part "
                + (no + 1)
                + " of "
                + count
                + " of a split GGUF model; open it from its first part"
                + (named ? ", " + partName(name.group(1), 0, count) : ""));
      }
      if (count > 1 && !named) {
        throw new CheckpointFormatException(
            path
                + ": is part 1 of "
                + count
                + " of a split GGUF model, but its name does not end in "
                + partName("", 0, count)
                + " as llama.cpp names the parts, so the others cannot be found");
      }
      for (int i = 1; i < count; i++) {
        Path part = path.resolveSibling(partName(name.group(1), i, count));
        if (!Files.isRegularFile(part)) {
          throw new CheckpointFormatException(
              part + ": missing: part " + (i + 1) + " of " + count + " of " + path);
        }
        GgufFile opened = GgufFile.open(part);
        files.add(opened);
        expect(opened, SPLIT_NO, i, path);
        expect(opened, SPLIT_COUNT, count, path);
        expect(opened, SPLIT_TENSORS, total, path);
      }
      Map<String, Tensor> tensors = merged(files);
      if (tensors.size() != total) {
        throw new CheckpointFormatException(
            path
                + ": "
                + SPLIT_TENSORS
                + " is "
                + total
                + ", but the "
                + count
                + " parts hold "
                + tensors.size()
                + " tensors");
      }
      return new GgufParts(List.copyOf(files), tensors);
    } catch (IOException | RuntimeException e) {
      TensorFile.closeAfter(files, e);
      throw e;
    }
  }

  /**
   * The files of the GGUF model named {@code fileName}: that name, or, for the first part of a
   * split model, every part's name in order. From the name alone, for copying the files.
   */
  static List<String> fileNames(String fileName) {
    Matcher name = PART_NAME.matcher(fileName);
    if (!name.matches() || Integer.parseInt(name.group(2)) != 1) {
      return List.of(fileName);
    }
    int count = Integer.parseInt(name.group(3));
    List<String> names = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      names.add(partName(name.group(1), i, count));
    }
    return names;
  }

  /**
   * The files beside {@code written} left from an earlier write to {@code output}: a whole file of
   * its name, or the parts of a split of another count. They are never read with the new files, and
   * a part of a large model takes tens of gigabytes.
   */
  static List<Path> earlierOutputs(Path output, List<Path> written) throws IOException {
    Path target = output.toAbsolutePath().normalize();
    String name = target.getFileName().toString();
    String prefix = prefix(name);
    try (Stream<Path> siblings = Files.list(target.getParent())) {
      return siblings
          .filter(p -> !written.contains(p))
          .filter(
              p -> {
                Matcher part = PART_NAME.matcher(p.getFileName().toString());
                return p.getFileName().toString().equals(name)
                    || (part.matches() && part.group(1).equals(prefix));
              })
          .sorted()
          .toList();
    }
  }

  /** The name of an output file without {@code .gguf}: its parts' names start with it. */
  static String prefix(String fileName) {
    return fileName.endsWith(".gguf") ? fileName.substring(0, fileName.length() - 5) : fileName;
  }

  /** The name of part {@code no} (from 0) of {@code count}: {@code PREFIX-0000k-of-0000N.gguf}. */
  static String partName(String prefix, int no, int count) {
    return String.format("%s-%05d-of-%05d.gguf", prefix, no + 1, count);
  }

  /** The first part, or the only file: the model's path. */
  Path path() {
    return files.get(0).path();
  }

  /** The model's metadata: the first part's. */
  Map<String, Object> metadata() {
    return files.get(0).metadata();
  }

  /** Every part's tensors, by name, in part order. */
  Map<String, Tensor> tensors() {
    return tensors;
  }

  /** The open files, first part first. */
  List<GgufFile> files() {
    return files;
  }

  @Override
  public void close() throws IOException {
    IOException failure = TensorFile.closeEach(files);
    if (failure != null) {
      throw failure;
    }
  }

  private static Map<String, Tensor> merged(List<GgufFile> files) throws CheckpointFormatException {
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    Map<String, Path> partOf = new LinkedHashMap<>();
    for (GgufFile f : files) {
      for (Map.Entry<String, Tensor> t : f.tensors().entrySet()) {
        Path earlier = partOf.putIfAbsent(t.getKey(), f.path());
        if (earlier != null) {
          throw new CheckpointFormatException(
              f.path() + ": tensor '" + t.getKey() + "' is also in " + earlier);
        }
        tensors.put(t.getKey(), t.getValue());
      }
    }
    return Collections.unmodifiableMap(tensors);
  }

  private static int splitKey(GgufFile file, String key, long min, long max)
      throws CheckpointFormatException {
    Object value = file.metadata().get(key);
    if (!(value instanceof Long v) || v < min || v > max) {
      throw new CheckpointFormatException(
          file.path()
              + ": metadata key '"
              + key
              + "' is "
              + (value == null ? "missing" : value + ", not an integer from " + min + " to " + max)
              + (value == null ? "; every part of a split GGUF model has it" : ""));
    }
    return (int) (long) v;
  }

  private static void expect(GgufFile part, String key, long want, Path first)
      throws CheckpointFormatException {
    Object value = part.metadata().get(key);
    if (!(value instanceof Long v) || v != want) {
      throw new CheckpointFormatException(
          part.path()
              + ": metadata key '"
              + key
              + "' is "
              + (value == null ? "missing" : String.valueOf(value))
              + ", but this part's name and "
              + first.getFileName()
              + " make it "
              + want
              + " (a part of another split model?)");
    }
  }
}
