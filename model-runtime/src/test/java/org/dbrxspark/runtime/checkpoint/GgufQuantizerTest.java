package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.config.Presets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@code quantize}: Hugging Face checkpoints written as GGUF files that read back as the same model. */
class GgufQuantizerTest {
  @TempDir Path tmp;

  @Test
  void vocabularyIsWrittenAsLlamaCppsConverterWritesIt() throws IOException {
    // The golden file's vocabulary came from the reference converter and tiktoken's own ranks.
    Path source = tmp.resolve("tiny");
    CheckpointWriter.writeRandom(source, Presets.named("tiny"), 1, DType.BF16, 1);
    Path written = tmp.resolve("tiny.gguf");
    try (Checkpoint ckpt = Checkpoint.open(source)) {
      GgufQuantizer.write(ckpt, DType.Q8_0, written);
    }
    try (GgufFile ours = GgufFile.open(written);
        GgufFile reference = GgufFile.open(GgufCheckpointTest.golden("q8_0"))) {
      for (String key : List.of("tokenizer.ggml.model", "tokenizer.ggml.pre", GgufLayout.TOKENS,
          "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id",
          "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id")) {
        assertEquals(reference.metadata().get(key), ours.metadata().get(key), key);
      }
      assertEquals(100_000, ((List<?>) ours.metadata().get("tokenizer.ggml.merges")).size());
    }
  }

  @ParameterizedTest
  @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0", "BF16"})
  void everyTensorReadsBackWithinItsTypesRounding(DType type) throws IOException {
    DbrxConfig config = Presets.named("tiny");
    Path source = tmp.resolve("src");
    CheckpointWriter.writeRandom(source, config, 7, DType.F32, 1);
    Path written = tmp.resolve("model.gguf");
    try (Checkpoint hf = Checkpoint.open(source)) {
      GgufQuantizer.Summary summary = GgufQuantizer.write(hf, type, written);
      assertEquals(List.of(), summary.fallbacks());
      try (Checkpoint gguf = Checkpoint.open(written)) {
        assertEquals(withoutDtype(hf.config().toJson()), withoutDtype(gguf.config().toJson()));
        for (String name : TensorLayout.expectedShapes(config).keySet()) {
          Tensor expected = hf.tensor(name);
          Tensor got = gguf.tensor(name);
          boolean keptInF32 = expected.rows() == 1 || name.endsWith(".router.layer.weight");
          assertEquals(keptInF32 ? DType.F32 : type, got.dtype(), name);
          float[] want = expected.toFloatArray();
          float[] have = got.toFloatArray();
          if (name.endsWith(".w2")) {
            want = transposeExperts(want, config);
          }
          assertWithinRounding(want, have, got.dtype(), name);
        }
      }
    }
  }

  @Test
  void rowsThatAreNotWholeBlocksFallBackToBf16() throws IOException {
    // ffn 48: the down-projection's rows (48 long in GGUF) are not whole Q4_0 blocks of 32.
    DbrxConfig base = Presets.named("tiny");
    DbrxConfig config = new DbrxConfig(base.dModel(), base.nHeads(), base.nLayers(), base.maxSeqLen(),
        base.vocabSize(), base.kvNHeads(), base.clipQkv(), base.ropeTheta(), 48, base.moeNumExperts(),
        base.moeTopK(), 1.0, base.activation(), "bfloat16");
    Path source = tmp.resolve("src");
    CheckpointWriter.writeRandom(source, config, 7, DType.BF16, 1);
    try (Checkpoint hf = Checkpoint.open(source)) {
      GgufQuantizer.Summary summary = GgufQuantizer.write(hf, DType.Q4_0, tmp.resolve("m.gguf"));
      assertEquals(List.of("blk.0.ffn_down_exps.weight", "blk.1.ffn_down_exps.weight"), summary.fallbacks());
    }
    try (Checkpoint gguf = Checkpoint.open(tmp.resolve("m.gguf"))) {
      assertEquals(DType.BF16, gguf.tensor(TensorLayout.w2(0)).dtype());
      assertEquals(DType.Q4_0, gguf.tensor(TensorLayout.w1(0)).dtype());
    }
  }

  @Test
  void aModelGgufCannotExpressIsRefusedBeforeAnyFileAppears() throws IOException {
    Path source = tmp.resolve("tiny-bf16");
    // vocab 1024: a GGUF of it could not carry DBRX's vocabulary.
    Path golden = TestFiles.golden("tiny-bf16");
    try (Checkpoint ckpt = Checkpoint.open(golden)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> GgufQuantizer.write(ckpt, DType.Q8_0, source));
      assertTrue(e.getMessage().contains("vocab_size 1024"), e.getMessage());
    }
    assertFalse(Files.exists(source));
  }

  @Test
  void aWriteThatFailsMidwayLeavesNoFile() throws IOException {
    GgufWriter w = new GgufWriter();
    w.putString("general.architecture", "dbrx");
    w.addTensor("a", new long[] {4}, DType.F32, out -> out.write(new byte[16]));
    w.addTensor("b", new long[] {4}, DType.F32, out -> out.write(new byte[8])); // 8 of its 16 bytes
    Path target = tmp.resolve("out.gguf");
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.write(target));
    assertTrue(e.getMessage().contains("tensor 'b': wrote 8 bytes"), e.getMessage());
    try (Stream<Path> left = Files.list(tmp)) {
      assertEquals(List.of(), left.toList(), "no file, complete or partial");
    }
  }

  /** The config's JSON less torch_dtype, which a GGUF file takes from its tensors. */
  private static String withoutDtype(String json) {
    return json.replaceAll("\"torch_dtype\"\\s*:\\s*\"[^\"]*\"", "");
  }

  /** HF's w2 is [experts * ffn, d]; GGUF's [experts, d, ffn]. */
  private static float[] transposeExperts(float[] w2, DbrxConfig c) {
    int ffn = c.ffnHiddenSize();
    int d = c.dModel();
    float[] out = new float[w2.length];
    for (int e = 0; e < c.moeNumExperts(); e++) {
      for (int i = 0; i < ffn; i++) {
        for (int j = 0; j < d; j++) {
          out[e * ffn * d + j * ffn + i] = w2[e * ffn * d + i * d + j];
        }
      }
    }
    return out;
  }

  /**
   * Element types round once (relative 2^-8 for BF16); a block keeps every weight within half a
   * code step of its scale, d = amax/127 (Q8_0) or max/8 (Q4_0), plus the f16 rounding of d.
   */
  private static void assertWithinRounding(float[] want, float[] have, DType type, String name) {
    assertEquals(want.length, have.length, name);
    if (type == DType.F32) {
      assertArrayEquals(want, have, name);
      return;
    }
    if (!type.isQuantized()) {
      for (int i = 0; i < want.length; i++) {
        assertEquals(want[i], have[i], Math.abs(want[i]) * 0x1p-8, name + "[" + i + "]");
      }
      return;
    }
    for (int b = 0; b < want.length / 32; b++) {
      float amax = 0;
      for (int j = 0; j < 32; j++) {
        amax = Math.max(amax, Math.abs(want[b * 32 + j]));
      }
      double step = type == DType.Q8_0 ? amax / 127 : amax / 8;
      // Half a step, a full step where Q4_0 clips at 15, and the scale's f16 rounding over 127 codes.
      double bound = (type == DType.Q4_0 ? 1.0 : 0.5) * step + 127 * step * 0x1p-11;
      for (int j = 0; j < 32; j++) {
        int i = b * 32 + j;
        assertEquals(want[i], have[i], bound, name + "[" + i + "]");
      }
    }
  }
}
