package org.dbrxspark.udfs.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.dbrxspark.runtime.checkpoint.CheckpointWriter;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.Presets;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointCacheTest {
  @TempDir Path tmp;
  private Path source;
  private URI remote;
  private CheckpointCache cache;

  @BeforeEach
  void setUp() throws IOException {
    source = tmp.resolve("remote").resolve("tiny");
    CheckpointWriter.writeRandom(source, Presets.named("tiny"), 3, DType.BF16, 2);
    remote = URI.create(TestRemoteFileSystem.uriOf(source));
    Configuration conf = new Configuration(false);
    conf.set("fs." + TestRemoteFileSystem.SCHEME + ".impl", TestRemoteFileSystem.class.getName());
    conf.setBoolean("fs." + TestRemoteFileSystem.SCHEME + ".impl.disable.cache", true);
    cache = new CheckpointCache(tmp.resolve("cache"), conf);
    CheckpointCache.forgetVerified();
  }

  private int sourceFiles() throws IOException {
    try (Stream<Path> files = Files.list(source)) {
      return (int) files.count();
    }
  }

  private void assertSameFiles(Path copy) throws IOException {
    try (Stream<Path> files = Files.list(source)) {
      for (Path f : files.toList()) {
        assertArrayEquals(
            Files.readAllBytes(f), Files.readAllBytes(copy.resolve(f.getFileName())), f.toString());
      }
    }
    assertTrue(Files.isRegularFile(copy.resolve(CheckpointCache.MANIFEST)));
  }

  /** Fetches and returns how many remote files were opened. */
  private int opensDuring(Callable<Path> fetch, Path[] result) throws Exception {
    int before = TestRemoteFileSystem.OPENS.get();
    result[0] = fetch.call();
    return TestRemoteFileSystem.OPENS.get() - before;
  }

  @Test
  void copiesOnceThenReuses() throws Exception {
    Path[] copy = new Path[1];
    assertEquals(sourceFiles(), opensDuring(() -> cache.fetch(remote), copy));
    assertSameFiles(copy[0]);
    assertTrue(copy[0].getFileName().toString().startsWith("tiny-"));
    Path first = copy[0];
    CheckpointCache.forgetVerified(); // as a new executor JVM on the same host would
    assertEquals(0, opensDuring(() -> cache.fetch(remote), copy));
    assertEquals(first, copy[0]);
  }

  @Test
  void refetchesCorruptTruncatedOrPartialCopies() throws Exception {
    Path[] copy = new Path[1];
    cache.fetch(remote);
    Path cached = cache.fetch(remote);
    Path weights = cached.resolve("model-00001-of-00002.safetensors");

    try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0xff); // same size, wrong bytes
    }
    CheckpointCache.forgetVerified();
    assertEquals(sourceFiles(), opensDuring(() -> cache.fetch(remote), copy));
    assertSameFiles(copy[0]);

    try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
      f.setLength(f.length() - 10);
    }
    assertEquals(
        sourceFiles(),
        opensDuring(() -> cache.fetch(remote), copy),
        "size is checked even when verified");
    assertSameFiles(copy[0]);

    // A copy that died before its manifest was written, and a leftover staging folder.
    Files.delete(cached.resolve(CheckpointCache.MANIFEST));
    Path leftover =
        Files.createDirectories(cached.resolveSibling(cached.getFileName() + ".partial-dead"));
    assertEquals(sourceFiles(), opensDuring(() -> cache.fetch(remote), copy));
    assertSameFiles(copy[0]);
    assertFalse(Files.exists(leftover));
  }

  @Test
  void refetchesWhenTheRemoteChanges() throws Exception {
    Path[] copy = new Path[1];
    cache.fetch(remote);
    Path config = source.resolve("config.json");
    Files.setLastModifiedTime(
        config, FileTime.fromMillis(Files.getLastModifiedTime(config).toMillis() + 60_000));
    assertEquals(sourceFiles(), opensDuring(() -> cache.fetch(remote), copy));
    assertSameFiles(copy[0]);
  }

  @Test
  void concurrentFetchesCopyOnce() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      int before = TestRemoteFileSystem.OPENS.get();
      List<Future<Path>> results = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        // Separate instances, as separate executors would have.
        CheckpointCache own =
            new CheckpointCache(
                tmp.resolve("cache"),
                new Configuration(false) {
                  {
                    set(
                        "fs." + TestRemoteFileSystem.SCHEME + ".impl",
                        TestRemoteFileSystem.class.getName());
                    setBoolean("fs." + TestRemoteFileSystem.SCHEME + ".impl.disable.cache", true);
                  }
                });
        results.add(pool.submit(() -> own.fetch(remote)));
      }
      for (Future<Path> r : results) {
        assertEquals(results.get(0).get(), r.get());
      }
      assertEquals(sourceFiles(), TestRemoteFileSystem.OPENS.get() - before);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aSingleFileCheckpointIsCopiedOnceAndReturnedByItsName() throws Exception {
    // A GGUF checkpoint is one file; the cache holds no opinion on its contents.
    Path gguf = tmp.resolve("remote").resolve("model-q8_0.gguf");
    Files.write(gguf, Files.readAllBytes(source.resolve("config.json")));
    URI file = URI.create(TestRemoteFileSystem.uriOf(gguf));
    Path[] first = new Path[1];
    assertEquals(1, opensDuring(() -> cache.fetch(file), first));
    assertEquals("model-q8_0.gguf", first[0].getFileName().toString());
    assertArrayEquals(Files.readAllBytes(gguf), Files.readAllBytes(first[0]));
    Path[] second = new Path[1];
    assertEquals(0, opensDuring(() -> cache.fetch(file), second));
    assertEquals(first[0], second[0]);
  }

  @Test
  void theFirstPartOfASplitGgufIsCopiedWithItsOtherParts() throws Exception {
    // llama.cpp's part names; the cache holds no opinion on their contents.
    Path remoteDir = tmp.resolve("remote");
    List<Path> parts = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      Path part = remoteDir.resolve("dbrx-q4_k_m-0000" + i + "-of-00003.gguf");
      Files.writeString(part, "part " + i);
      parts.add(part);
    }
    URI first = URI.create(TestRemoteFileSystem.uriOf(parts.get(0)));
    Path[] fetched = new Path[1];
    assertEquals(3, opensDuring(() -> cache.fetch(first), fetched));
    assertEquals(parts.get(0).getFileName(), fetched[0].getFileName());
    for (Path part : parts) {
      assertArrayEquals(
          Files.readAllBytes(part),
          Files.readAllBytes(fetched[0].resolveSibling(part.getFileName())));
    }
    assertEquals(0, opensDuring(() -> cache.fetch(first), new Path[1]));
    Files.delete(parts.get(2));
    CheckpointCache.forgetVerified();
    IOException missing = assertThrows(IOException.class, () -> cache.fetch(first));
    assertTrue(
        missing.getMessage().contains("dbrx-q4_k_m-00003-of-00003.gguf: missing"),
        missing.getMessage());
  }
}
