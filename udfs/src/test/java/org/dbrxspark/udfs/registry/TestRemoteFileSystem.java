package org.dbrxspark.udfs.registry;

import java.io.IOException;
import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * The local disk under the scheme {@code testremote://}: a "remote" Hadoop file system for tests,
 * counting the files it opens.
 */
public class TestRemoteFileSystem extends RawLocalFileSystem {
  public static final String SCHEME = "testremote";
  public static final AtomicInteger OPENS = new AtomicInteger();

  @Override
  public URI getUri() {
    return URI.create(SCHEME + ":///");
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public FSDataInputStream open(Path f, int bufferSize) throws IOException {
    OPENS.incrementAndGet();
    return super.open(f, bufferSize);
  }

  // The local file system's statuses resolve permissions through java.io.File, which only takes
  // file: URIs; plain statuses carry what the cache reads (length, time, path).
  @Override
  public FileStatus[] listStatus(Path f) throws IOException {
    FileStatus[] raw = super.listStatus(f);
    FileStatus[] plain = new FileStatus[raw.length];
    for (int i = 0; i < raw.length; i++) {
      plain[i] = plain(raw[i]);
    }
    return plain;
  }

  @Override
  public FileStatus getFileStatus(Path f) throws IOException {
    return plain(super.getFileStatus(f));
  }

  private static FileStatus plain(FileStatus s) {
    return new FileStatus(
        s.getLen(), s.isDirectory(), 1, s.getBlockSize(), s.getModificationTime(), s.getPath());
  }

  /** The remote URI of a local absolute path. */
  public static String uriOf(java.nio.file.Path local) {
    return SCHEME + "://" + local.toAbsolutePath();
  }
}
