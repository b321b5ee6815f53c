package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GGUF files as llama.cpp's converter writes them open as DBRX checkpoints; each kind of damage is
 * refused with an error that names the file and the key or tensor at fault.
 */
class GgufCheckpointTest {
  @TempDir Path tmp;
  private GgufBuilder file;

  static Path golden(String type) {
    try {
      return Path.of(
          GgufCheckpointTest.class
              .getResource("/golden/tiny-gguf/model-" + type + ".gguf")
              .toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  @BeforeEach
  void copyGolden() throws IOException {
    file = GgufBuilder.copyOf(golden("q4_0"));
  }

  @Test
  void goldenFileOpensWithTheConfigItsMetadataDescribes() throws IOException {
    try (Checkpoint ckpt = Checkpoint.open(golden("q8_0"))) {
      DbrxConfig c = ckpt.config();
      assertEquals(Checkpoint.Format.GGUF, ckpt.format());
      assertEquals(64, c.dModel());
      assertEquals(4, c.nHeads());
      assertEquals(2, c.kvNHeads());
      assertEquals(2, c.nLayers());
      assertEquals(96, c.ffnHiddenSize());
      assertEquals(16, c.moeNumExperts());
      assertEquals(4, c.moeTopK());
      assertEquals(100352, c.vocabSize());
      assertEquals(2.0, c.clipQkv());
      assertEquals(500000.0, c.ropeTheta());
      assertEquals(1.0, c.moeNormalizeExpertWeights());
      // The bulk of the weights is quantized, the norms and the router stay F32.
      assertEquals(DType.Q8_0, ckpt.tensor(TensorLayout.w1(0)).dtype());
      assertEquals(DType.F32, ckpt.tensor(TensorLayout.router(0)).dtype());
      assertArrayEquals(new long[] {16, 64, 96}, ckpt.tensor(TensorLayout.w2(1)).shape());
      assertEquals("blk.1.ffn_down_exps.weight", ckpt.tensor(TensorLayout.w2(1)).name());
    }
  }

  @Test
  void rewrittenCopyOpensAsTheOriginal() throws IOException {
    // The builder itself must write valid files, or the refusals below would prove nothing.
    try (Checkpoint ckpt = Checkpoint.open(file.write(tmp.resolve("copy.gguf")))) {
      assertEquals(100352, ckpt.config().vocabSize());
      float[] row = new float[64];
      ckpt.tensor(TensorLayout.WTE).readRows(100278, 1, row, 0);
      float[] original = new float[64];
      try (Checkpoint golden = Checkpoint.open(golden("q4_0"))) {
        golden.tensor(TensorLayout.WTE).readRows(100278, 1, original, 0);
      }
      assertArrayEquals(original, row);
    }
  }

  @Test
  void badMagicIsRefused() throws IOException {
    file.magic = 0x46554746;
    assertRefused(file.write(tmp.resolve("m.gguf")), "bad magic", "not a GGUF file");
  }

  @Test
  void unsupportedVersionIsRefused() throws IOException {
    file.version = 1;
    assertRefused(file.write(tmp.resolve("v.gguf")), "GGUF version 1");
  }

  @Test
  void fileCutInsideTheHeaderIsRefused() throws IOException {
    Path path = file.write(tmp.resolve("cut.gguf"));
    TestFiles.setLength(path, 2_000_000);
    assertRefused(path, "truncated");
  }

  @Test
  void fileCutInsideTheDataIsRefusedNamingTheTensor() throws IOException {
    Path path = file.write(tmp.resolve("cut.gguf"));
    TestFiles.setLength(path, Files.size(path) - 100);
    assertRefused(path, "tensor 'output.weight'", "truncated");
  }

  @Test
  void tensorBeyondTheDataSectionIsRefused() throws IOException {
    file.tensor("blk.0.attn_qkv.weight").offset = 1L << 40;
    assertRefused(
        file.write(tmp.resolve("o.gguf")), "tensor 'blk.0.attn_qkv.weight'", "data section");
  }

  @Test
  void overlappingTensorsAreRefused() throws IOException {
    file.tensor("blk.0.attn_output.weight").offset = 0L;
    assertRefused(file.write(tmp.resolve("o.gguf")), "overlaps");
  }

  @Test
  void unknownTypeIsRefusedByName() throws IOException {
    file.tensor("blk.1.attn_qkv.weight").type = 3;
    assertRefused(
        file.write(tmp.resolve("t.gguf")), "tensor 'blk.1.attn_qkv.weight'", "ggml type 3 (Q4_1)");
  }

  @Test
  void dimsThatOverflowAreRefused() throws IOException {
    file.tensor("output_norm.weight").ne = new long[] {1L << 40, 1L << 40};
    assertRefused(file.write(tmp.resolve("d.gguf")), "tensor 'output_norm.weight'", "overflow");
    // Elements that fit in a long, bytes (four per F32) that do not.
    file.tensor("output_norm.weight").ne = new long[] {1L << 62};
    assertRefused(file.write(tmp.resolve("b.gguf")), "tensor 'output_norm.weight'", "overflow");
  }

  @Test
  void rowThatIsNotWholeBlocksIsRefused() throws IOException {
    GgufBuilder.Entry qkv = file.tensor("blk.0.attn_qkv.weight");
    qkv.ne = new long[] {48, qkv.ne[1]};
    assertRefused(
        file.write(tmp.resolve("r.gguf")),
        "tensor 'blk.0.attn_qkv.weight'",
        "row length 48",
        "block size 32");
  }

  @Test
  void missingTensorIsRefusedByItsGgufName() throws IOException {
    file.tensors.remove(file.tensor("blk.1.ffn_down_exps.weight"));
    assertRefused(
        file.write(tmp.resolve("x.gguf")), "tensor 'blk.1.ffn_down_exps.weight'", "missing");
  }

  @Test
  void shapeThatDoesNotFitTheMetadataIsRefused() throws IOException {
    file.metadata.put("dbrx.feed_forward_length", 64L);
    assertRefused(
        file.write(tmp.resolve("s.gguf")),
        "tensor 'blk.0.ffn_gate_exps.weight'",
        "[16, 96, 64] but the GGUF metadata implies [16, 64, 64]");
  }

  @Test
  void missingOrMistypedKeyIsRefusedByName() throws IOException {
    file.metadata.remove("dbrx.expert_count");
    assertRefused(file.write(tmp.resolve("k.gguf")), "'dbrx.expert_count'", "missing");
    file = GgufBuilder.copyOf(golden("q4_0"));
    file.metadata.put("dbrx.block_count", "two");
    assertRefused(file.write(tmp.resolve("k2.gguf")), "'dbrx.block_count'", "not an integer");
  }

  @Test
  void moreBlocksThanTheTensorsHoldAreRefusedBeforeTheyAreListed() throws IOException {
    // Two billion blocks: listing their tensors' names alone would run out of memory.
    file.metadata.put("dbrx.block_count", (long) Integer.MAX_VALUE);
    assertRefused(
        file.write(tmp.resolve("n.gguf")),
        "2147483647 layers (dbrx.block_count), but the checkpoint holds only 19 tensors");
  }

  @Test
  void otherArchitectureIsRefused() throws IOException {
    file.metadata.put("general.architecture", "llama");
    assertRefused(file.write(tmp.resolve("a.gguf")), "general.architecture is 'llama'");
  }

  @Test
  void otherVocabularyIsRefusedAtTheFirstDifferentToken() throws IOException {
    List<Object> tokens = new ArrayList<>((List<?>) file.metadata.get(GgufLayout.TOKENS));
    tokens.set(9906, "Hullo");
    file.metadata.put(GgufLayout.TOKENS, tokens);
    assertRefused(
        file.write(tmp.resolve("vocab.gguf")),
        "tokenizer.ggml.tokens[9906] is 'Hullo'",
        "where the DBRX tokenizer has 'Hello'");
    tokens.set(9906, "Hello");
    tokens.set(100279, "<|end|>");
    assertRefused(file.write(tmp.resolve("special.gguf")), "[100279] is '<|end|>'", "'<|im_end|>'");
  }

  @Test
  void typesTheRuntimeReadsAreKnownByGgmlId() {
    assertEquals(DType.Q8_0, DType.ofGgmlType(8));
    assertEquals(DType.Q4_0, DType.ofGgmlType(2));
    assertEquals(DType.BF16, DType.ofGgmlType(30));
    assertEquals(DType.Q4_K, DType.ofGgmlType(12));
    assertEquals(DType.Q5_K, DType.ofGgmlType(13));
    assertEquals(DType.Q6_K, DType.ofGgmlType(14));
    assertNull(DType.ofGgmlType(3));
  }

  private static void assertRefused(Path path, String... parts) {
    CheckpointFormatException e =
        assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(path).close());
    assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
    for (String part : parts) {
      assertTrue(e.getMessage().contains(part), "'" + part + "' not in: " + e.getMessage());
    }
  }
}
