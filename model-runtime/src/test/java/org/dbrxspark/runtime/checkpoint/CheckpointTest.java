package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CheckpointTest {
  @TempDir Path tmp;

  // ---- golden checkpoints (expected values read independently with Python/numpy) ----

  @Test
  void opensTinyBf16() throws IOException {
    try (Checkpoint ckpt = Checkpoint.open(TestFiles.golden("tiny-bf16"))) {
      DbrxConfig c = ckpt.config();
      assertEquals(64, c.dModel());
      assertEquals(16, c.moeNumExperts());
      assertEquals(2.0, c.clipQkv());
      assertEquals(
          List.copyOf(TensorLayout.expectedShapes(c).keySet()), List.copyOf(ckpt.tensorNames()));
      for (String name : ckpt.tensorNames()) {
        assertEquals(DType.BF16, ckpt.tensor(name).dtype(), name);
      }
      assertEquals(c.parameterCount() * 2, ckpt.totalBytes());
      assertEquals(1_495_680, ckpt.totalBytes());

      Tensor wte = ckpt.tensor(TensorLayout.WTE);
      assertArrayEquals(new long[] {1024, 64}, wte.shape());
      ByteBuffer row0 = wte.rowBytes(0, 1);
      assertEquals((short) 0x3D0C, row0.getShort(0));
      assertEquals((short) 0x3FAE, row0.getShort(2));
      float[] last = new float[64];
      wte.readRows(1023, 1, last, 0);
      assertEquals(0.1806640625f, last[63]);

      float[] norm2 = ckpt.tensor(TensorLayout.norm2(1)).toFloatArray();
      assertEquals(1.1484375f, norm2[0]);
      assertEquals(0.78125f, norm2[63]);
      assertEquals(63.05078125, sum(norm2), 1e-9);
      assertEquals(-185.8243425488472, sum(wte.toFloatArray()), 1e-6);
    }
  }

  @Test
  void opensSmallF32Sharded() throws IOException {
    Path dir = TestFiles.golden("small-f32-sharded");
    try (Checkpoint ckpt = Checkpoint.open(dir)) {
      assertEquals(null, ckpt.config().clipQkv());
      assertEquals(2.0, ckpt.config().moeNormalizeExpertWeights());
      assertEquals(27, ckpt.tensorNames().size());
      assertEquals(3_649_152, ckpt.totalBytes()); // the index's total_size
      Tensor head = ckpt.tensor(TensorLayout.LM_HEAD);
      assertEquals(dir.toAbsolutePath().resolve("model-00003-of-00003.safetensors"), head.file());
      assertEquals(DType.F32, head.dtype());
      assertEquals(0x3BD8EB1C, head.rowBytes(2047, 1).getInt(95 * 4));
      float[] row0 = new float[96];
      head.readRows(0, 1, row0, 0);
      assertEquals(-0.1830466091632843f, row0[0]);
      assertEquals(35.126550654979226, sum(head.toFloatArray()), 1e-4);

      Tensor norm1 = ckpt.tensor(TensorLayout.norm1(2));
      assertEquals("model-00002-of-00003.safetensors", norm1.file().getFileName().toString());
      assertEquals(0.7836737632751465f, norm1.toFloatArray()[0]);
      assertEquals(0.9191995859146118f, norm1.toFloatArray()[95]);
    }
  }

  @Test
  void opensTinyFullVocabBf16() throws IOException {
    try (Checkpoint ckpt = Checkpoint.open(TestFiles.golden("tiny-fullvocab-bf16"))) {
      assertEquals(100_352, ckpt.config().vocabSize());
      Tensor head = ckpt.tensor(TensorLayout.LM_HEAD);
      assertEquals(100_352, head.rows());
      assertEquals(32, head.cols());
      assertEquals((short) 0xBD11, head.rowBytes(100_351, 1).getShort(31 * 2));
      assertEquals(-0.0556640625f, head.toFloatArray()[0]);
      assertEquals(19.546309480676427, sum(head.toFloatArray()), 1e-6);
    }
  }

  @Test
  void unknownTensorNameAndClosedCheckpointFailClearly() throws IOException {
    Path dir = writeTiny(1);
    Checkpoint ckpt = Checkpoint.open(dir);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ckpt.tensor("lm_head.bias"));
    assertTrue(
        e.getMessage().contains("lm_head.bias") && e.getMessage().contains(dir.toString()),
        e.getMessage());
    Tensor norm = ckpt.tensor(TensorLayout.NORM_F);
    ckpt.close();
    ckpt.close(); // idempotent
    assertThrows(IllegalStateException.class, norm::toFloatArray);
  }

  /**
   * Spark interrupts task threads; one interrupted reader must not close the checkpoint for the
   * rest.
   */
  @Test
  void anInterruptedReaderFailsAloneAndTheCheckpointStaysReadable() throws Exception {
    try (Checkpoint ckpt = Checkpoint.open(TestFiles.golden("tiny-bf16"))) {
      Tensor norm = ckpt.tensor(TensorLayout.norm2(1));
      float[] expected = norm.toFloatArray();
      Throwable[] failure = new Throwable[1];
      Thread interrupted =
          new Thread(
              () -> {
                Thread.currentThread().interrupt();
                try {
                  norm.toFloatArray();
                } catch (Throwable t) {
                  failure[0] = t;
                }
              });
      interrupted.start();
      interrupted.join();
      assertTrue(failure[0] instanceof java.io.UncheckedIOException, String.valueOf(failure[0]));
      assertTrue(
          failure[0].getMessage().contains("interrupted")
              && failure[0].getMessage().contains("norm"),
          failure[0].getMessage());

      assertArrayEquals(expected, norm.toFloatArray());
      assertArrayEquals(expected, ckpt.tensor(TensorLayout.norm2(1)).toFloatArray());
    }
  }

  @Test
  void keepsExtraTensorsAndAllowsMixedDtypes() throws IOException {
    Path dir = writeTiny(1);
    Path file = dir.resolve(Checkpoint.SINGLE_FILE);
    // Rewrite the file with the norm weights in F32 and one tensor the layout does not know.
    List<TestFiles.RawTensor> tensors = new ArrayList<>();
    Map<String, float[]> original = new HashMap<>();
    try (Checkpoint ckpt = Checkpoint.open(dir)) {
      for (String name : ckpt.tensorNames()) {
        Tensor t = ckpt.tensor(name);
        original.put(name, t.toFloatArray());
        tensors.add(
            new TestFiles.RawTensor(
                name,
                t.shape().length == 1 ? DType.F32 : DType.BF16,
                t.shape(),
                original.get(name)));
      }
    }
    tensors.add(
        new TestFiles.RawTensor(
            "transformer.extra.scale", DType.F16, new long[] {2}, new float[] {0.5f, 2f}));
    Files.delete(file);
    TestFiles.writeTensors(file, tensors);

    try (Checkpoint ckpt = Checkpoint.open(dir)) {
      assertEquals(DType.F32, ckpt.tensor(TensorLayout.NORM_F).dtype());
      assertEquals(DType.BF16, ckpt.tensor(TensorLayout.WTE).dtype());
      assertArrayEquals(
          original.get(TensorLayout.norm1(0)), ckpt.tensor(TensorLayout.norm1(0)).toFloatArray());
      assertArrayEquals(
          original.get(TensorLayout.WTE), ckpt.tensor(TensorLayout.WTE).toFloatArray());
      assertArrayEquals(
          new float[] {0.5f, 2f}, ckpt.tensor("transformer.extra.scale").toFloatArray());
    }
  }

  // ---- folder-level errors ----

  @Test
  void missingTensorNamesTheTensorAndFile() throws IOException {
    Path dir = writeTiny(1);
    replaceConfig(dir, TestFiles.tinyConfig(3, 64));
    assertOpenFails(
        dir,
        "transformer.blocks.2.norm_attn_norm.norm_1.weight",
        "missing",
        dir.resolve("model.safetensors").toString());
  }

  @Test
  void moreLayersThanTensorsAreRefusedBeforeTheyAreListed() throws IOException {
    Path dir = writeTiny(1);
    replaceConfig(dir, TestFiles.tinyConfig(1_000_000, 64));
    assertOpenFails(
        dir,
        "config.json describes 1000000 layers (n_layers), but the checkpoint holds only",
        dir.resolve("model.safetensors").toString());
  }

  @Test
  void wrongShapeNamesTheTensorBothShapesAndFile() throws IOException {
    Path dir = writeTiny(1);
    replaceConfig(dir, TestFiles.tinyConfig(2, 65));
    assertOpenFails(
        dir,
        "transformer.wte.weight",
        "[64, 16]",
        "[65, 16]",
        dir.resolve("model.safetensors").toString());
  }

  @Test
  void corruptShardNamesTheShard() throws IOException {
    Path dir = writeTiny(3);
    Path shard = dir.resolve("model-00003-of-00003.safetensors");
    TestFiles.rewriteHeader(
        shard, h -> ((ObjectNode) h.get(TensorLayout.LM_HEAD)).put("dtype", "I8"));
    assertOpenFails(dir, shard.toString(), "lm_head.weight", "unsupported dtype 'I8'");
  }

  @Test
  void missingShardNamesTheShardAndATensor() throws IOException {
    Path dir = writeTiny(3);
    Files.delete(dir.resolve("model-00002-of-00003.safetensors"));
    assertOpenFails(
        dir,
        "model-00002-of-00003.safetensors",
        "does not exist",
        "transformer.blocks.",
        Checkpoint.INDEX);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "../evil.safetensors",
        "/tmp/evil.safetensors",
        "sub/evil.safetensors",
        "sub/../model-00001-of-00003.safetensors",
        "..",
        ".",
        ""
      })
  void shardNamesMustStayInsideTheFolder(String shardName) throws IOException {
    Path dir = writeTiny(3);
    // The target exists, so only the name check can stop it.
    Files.copy(dir.resolve("model-00003-of-00003.safetensors"), tmp.resolve("evil.safetensors"));
    editIndex(
        dir, index -> ((ObjectNode) index.get("weight_map")).put(TensorLayout.LM_HEAD, shardName));
    assertOpenFails(
        dir, "'" + shardName + "'", "lm_head.weight", "not a plain file name", Checkpoint.INDEX);
  }

  @Test
  void followsShardSymlinksLikeTheHuggingFaceCache() throws IOException {
    Path dir = writeTiny(3);
    Path blob = Files.createDirectories(tmp.resolve("blobs")).resolve("0123abcd");
    Path shard = dir.resolve("model-00002-of-00003.safetensors");
    Files.move(shard, blob);
    Files.createSymbolicLink(shard, Path.of("../blobs/0123abcd"));
    try (Checkpoint ckpt = Checkpoint.open(dir)) {
      assertEquals(shard, ckpt.tensor(TensorLayout.wqkv(1)).file());
      assertEquals(
          32 * 16,
          ckpt.tensor(TensorLayout.wqkv(1)).toFloatArray().length); // readable through the link
    }
  }

  @Test
  void shardTensorMissingFromTheIndexIsRejected() throws IOException {
    Path dir = writeTiny(3);
    editIndex(dir, index -> ((ObjectNode) index.get("weight_map")).remove(TensorLayout.NORM_F));
    assertOpenFails(
        dir,
        "transformer.norm_f.weight",
        "not assigned to this shard",
        "model-00003-of-00003.safetensors");
  }

  @Test
  void indexEntryPointingAtTheWrongShardIsRejected() throws IOException {
    Path dir = writeTiny(3);
    editIndex(
        dir,
        index ->
            ((ObjectNode) index.get("weight_map"))
                .put(TensorLayout.LM_HEAD, "model-00001-of-00003.safetensors"));
    assertOpenFails(dir, "lm_head.weight", "model-00001-of-00003.safetensors", "not in the file");
  }

  @Test
  void tensorListedTwiceInTheIndexIsRejected() throws IOException {
    Path dir = writeTiny(3);
    Path index = dir.resolve(Checkpoint.INDEX);
    String text = Files.readString(index);
    Files.writeString(
        index,
        text.replace(
            "\"weight_map\" : {",
            "\"weight_map\" : {\n    \"lm_head.weight\" : \"model-00003-of-00003.safetensors\","));
    assertOpenFails(dir, "lm_head.weight", "Duplicate", Checkpoint.INDEX);
  }

  @Test
  void folderWithoutWeightsOrConfigIsRejected() throws IOException {
    Path dir = writeTiny(3);
    Files.delete(dir.resolve(Checkpoint.INDEX));
    assertOpenFails(dir, "neither model.safetensors nor model.safetensors.index.json");
    assertOpenFails(tmp.resolve("nothing-here"), "config.json", "missing");
  }

  // ---- helpers ----

  private Path writeTiny(int shards) throws IOException {
    Path dir = tmp.resolve("ckpt");
    CheckpointWriter.writeRandom(dir, TestFiles.tinyConfig(), 1, DType.BF16, shards);
    return dir;
  }

  private static void replaceConfig(Path dir, DbrxConfig config) throws IOException {
    Files.writeString(dir.resolve(Checkpoint.CONFIG), config.toJson());
  }

  private static void editIndex(Path dir, Consumer<ObjectNode> edit) throws IOException {
    Path index = dir.resolve(Checkpoint.INDEX);
    ObjectNode root = (ObjectNode) SafetensorsFile.JSON.readTree(index.toFile());
    edit.accept(root);
    Files.writeString(index, SafetensorsFile.JSON.writeValueAsString(root));
  }

  private static void assertOpenFails(Path dir, String... fragments) {
    CheckpointFormatException e =
        assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(dir).close());
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), "message contains '" + f + "': " + e.getMessage());
    }
  }

  private static double sum(float[] values) {
    double s = 0;
    for (float v : values) {
      s += v;
    }
    return s;
  }
}
