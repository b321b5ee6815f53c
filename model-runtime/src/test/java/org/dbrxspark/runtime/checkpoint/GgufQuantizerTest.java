package org.dbrxspark.runtime.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.dbrxspark.runtime.checkpoint.GgufQuantizer.FileType;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.config.Presets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code quantize}: Hugging Face checkpoints written as GGUF files that read back as the same
 * model.
 */
class GgufQuantizerTest {
  @TempDir Path tmp;

  @Test
  void vocabularyIsWrittenAsLlamaCppsConverterWritesIt() throws IOException {
    // The golden file's vocabulary came from the reference converter and tiktoken's own ranks.
    Path source = tmp.resolve("tiny");
    CheckpointWriter.writeRandom(source, Presets.named("tiny"), 1, DType.BF16, 1);
    Path written = tmp.resolve("tiny.gguf");
    try (Checkpoint ckpt = Checkpoint.open(source)) {
      GgufQuantizer.write(ckpt, GgufQuantizer.FileType.Q8_0, written, 2);
    }
    try (GgufFile ours = GgufFile.open(written);
        GgufFile reference = GgufFile.open(GgufCheckpointTest.golden("q8_0"))) {
      for (String key :
          List.of(
              "tokenizer.ggml.model",
              "tokenizer.ggml.pre",
              GgufLayout.TOKENS,
              "tokenizer.ggml.token_type",
              "tokenizer.ggml.merges",
              "tokenizer.ggml.bos_token_id",
              "tokenizer.ggml.eos_token_id",
              "tokenizer.ggml.padding_token_id")) {
        assertEquals(reference.metadata().get(key), ours.metadata().get(key), key);
      }
      assertEquals(100_000, ((List<?>) ours.metadata().get("tokenizer.ggml.merges")).size());
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = FileType.class,
      names = {"Q8_0", "Q4_0", "BF16", "Q4_K_M"})
  void everyTensorReadsBackWithinItsTypesRounding(FileType type) throws IOException {
    // K-quants need rows of whole 256-blocks: d_model and ffn 256; two layers, so that one of them
    // (the last) gets llama.cpp's extra bits. Quantizing its 51M embedding and output weights takes
    // most of 10 s, so Q5_K_M, which differs only in its base type, is left to
    // kQuantMixesFollowLlamaCppsTensorTypes and KQuantizersTest.
    DbrxConfig tiny = Presets.named("tiny");
    DbrxConfig config = type == FileType.Q4_K_M ? withSizes(tiny, 256, 4, 2, 256, 16) : tiny;
    Path source = tmp.resolve("src");
    CheckpointWriter.writeRandom(source, config, 7, DType.F32, 1);
    Path written = tmp.resolve("model.gguf");
    Map<String, String> ggufNames = GgufLayout.tensorNames(config.nLayers());
    try (Checkpoint hf = Checkpoint.open(source)) {
      GgufQuantizer.Summary summary = GgufQuantizer.write(hf, type, written, 3);
      assertEquals(Map.of(), summary.fallbacks());
      Path alone = tmp.resolve("one-thread.gguf");
      GgufQuantizer.write(hf, type, alone, 1);
      assertEquals(-1, Files.mismatch(written, alone), "the bytes do not depend on the threads");
      try (Checkpoint gguf = Checkpoint.open(written)) {
        // What a memory plan sizes from the config alone is what the file holds.
        assertEquals(gguf.totalBytes(), GgufQuantizer.weightBytes(config, type));
        assertEquals(withoutDtype(hf.config().toJson()), withoutDtype(gguf.config().toJson()));
        for (String name : TensorLayout.expectedShapes(config).keySet()) {
          Tensor expected = hf.tensor(name);
          Tensor got = gguf.tensor(name);
          boolean keptInF32 = expected.rows() == 1 || name.endsWith(".router.layer.weight");
          DType chosen = GgufQuantizer.matrixType(type, ggufNames.get(name), config);
          assertEquals(keptInF32 ? DType.F32 : chosen, got.dtype(), name);
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
  void rowsThatAreNotWholeBlocksFallBack() throws IOException {
    // d_model 64 and ffn 48: no row is whole 256-blocks, and the down-projection's rows (48 long
    // in GGUF) are not whole blocks of 32 either.
    DbrxConfig base = Presets.named("tiny");
    DbrxConfig config =
        withSizes(base, base.dModel(), base.nHeads(), base.nLayers(), 48, base.moeNumExperts());
    Path source = tmp.resolve("src");
    CheckpointWriter.writeRandom(source, config, 7, DType.BF16, 1);
    try (Checkpoint hf = Checkpoint.open(source)) {
      GgufQuantizer.Summary q40 =
          GgufQuantizer.write(hf, FileType.Q4_0, tmp.resolve("q4_0.gguf"), 2);
      assertEquals(
          Map.of(
              "blk.0.ffn_down_exps.weight", DType.BF16, "blk.1.ffn_down_exps.weight", DType.BF16),
          q40.fallbacks());
      // K-quants fall back to Q8_0, and to BF16 where that does not fit either.
      GgufQuantizer.Summary q4km =
          GgufQuantizer.write(hf, FileType.Q4_K_M, tmp.resolve("q4_k_m.gguf"), 2);
      Map<String, DType> expected = new LinkedHashMap<>();
      for (String name : GgufLayout.tensorNames(config.nLayers()).values()) {
        if (!name.endsWith("norm.weight") && !name.endsWith("ffn_gate_inp.weight")) {
          expected.put(name, name.endsWith("ffn_down_exps.weight") ? DType.BF16 : DType.Q8_0);
        }
      }
      assertEquals(expected, q4km.fallbacks());
    }
    try (Checkpoint q4km = Checkpoint.open(tmp.resolve("q4_k_m.gguf"))) {
      assertEquals(
          q4km.totalBytes(), GgufQuantizer.weightBytes(config, FileType.Q4_K_M), "with fallbacks");
    }
    try (Checkpoint gguf = Checkpoint.open(tmp.resolve("q4_0.gguf"))) {
      assertEquals(DType.BF16, gguf.tensor(TensorLayout.w2(0)).dtype());
      assertEquals(DType.Q4_0, gguf.tensor(TensorLayout.w1(0)).dtype());
    }
    try (GgufFile gguf = GgufFile.open(tmp.resolve("q4_k_m.gguf"))) {
      assertEquals(15L, ((Number) gguf.metadata().get("general.file_type")).longValue());
    }
  }

  /**
   * llama.cpp's Q4_K_M for the real DBRX (40 layers, 16 experts): Q6_K attention and
   * down-projections in layers 0-4, 35-39 and every third between (7, 10, ... 34), Q6_K output,
   * Q4_K elsewhere; with 8 experts, Q8_0 attention and Q5_K output projections.
   */
  @Test
  void kQuantMixesFollowLlamaCppsTensorTypes() {
    DbrxConfig base = Presets.named("tiny");
    DbrxConfig dbrx = withSizes(base, 6144, 48, 40, 10752, 16);
    List<Integer> moreBits = new ArrayList<>();
    for (int l = 0; l < 40; l++) {
      DType qkv = GgufQuantizer.matrixType(FileType.Q4_K_M, "blk." + l + ".attn_qkv.weight", dbrx);
      assertEquals(
          qkv,
          GgufQuantizer.matrixType(FileType.Q4_K_M, "blk." + l + ".ffn_down_exps.weight", dbrx));
      assertEquals(
          DType.Q4_K,
          GgufQuantizer.matrixType(FileType.Q4_K_M, "blk." + l + ".attn_output.weight", dbrx));
      assertEquals(
          DType.Q4_K,
          GgufQuantizer.matrixType(FileType.Q4_K_M, "blk." + l + ".ffn_up_exps.weight", dbrx));
      assertEquals(
          DType.Q5_K,
          GgufQuantizer.matrixType(FileType.Q5_K_M, "blk." + l + ".ffn_gate_exps.weight", dbrx));
      if (qkv == DType.Q6_K) {
        moreBits.add(l);
      } else {
        assertEquals(DType.Q4_K, qkv);
      }
    }
    assertEquals(
        List.of(0, 1, 2, 3, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 35, 36, 37, 38, 39),
        moreBits);
    assertEquals(DType.Q6_K, GgufQuantizer.matrixType(FileType.Q4_K_M, "output.weight", dbrx));
    assertEquals(DType.Q4_K, GgufQuantizer.matrixType(FileType.Q4_K_M, "token_embd.weight", dbrx));
    assertEquals(
        DType.Q5_K, GgufQuantizer.matrixType(FileType.Q5_K_M, "blk.5.attn_qkv.weight", dbrx));
    assertEquals(
        DType.Q6_K, GgufQuantizer.matrixType(FileType.Q5_K_M, "blk.4.attn_qkv.weight", dbrx));
    DbrxConfig eightExperts = withSizes(base, 6144, 48, 40, 10752, 8);
    assertEquals(
        DType.Q8_0,
        GgufQuantizer.matrixType(FileType.Q4_K_M, "blk.5.attn_qkv.weight", eightExperts));
    assertEquals(
        DType.Q5_K,
        GgufQuantizer.matrixType(FileType.Q4_K_M, "blk.5.attn_output.weight", eightExperts));
    assertEquals(
        DType.Q5_K,
        GgufQuantizer.matrixType(FileType.Q5_K_M, "blk.5.attn_output.weight", eightExperts));
    assertEquals(DType.Q8_0, GgufQuantizer.matrixType(FileType.Q8_0, "output.weight", dbrx));
  }

  @Test
  void aModelGgufCannotExpressIsRefusedBeforeAnyFileAppears() throws IOException {
    Path source = tmp.resolve("tiny-bf16");
    // vocab 1024: a GGUF of it could not carry DBRX's vocabulary.
    Path golden = TestFiles.golden("tiny-bf16");
    try (Checkpoint ckpt = Checkpoint.open(golden)) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> GgufQuantizer.write(ckpt, GgufQuantizer.FileType.Q8_0, source, 2));
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

  /** {@code base} with other sizes: kv heads half the heads. */
  private static DbrxConfig withSizes(
      DbrxConfig base, int dModel, int heads, int layers, int ffn, int experts) {
    return new DbrxConfig(
        dModel,
        heads,
        layers,
        base.maxSeqLen(),
        base.vocabSize(),
        heads / 2,
        base.clipQkv(),
        base.ropeTheta(),
        ffn,
        experts,
        base.moeTopK(),
        1.0,
        base.activation(),
        "bfloat16");
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
   * Element types round once (relative 2^-8 for BF16); a Q8_0 or Q4_0 block keeps every weight
   * within half a code step of its scale, d = amax/127 (Q8_0) or max/8 (Q4_0), plus the f16
   * rounding of d. K-quants: every 16th super-block must hold exactly the block DType.put writes
   * for its weights, which checks the rows and their order (re-quantizing all would double the
   * test's time), and the RMS error of the whole tensor stays within KQuantizersTest's bound.
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
    if (type.blockSize() == KQuants.BLOCK_SIZE) {
      int n = KQuants.BLOCK_SIZE;
      ByteBuffer block = ByteBuffer.allocate(type.blockBytes()).order(ByteOrder.LITTLE_ENDIAN);
      float[] requantized = new float[n];
      for (int from = 0; from < want.length; from += 16 * n) {
        block.clear();
        type.put(want, from, n, block);
        type.decode(block, 0, requantized, 0, n);
        assertArrayEquals(
            requantized, Arrays.copyOfRange(have, from, from + n), name + " block at " + from);
      }
      double squares = 0;
      double errors = 0;
      for (int i = 0; i < want.length; i++) {
        squares += want[i] * want[i];
        errors += (want[i] - have[i]) * (want[i] - have[i]);
      }
      double bound = KQuantizersTest.Kind.valueOf(type.name()).rmsError;
      assertTrue(
          errors <= bound * bound * squares,
          name + ": RMS error " + Math.sqrt(errors / squares) + " of the RMS");
      return;
    }
    for (int b = 0; b < want.length / 32; b++) {
      float amax = 0;
      for (int j = 0; j < 32; j++) {
        amax = Math.max(amax, Math.abs(want[b * 32 + j]));
      }
      double step = type == DType.Q8_0 ? amax / 127 : amax / 8;
      // Half a step, a full step where Q4_0 clips at 15, and the scale's f16 rounding over 127
      // codes.
      double bound = (type == DType.Q4_0 ? 1.0 : 0.5) * step + 127 * step * 0x1p-11;
      for (int j = 0; j < 32; j++) {
        int i = b * 32 + j;
        assertEquals(want[i], have[i], bound, name + "[" + i + "]");
      }
    }
  }
}
