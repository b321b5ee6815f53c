package org.dbrxspark.udfs.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies remote checkpoint folders (any Hadoop FileSystem) into a per-host cache folder, once per
 * host: executors on one host share the copy.
 *
 * <p>Each checkpoint gets {@code <root>/<name>-<hash of its URI>/}, holding the files plus a
 * manifest of their remote sizes, modification times and CRC32C checksums. A fetch holds a lock
 * file (so concurrent executors of the host wait for one copy), writes into a {@code .partial-*}
 * sibling and renames it into place atomically, so a crashed copy is never mistaken for a complete
 * one. A cached folder is used only when its manifest matches the remote listing and every file has
 * its manifest size and (on the first use in this JVM) checksum; otherwise it is fetched again.
 */
final class CheckpointCache {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointCache.class);
  static final String MANIFEST = ".dbrx-cache-manifest.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int COPY_BUFFER = 1 << 20;

  /** FileChannel locks are per process: threads of this JVM must also exclude each other. */
  private static final Map<Path, Object> JVM_LOCKS = new ConcurrentHashMap<>();

  /** Folders whose checksums were verified by this JVM, with the manifest they matched. */
  private static final Set<String> VERIFIED = ConcurrentHashMap.newKeySet();

  private final Path root;
  private final Configuration hadoopConf;

  CheckpointCache(Path root, Configuration hadoopConf) {
    this.root = root;
    this.hadoopConf = hadoopConf;
  }

  /** One remote file: path relative to the checkpoint folder, size and modification time. */
  record Entry(String name, long size, long modified, String crc32c) {}

  /**
   * Returns a local folder holding a verified copy of the remote folder {@code source}, or, when
   * {@code source} is a GGUF checkpoint's file (the first part of a split one with its other
   * parts), that file inside such a folder.
   */
  Path fetch(URI source) throws IOException {
    Listing listing = listRemote(source);
    List<Entry> remote = listing.entries();
    Path target = root.resolve(cacheName(source));
    Files.createDirectories(root);
    Object jvmLock = JVM_LOCKS.computeIfAbsent(target, t -> new Object());
    synchronized (jvmLock) {
      try (FileChannel channel =
              FileChannel.open(
                  root.resolve(target.getFileName() + ".lock"),
                  StandardOpenOption.CREATE,
                  StandardOpenOption.WRITE);
          FileLock ignored = channel.lock()) {
        deleteLeftovers(target);
        String problem = problemWithCache(target, remote);
        if (problem != null) {
          if (Files.exists(target)) {
            LOG.warn(
                "cached checkpoint {} for {} is unusable ({}); fetching it again",
                target,
                source,
                problem);
          }
          copyIn(source, listing.base(), remote, target);
        }
        return listing.file() ? target.resolve(remote.get(0).name()) : target;
      }
    }
  }

  /**
   * The remote files, named relative to {@code base}; when the source is a file, that file first,
   * then the other parts of a split GGUF model.
   */
  private record Listing(org.apache.hadoop.fs.Path base, List<Entry> entries, boolean file) {}

  private Listing listRemote(URI source) throws IOException {
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(source);
    FileSystem fs = FileSystem.get(source, hadoopConf);
    FileStatus status = fs.getFileStatus(dir);
    if (status.isFile()) {
      List<Entry> parts = new ArrayList<>();
      for (String name : Checkpoint.ggufFileNames(dir.getName())) {
        org.apache.hadoop.fs.Path part = new org.apache.hadoop.fs.Path(dir.getParent(), name);
        FileStatus partStatus;
        try {
          partStatus = name.equals(dir.getName()) ? status : fs.getFileStatus(part);
        } catch (FileNotFoundException e) {
          throw new FileNotFoundException(part + ": missing: a part of the split GGUF " + source);
        }
        parts.add(new Entry(name, partStatus.getLen(), partStatus.getModificationTime(), null));
      }
      return new Listing(dir.getParent(), parts, true);
    }
    String prefix = fs.makeQualified(dir).toUri().getPath();
    prefix = prefix.endsWith("/") ? prefix : prefix + "/";
    List<Entry> entries = new ArrayList<>();
    RemoteIterator<LocatedFileStatus> files = fs.listFiles(dir, true);
    while (files.hasNext()) {
      LocatedFileStatus file = files.next();
      String path = file.getPath().toUri().getPath();
      if (!path.startsWith(prefix)) {
        throw new IOException("unexpected file " + file.getPath() + " outside " + source);
      }
      entries.add(
          new Entry(
              path.substring(prefix.length()), file.getLen(), file.getModificationTime(), null));
    }
    entries.sort(Comparator.comparing(Entry::name));
    return new Listing(dir, entries, false);
  }

  /** Why the cached folder cannot be used, or null when it is complete and matches the remote. */
  private static String problemWithCache(Path target, List<Entry> remote) {
    Path manifestFile = target.resolve(MANIFEST);
    if (!Files.isRegularFile(manifestFile)) {
      return Files.exists(target) ? "no manifest: an incomplete copy" : "not cached yet";
    }
    List<Entry> cached;
    try {
      cached = List.of(JSON.readValue(manifestFile.toFile(), Entry[].class));
    } catch (IOException e) {
      return "unreadable manifest: " + e.getMessage();
    }
    if (!sameListing(cached, remote)) {
      return "the remote checkpoint has changed";
    }
    // Sizes are checked on every use (cheap); checksums once per JVM (a full read of the weights).
    String fingerprint = target + "|" + cached;
    boolean verified = VERIFIED.contains(fingerprint);
    for (Entry entry : cached) {
      Path file = target.resolve(entry.name());
      try {
        if (!Files.isRegularFile(file)) {
          return entry.name() + " is missing";
        }
        if (Files.size(file) != entry.size()) {
          return entry.name() + " has " + Files.size(file) + " bytes, expected " + entry.size();
        }
        if (!verified && !crc32c(file).equals(entry.crc32c())) {
          return entry.name() + " fails its checksum";
        }
      } catch (IOException e) {
        return entry.name() + " cannot be read: " + e.getMessage();
      }
    }
    VERIFIED.add(fingerprint);
    return null;
  }

  private static boolean sameListing(List<Entry> cached, List<Entry> remote) {
    if (cached.size() != remote.size()) {
      return false;
    }
    for (int i = 0; i < cached.size(); i++) {
      Entry c = cached.get(i);
      Entry r = remote.get(i);
      if (!c.name().equals(r.name()) || c.size() != r.size() || c.modified() != r.modified()) {
        return false;
      }
    }
    return true;
  }

  private void copyIn(URI source, org.apache.hadoop.fs.Path dir, List<Entry> remote, Path target)
      throws IOException {
    long start = System.nanoTime();
    Path staging = root.resolve(target.getFileName() + ".partial-" + randomSuffix());
    FileSystem fs = FileSystem.get(source, hadoopConf);
    List<Entry> copied = new ArrayList<>();
    long bytes = 0;
    try {
      for (Entry entry : remote) {
        Path local = staging.resolve(entry.name()).normalize();
        if (!local.startsWith(staging)) {
          throw new IOException("refusing to copy " + entry.name() + " outside the cache folder");
        }
        Files.createDirectories(local.getParent());
        CRC32C crc = new CRC32C();
        long written = 0;
        try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(dir, entry.name()));
            OutputStream out = Files.newOutputStream(local)) {
          byte[] buffer = new byte[COPY_BUFFER];
          for (int n; (n = in.read(buffer)) > 0; ) {
            out.write(buffer, 0, n);
            crc.update(buffer, 0, n);
            written += n;
          }
        }
        if (written != entry.size()) {
          throw new IOException(
              "copied "
                  + written
                  + " bytes of "
                  + entry.name()
                  + ", the remote listing says "
                  + entry.size());
        }
        bytes += written;
        copied.add(new Entry(entry.name(), entry.size(), entry.modified(), hex(crc.getValue())));
      }
      JSON.writeValue(staging.resolve(MANIFEST).toFile(), copied);
      Path stale = null;
      if (Files.exists(target)) {
        // Moved aside rather than deleted in place, so the rename below never meets a half-deleted
        // folder.
        stale = root.resolve(target.getFileName() + ".stale-" + randomSuffix());
        Files.move(target, stale, StandardCopyOption.ATOMIC_MOVE);
      }
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      if (stale != null) {
        deleteTree(stale);
      }
    } catch (IOException | RuntimeException e) {
      deleteTree(staging);
      throw e;
    }
    VERIFIED.add(target + "|" + copied);
    LOG.info(
        "fetched {} ({} files, {} MB) into {} in {} s",
        source,
        copied.size(),
        bytes >> 20,
        target,
        String.format("%.1f", (System.nanoTime() - start) / 1e9));
  }

  /** Removes partial and stale copies of {@code target}; only called under the lock. */
  private void deleteLeftovers(Path target) throws IOException {
    String name = target.getFileName().toString();
    try (DirectoryStream<Path> siblings =
        Files.newDirectoryStream(
            root,
            p ->
                p.getFileName().toString().startsWith(name + ".partial-")
                    || p.getFileName().toString().startsWith(name + ".stale-"))) {
      for (Path leftover : siblings) {
        deleteTree(leftover);
      }
    }
  }

  /** {@code <last path segment>-<16 hex digits of SHA-256(uri)>}: readable and collision-free. */
  static String cacheName(URI source) {
    String path = source.getPath() == null ? "" : source.getPath().replaceAll("/+$", "");
    String last = path.substring(path.lastIndexOf('/') + 1).replaceAll("[^A-Za-z0-9._-]", "_");
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest(source.toString().getBytes(StandardCharsets.UTF_8));
      return (last.isEmpty() ? "checkpoint" : last) + "-" + HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }

  private static String crc32c(Path file) throws IOException {
    CRC32C crc = new CRC32C();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buffer = new byte[COPY_BUFFER];
      for (int n; (n = in.read(buffer)) > 0; ) {
        crc.update(buffer, 0, n);
      }
    }
    return hex(crc.getValue());
  }

  private static String hex(long crc) {
    return String.format("%08x", crc);
  }

  private static String randomSuffix() {
    return Long.toHexString(ThreadLocalRandom.current().nextLong());
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Test hook: forget which folders this JVM has verified, so the next fetch checks checksums. */
  static void forgetVerified() {
    VERIFIED.clear();
  }
}
