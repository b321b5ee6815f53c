package org.dbrxspark.runtime.checkpoint;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/**
 * Writes a Hugging Face DBRX checkpoint as a GGUF file in the layout and naming llama.cpp's
 * converter uses, with the large matrices in one type and the norms and routers in F32 (as
 * llama.cpp keeps them). A matrix whose rows are not whole blocks of the type (an ffn size that
 * is not a multiple of 32, say) is written in BF16 instead.
 *
 * <p>Tensors are streamed: a few MB of rows at a time, and one expert's down-projection at a
 * time for the transpose GGUF wants, so memory stays far under 2 GB for any model size.
 */
public final class GgufQuantizer {
  private GgufQuantizer() {}

  /** Floats converted per chunk: 16 MB. */
  private static final int CHUNK_FLOATS = 4 << 20;

  /** What was written: the file, its bytes, and the tensors that fell back to BF16. */
  public record Summary(Path file, long bytes, DType type, List<String> fallbacks) {}

  /** The types {@code quantize} writes: the element types, Q8_0 and Q4_0. */
  public static List<DType> writableTypes() {
    return List.of(DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0);
  }

  /**
   * Writes {@code source} to {@code output} with its matrices in {@code type}.
   *
   * @throws IllegalArgumentException if the model cannot be expressed in GGUF (a router p-norm
   *     other than 1, an activation other than SiLU, a vocabulary that is not DBRX's) or the type
   *     cannot be written
   */
  public static Summary write(Checkpoint source, DType type, Path output) throws IOException {
    if (!writableTypes().contains(type)) {
      throw new IllegalArgumentException("cannot write " + type + " tensors (writable: " + writableTypes() + ")");
    }
    DbrxConfig c = source.config();
    checkExpressible(c);
    GgufWriter w = new GgufWriter();
    w.putString("general.architecture", "dbrx");
    w.putString("general.name", source.location().getFileName().toString());
    w.putUint32(GgufFile.ALIGNMENT_KEY, GgufWriter.ALIGNMENT);
    w.putUint32("general.file_type", fileType(type));
    w.putUint32("dbrx.block_count", c.nLayers());
    w.putUint32("dbrx.context_length", c.maxSeqLen());
    w.putUint32("dbrx.embedding_length", c.dModel());
    w.putUint32("dbrx.feed_forward_length", c.ffnHiddenSize());
    w.putUint32("dbrx.attention.head_count", c.nHeads());
    w.putUint32("dbrx.attention.head_count_kv", c.kvNHeads());
    w.putFloat32("dbrx.rope.freq_base", c.ropeTheta());
    w.putFloat32("dbrx.attention.clamp_kqv", c.clipQkv() == null ? 0 : c.clipQkv());
    w.putUint32("dbrx.expert_count", c.moeNumExperts());
    w.putUint32("dbrx.expert_used_count", c.moeTopK());
    w.putFloat32("dbrx.attention.layer_norm_epsilon", DbrxConfig.LAYER_NORM_EPS);
    w.putUint32("dbrx.vocab_size", c.vocabSize());
    GgufLayout.putVocabulary(w, c.vocabSize());

    Map<String, long[]> shapes = GgufLayout.expectedShapes(c);
    List<String> fallbacks = new ArrayList<>();
    for (Map.Entry<String, String> names : GgufLayout.tensorNames(c.nLayers()).entrySet()) {
      Tensor tensor = source.tensor(names.getKey());
      long[] shape = shapes.get(names.getKey());
      long cols = shape[shape.length - 1];
      // Norms and the small routers stay F32, as llama.cpp keeps them.
      boolean keptInF32 = shape.length == 1 || names.getKey().endsWith(".router.layer.weight");
      DType stored = keptInF32 ? DType.F32 : cols % type.blockSize() == 0 ? type : DType.BF16;
      if (!keptInF32 && stored != type) {
        fallbacks.add(names.getValue());
      }
      boolean transposed = names.getKey().endsWith(".w2");
      w.addTensor(names.getValue(), shape, stored, out -> {
        if (transposed) {
          writeTransposedExperts(tensor, c, stored, out);
        } else {
          writeRows(tensor, stored, out);
        }
      });
    }
    w.write(output);
    return new Summary(output.toAbsolutePath(), Files.size(output), type, fallbacks);
  }

  private static void checkExpressible(DbrxConfig c) {
    if (c.moeNormalizeExpertWeights() == null || c.moeNormalizeExpertWeights() != 1.0) {
      throw new IllegalArgumentException("ffn_config.moe_normalize_expert_weights is "
          + c.moeNormalizeExpertWeights() + "; GGUF has no key for it and llama.cpp always uses 1 (DBRX's value)");
    }
    if (c.activation() != DbrxConfig.Activation.SILU) {
      throw new IllegalArgumentException("ffn_config.ffn_act_fn is " + c.activation().hfName()
          + "; GGUF DBRX models use SiLU");
    }
    if (c.vocabSize() < DbrxTokenizer.shared().vocabularySize()) {
      throw new IllegalArgumentException("vocab_size " + c.vocabSize() + " is smaller than the DBRX vocabulary ("
          + DbrxTokenizer.shared().vocabularySize()
          + " tokens), which a GGUF file of this model must carry");
    }
  }

  /** llama.cpp's {@code llama_ftype} for a file whose matrices are mostly {@code type}. */
  private static int fileType(DType type) {
    return switch (type) {
      case F32 -> 0;
      case F16 -> 1;
      case Q4_0 -> 2;
      case Q8_0 -> 7;
      case BF16 -> 32;
      default -> throw new IllegalArgumentException(type.toString());
    };
  }

  /** The tensor's rows as they are, converted a chunk at a time. */
  private static void writeRows(Tensor tensor, DType stored, OutputStream out) throws IOException {
    int cols = tensor.cols();
    int rowsPerChunk = (int) Math.max(1, Math.min(tensor.rows(), CHUNK_FLOATS / cols));
    float[] floats = new float[rowsPerChunk * cols];
    for (long row = 0; row < tensor.rows(); row += rowsPerChunk) {
      int rows = (int) Math.min(rowsPerChunk, tensor.rows() - row);
      tensor.readRows(row, rows, floats, 0);
      encode(floats, rows * cols, stored, out);
    }
  }

  /** w2 is [experts * ffn, d_model]; GGUF wants each expert's [ffn, d_model] transposed. */
  private static void writeTransposedExperts(Tensor w2, DbrxConfig c, DType stored, OutputStream out)
      throws IOException {
    int ffn = c.ffnHiddenSize();
    int d = c.dModel();
    float[] expert = new float[ffn * d];
    float[] transposed = new float[ffn * d];
    for (int e = 0; e < c.moeNumExperts(); e++) {
      w2.readRows((long) e * ffn, ffn, expert, 0);
      for (int i = 0; i < ffn; i++) {
        for (int j = 0; j < d; j++) {
          transposed[j * ffn + i] = expert[i * d + j];
        }
      }
      encode(transposed, ffn * d, stored, out);
    }
  }

  private static void encode(float[] floats, int count, DType stored, OutputStream out) throws IOException {
    ByteBuffer bytes = ByteBuffer.allocate(Math.toIntExact(stored.bytesFor(count))).order(ByteOrder.LITTLE_ENDIAN);
    stored.put(floats, count, bytes);
    out.write(bytes.array(), 0, bytes.position());
  }
}
