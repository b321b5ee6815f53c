package org.dbrxspark.runtime.checkpoint;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Maps regions of one safetensors file, surviving thread interrupts.
 *
 * <p>A {@link FileChannel} is interruptible: a thread interrupted inside {@code map} closes the
 * channel for every thread sharing it. Executors interrupt task threads when they cancel a job or
 * kill a speculative attempt, so a shared checkpoint must not die with one task. The interrupted
 * caller gets an {@link InterruptedIOException}; the channel is reopened for everyone else. Only
 * {@link #close} ends the mapper for good.
 */
final class FileMapper implements AutoCloseable {
  private final Path path;
  private FileChannel channel;
  private boolean closed;

  FileMapper(Path path, FileChannel channel) {
    this.path = path;
    this.channel = channel;
  }

  /** A read-only mapping of {@code [position, position + size)}. */
  MappedByteBuffer map(long position, long size) throws IOException {
    while (true) {
      FileChannel current = current();
      try {
        return current.map(FileChannel.MapMode.READ_ONLY, position, size);
      } catch (ClosedByInterruptException e) {
        reopenAfter(current);
        InterruptedIOException interrupted =
            new InterruptedIOException(path + ": interrupted while mapping");
        interrupted.initCause(e);
        throw interrupted;
      } catch (ClosedChannelException e) {
        // Another thread's interrupt closed the channel under us: retry on a fresh one.
        reopenAfter(current);
      }
    }
  }

  private synchronized FileChannel current() throws ClosedChannelException {
    if (closed) {
      throw new ClosedChannelException();
    }
    return channel;
  }

  private synchronized void reopenAfter(FileChannel dead) throws IOException {
    if (!closed && channel == dead && !dead.isOpen()) {
      channel = FileChannel.open(path, StandardOpenOption.READ);
    }
  }

  @Override
  public synchronized void close() throws IOException {
    closed = true;
    channel.close();
  }
}
