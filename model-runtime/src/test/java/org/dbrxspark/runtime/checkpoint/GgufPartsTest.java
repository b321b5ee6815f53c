package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.dbrxspark.runtime.config.Presets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Split GGUF models, as llama.cpp's gguf-split writes them, open from their first part as the whole
 * file; {@code quantize} writes such parts; and parts that do not fit together are refused naming
 * the part and the key at fault.
 */
class GgufPartsTest {
  @TempDir Path tmp;

  /**
   * The golden file (llama.cpp's converter wrote it) split as gguf-split does: part 1 holds the
   * metadata and the split keys (uint16 split.no and split.count, int32 split.tensors.count), each
   * part some tensors in order; {@code perPart[i]} tensors go to part i (0 for the first is
   * gguf-split's {@code --no-tensor-first-split}).
   */
  private List<Path> splitGolden(String prefix, int... perPart) throws IOException {
    GgufBuilder whole = GgufBuilder.copyOf(GgufCheckpointTest.golden("q4_0"));
    List<Path> parts = new ArrayList<>();
    int next = 0;
    for (int i = 0; i < perPart.length; i++) {
      GgufBuilder part = new GgufBuilder();
      if (i == 0) {
        part.metadata.putAll(whole.metadata);
      }
      part.metadata.put(GgufParts.SPLIT_NO, (short) i);
      part.metadata.put(GgufParts.SPLIT_COUNT, (short) perPart.length);
      part.metadata.put(GgufParts.SPLIT_TENSORS, whole.tensors.size());
      int count = i == perPart.length - 1 ? whole.tensors.size() - next : perPart[i];
      part.tensors.addAll(whole.tensors.subList(next, next + count));
      next += count;
      parts.add(part.write(tmp.resolve(GgufParts.partName(prefix, i, perPart.length))));
    }
    return parts;
  }

  @Test
  void goldenFileSplitOpensFromItsFirstPartAsTheWholeFile() throws IOException {
    List<Path> parts = splitGolden("golden", 0, 8, -1);
    try (Checkpoint split = Checkpoint.open(parts.get(0));
        Checkpoint whole = Checkpoint.open(GgufCheckpointTest.golden("q4_0"))) {
      assertEquals(whole.config(), split.config());
      assertEquals(whole.config(), Checkpoint.readConfig(parts.get(0)));
      assertSameTensors(whole, split);
    }
  }

  @Test
  void quantizeWritesPartsUnderTheLimitThatOpenAsTheWholeFile() throws IOException {
    Path source = tmp.resolve("tiny");
    CheckpointWriter.writeRandom(source, Presets.named("tiny"), 1, DType.BF16, 1);
    try (Checkpoint ckpt = Checkpoint.open(source)) {
      GgufQuantizer.Summary one =
          GgufQuantizer.write(ckpt, GgufQuantizer.FileType.Q8_0, tmp.resolve("one.gguf"), 2);
      long limit = one.bytes() / 4;
      GgufQuantizer.Summary split =
          GgufQuantizer.write(
              ckpt, GgufQuantizer.FileType.Q8_0, tmp.resolve("tiny.gguf"), 2, limit);
      int count = split.files().size();
      assertTrue(count >= 3, "parts: " + split.files());
      for (int i = 0; i < count; i++) {
        Path part = split.files().get(i);
        assertEquals(tmp.resolve(GgufParts.partName("tiny", i, count)), part);
        try (GgufFile file = GgufFile.open(part)) {
          assertEquals((long) i, file.metadata().get(GgufParts.SPLIT_NO));
          assertEquals((long) count, file.metadata().get(GgufParts.SPLIT_COUNT));
          // The model's keys are in the first part only, as gguf-split writes them.
          assertEquals(i == 0, file.metadata().containsKey("dbrx.block_count"));
          long data = file.tensors().values().stream().mapToLong(Tensor::byteSize).sum();
          assertTrue(
              data <= limit || file.tensors().size() == 1, part + " holds " + data + " bytes");
        }
      }
      assertTrue(Files.notExists(tmp.resolve("tiny.gguf")));
      try (Checkpoint whole = Checkpoint.open(one.file());
          Checkpoint parts = Checkpoint.open(split.file())) {
        assertSameTensors(whole, parts);
      }
    }
  }

  @Test
  void laterPartIsRefusedNamingTheFirst() throws IOException {
    List<Path> parts = splitGolden("m", 6, 6, -1);
    assertRefused(
        parts.get(1),
        parts.get(1),
        "is part 2 of 3",
        "open it from its first part, m-00001-of-00003");
  }

  @Test
  void missingPartIsRefusedByName() throws IOException {
    List<Path> parts = splitGolden("m", 6, 6, -1);
    Files.delete(parts.get(2));
    assertRefused(parts.get(0), parts.get(2), "missing: part 3 of 3");
  }

  @Test
  void firstPartWithoutItsNameIsRefused() throws IOException {
    List<Path> parts = splitGolden("m", 6, -1);
    Path renamed = Files.move(parts.get(0), tmp.resolve("model.gguf"));
    assertRefused(renamed, renamed, "does not end in -00001-of-00002.gguf");
  }

  @Test
  void partOfAnotherSplitIsRefused() throws IOException {
    List<Path> parts = splitGolden("m", 6, 6, -1);
    GgufBuilder other = GgufBuilder.copyOf(parts.get(1));
    other.metadata.put(GgufParts.SPLIT_COUNT, (short) 4);
    other.write(parts.get(1));
    assertRefused(parts.get(0), parts.get(1), "'split.count' is 4", "make it 3");
  }

  @Test
  void tensorInTwoPartsIsRefused() throws IOException {
    List<Path> parts = splitGolden("m", 6, -1);
    GgufBuilder second = GgufBuilder.copyOf(parts.get(1));
    second.tensors.add(GgufBuilder.copyOf(parts.get(0)).tensors.get(3));
    second.write(parts.get(1));
    assertRefused(parts.get(0), parts.get(1), "is also in " + parts.get(0));
  }

  @Test
  void tensorCountThatDoesNotAddUpIsRefused() throws IOException {
    List<Path> parts = splitGolden("m", 6, -1);
    for (Path part : parts) {
      GgufBuilder b = GgufBuilder.copyOf(part);
      b.metadata.put(
          GgufParts.SPLIT_TENSORS, ((Long) b.metadata.get(GgufParts.SPLIT_TENSORS)).intValue() + 1);
      b.write(part);
    }
    assertRefused(parts.get(0), parts.get(0), "split.tensors.count", "parts hold");
  }

  private static void assertSameTensors(Checkpoint want, Checkpoint got) {
    assertEquals(want.tensorNames(), got.tensorNames());
    for (String name : want.tensorNames()) {
      Tensor w = want.tensor(name);
      Tensor g = got.tensor(name);
      assertEquals(w.dtype(), g.dtype(), name);
      assertArrayEquals(w.shape(), g.shape(), name);
      int rows = Math.toIntExact(w.rows());
      assertEquals(w.rowBytes(0, rows), g.rowBytes(0, rows), name);
    }
  }

  private static void assertRefused(Path open, Path named, String... parts) {
    CheckpointFormatException e =
        assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(open).close());
    assertTrue(e.getMessage().startsWith(named.toString()), e.getMessage());
    for (String part : parts) {
      assertTrue(e.getMessage().contains(part), "'" + part + "' not in: " + e.getMessage());
    }
  }
}
