package org.dbrxspark.jobs.rag;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.util.SerializableConfiguration;

/**
 * An index folder on any Hadoop FileSystem: {@code manifest.json} plus one folder per shard and
 * generation, {@code shards/shard-NNNNN/vGGGGGG}. Shard folders are immutable once the manifest
 * names them: a run writes new generations and then the manifest. Serializable, so executors can
 * upload and download shards.
 */
final class IndexStore implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final String SHARDS = "shards";

  private final String root;
  private final SerializableConfiguration conf;

  IndexStore(String root, Configuration conf) {
    this.root = root.replaceAll("/+$", "");
    this.conf = new SerializableConfiguration(conf);
  }

  String root() {
    return root;
  }

  /** The folder of a shard generation, relative to the index folder. */
  static String shardPath(int shard, long version) {
    return String.format("%s/shard-%05d/v%06d", SHARDS, shard, version);
  }

  private Path path(String relative) {
    return new Path(new Path(root), relative);
  }

  private FileSystem fs() throws IOException {
    return new Path(root).getFileSystem(conf.value());
  }

  /** The manifest, or empty when the folder holds no index yet. */
  Optional<IndexManifest> readManifest() {
    Path file = path(IndexManifest.FILE);
    try {
      FileSystem fs = fs();
      if (!fs.exists(file)) {
        return Optional.empty();
      }
      try (InputStream in = fs.open(file)) {
        return Optional.of(IndexManifest.read(in, file.toString()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the index manifest " + file, e);
    }
  }

  /** Replaces the manifest in one rename, so readers see the old or the new one. */
  void writeManifest(IndexManifest manifest) {
    Path file = path(IndexManifest.FILE);
    Path tmp = path(IndexManifest.FILE + ".tmp-" + UUID.randomUUID());
    try {
      FileSystem fs = fs();
      try (OutputStream out = fs.create(tmp, false)) {
        manifest.write(out);
      }
      FileContext.getFileContext(fs.getUri(), conf.value())
          .rename(tmp, file, Options.Rename.OVERWRITE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the index manifest " + file, e);
    }
  }

  /**
   * Uploads the local folder {@code local} as the shard folder {@code relative}: copied under a
   * temporary name, then renamed into place over whatever an earlier attempt left there.
   *
   * @return the folder's size in bytes
   */
  long upload(java.nio.file.Path local, String relative) throws IOException {
    FileSystem fs = fs();
    Path target = path(relative);
    Path tmp = new Path(target.getParent(), target.getName() + ".tmp-" + UUID.randomUUID());
    fs.mkdirs(target.getParent());
    fs.copyFromLocalFile(false, true, new Path(local.toUri()), tmp);
    if (fs.exists(target)) {
      fs.delete(target, true);
    }
    if (!fs.rename(tmp, target)) {
      fs.delete(tmp, true);
      throw new IOException("cannot rename " + tmp + " to " + target);
    }
    return fs.getContentSummary(target).getLength();
  }

  /**
   * Copies the shard folder {@code relative} to the local folder {@code local}, which must not
   * exist.
   */
  void download(String relative, java.nio.file.Path local) throws IOException {
    fs().copyToLocalFile(false, path(relative), new Path(local.toUri()), true);
  }

  /**
   * A local folder holding the shard {@code relative}: the folder itself on a local file system,
   * otherwise a copy in {@code cacheRoot}, made once per host (generations never change).
   */
  java.nio.file.Path local(String relative, java.nio.file.Path cacheRoot) throws IOException {
    FileSystem fs = fs();
    Path remote = fs.makeQualified(path(relative));
    if (fs instanceof LocalFileSystem || fs instanceof RawLocalFileSystem) {
      return java.nio.file.Path.of(remote.toUri());
    }
    java.nio.file.Path cached = cacheRoot.resolve(sha256(remote.toString()).substring(0, 24));
    if (Files.isDirectory(cached)) {
      return cached;
    }
    Files.createDirectories(cacheRoot);
    java.nio.file.Path tmp = cacheRoot.resolve(cached.getFileName() + ".tmp-" + UUID.randomUUID());
    download(relative, tmp);
    try {
      Files.move(tmp, cached, StandardCopyOption.ATOMIC_MOVE);
    } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
      deleteLocal(tmp); // another process cached it first
    }
    return cached;
  }

  /**
   * Deletes shard generations and leftovers of failed attempts that {@code keep} does not name.
   *
   * @return the folders deleted
   */
  List<String> deleteUnreferenced(Set<String> keep) throws IOException {
    FileSystem fs = fs();
    Path shards = path(SHARDS);
    List<String> deleted = new ArrayList<>();
    if (!fs.exists(shards)) {
      return deleted;
    }
    for (FileStatus shard : fs.listStatus(shards)) {
      FileStatus[] generations =
          shard.isDirectory() ? fs.listStatus(shard.getPath()) : new FileStatus[0];
      for (FileStatus generation : generations) {
        String relative =
            SHARDS + "/" + shard.getPath().getName() + "/" + generation.getPath().getName();
        if (!keep.contains(relative)) {
          fs.delete(generation.getPath(), true);
          deleted.add(relative);
        }
      }
      if (fs.listStatus(shard.getPath()).length == 0) {
        fs.delete(shard.getPath(), true);
      }
    }
    return deleted;
  }

  /**
   * A host-local scratch folder: the first of {@code SPARK_LOCAL_DIRS}, else {@code
   * spark.local.dir}, else {@code java.io.tmpdir}.
   */
  static java.nio.file.Path scratch() {
    String dirs = System.getenv("SPARK_LOCAL_DIRS");
    if (dirs == null || dirs.isBlank()) {
      SparkConf sparkConf = SparkEnv.get() != null ? SparkEnv.get().conf() : new SparkConf();
      dirs = sparkConf.get("spark.local.dir", System.getProperty("java.io.tmpdir"));
    }
    return java.nio.file.Path.of(dirs.split(",")[0].trim());
  }

  static void deleteLocal(java.nio.file.Path folder) throws IOException {
    if (Files.exists(folder)) {
      try (var files = Files.walk(folder)) {
        for (java.nio.file.Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
