package org.dbrxspark.runtime.checkpoint;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * An open file of tensors, safetensors or GGUF: the tensors its header describes, mapped from the
 * file on access, and the mapper that closes with it.
 */
abstract class TensorFile implements Closeable {
  private final Path path;
  private final FileMapper mapper;
  private final Map<String, Tensor> tensors;

  TensorFile(Path path, FileMapper mapper, Map<String, Tensor> tensors) {
    this.path = path;
    this.mapper = mapper;
    this.tensors = tensors;
  }

  Path path() {
    return path;
  }

  /** The tensors by the file's own names, in the file's order. */
  Map<String, Tensor> tensors() {
    return tensors;
  }

  @Override
  public void close() throws IOException {
    mapper.close();
  }

  /**
   * Closes every one of {@code files}, going on past a failure: the first failure, with the later
   * ones suppressed in it, or null.
   */
  static IOException closeEach(List<? extends Closeable> files) {
    IOException failure = null;
    for (Closeable f : files) {
      try {
        f.close();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    return failure;
  }

  /** Closes every one of {@code files} after {@code failure}, suppressing in it what fails. */
  static void closeAfter(List<? extends Closeable> files, Exception failure) {
    IOException closing = closeEach(files);
    if (closing != null) {
      failure.addSuppressed(closing);
    }
  }

  /**
   * Reads the header of {@code path} with {@code parser}; the file is closed again if that fails.
   */
  static <T> T open(Path path, HeaderParser<T> parser) throws IOException {
    FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
    try {
      return parser.parse(channel);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  /** Parses an open file's header into its {@link TensorFile}. */
  @FunctionalInterface
  interface HeaderParser<T> {
    T parse(FileChannel channel) throws IOException;
  }

  /** Parsing state for one header, with errors that name the file and the tensor at fault. */
  abstract static class HeaderReader {
    final Path path;
    final FileChannel channel;

    HeaderReader(Path path, FileChannel channel) {
      this.path = path;
      this.channel = channel;
    }

    CheckpointFormatException fail(String why) {
      return new CheckpointFormatException(path + ": " + why);
    }

    CheckpointFormatException fail(String why, Throwable cause) {
      return new CheckpointFormatException(path + ": " + why, cause);
    }

    CheckpointFormatException fail(String tensor, String why) {
      return new CheckpointFormatException(path + ": tensor '" + tensor + "': " + why);
    }
  }
}
