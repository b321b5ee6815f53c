package org.dbrxspark.runtime.checkpoint;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/**
 * Writes a Hugging Face DBRX checkpoint as a GGUF file in the layout and naming llama.cpp's
 * converter uses, with the norms and routers in F32 (as llama.cpp keeps them) and the large
 * matrices in the types of a {@link FileType}: one type for all of them, or llama.cpp's Q4_K_M or
 * Q5_K_M mix of K-quants. A matrix whose rows are not whole blocks of its type (an ffn size that is
 * not a multiple of 256 or 32, say) falls back to Q8_0, or to BF16 if they are not whole blocks of
 * 32 either.
 *
 * <p>Tensors are streamed: a few MB of rows at a time, and one expert's down-projection at a time
 * for the transpose GGUF wants, so memory stays far under 2 GB for any model size. Each chunk is
 * quantized by several threads, each into its own span of the chunk's bytes, so the file does not
 * depend on how many there are.
 */
public final class GgufQuantizer {
  private GgufQuantizer() {}

  /** Floats converted per chunk: 16 MB. */
  private static final int CHUNK_FLOATS = 4 << 20;

  private static final Pattern LAYER_TENSOR = Pattern.compile("blk\\.(\\d+)\\.(.+)");

  /**
   * What {@code quantize --type} writes, with llama.cpp's {@code llama_ftype} id, which the file
   * records as {@code general.file_type}. The single types are written as llama.cpp's converter
   * writes them, every matrix in that type; the K-quant mixes as llama.cpp's {@code llama-quantize}
   * writes them (see {@link #matrixType}).
   */
  public enum FileType {
    Q8_0(DType.Q8_0, 7),
    Q4_0(DType.Q4_0, 2),
    Q4_K_M(DType.Q4_K, 15),
    Q5_K_M(DType.Q5_K, 17),
    BF16(DType.BF16, 32),
    F16(DType.F16, 1),
    F32(DType.F32, 0);

    private final DType base;
    private final int llamaFtype;

    FileType(DType base, int llamaFtype) {
      this.base = base;
      this.llamaFtype = llamaFtype;
    }

    /** The name {@code --type} takes, e.g. {@code q4_k_m}. */
    public String cliName() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** "q8_0, q4_0, ..., f16 or f32": the names, for help and errors. */
    public static String choices() {
      List<String> names = Arrays.stream(values()).map(FileType::cliName).toList();
      return String.join(", ", names.subList(0, names.size() - 1))
          + " or "
          + names.get(names.size() - 1);
    }

    /** The type named {@code name} ({@link #cliName}, any case), or null. */
    public static FileType named(String name) {
      for (FileType t : values()) {
        if (t.cliName().equalsIgnoreCase(name)) {
          return t;
        }
      }
      return null;
    }
  }

  /**
   * What was written: the files (one, or the parts of a split model, the first to open first),
   * their bytes, the type, and each matrix that fell back to another type than {@link #matrixType}
   * chose (its rows not whole blocks of that type), with the type it was written in. {@code
   * earlier}: files of an earlier write to the same output that the new files did not replace (a
   * whole file beside new parts, or parts of another count), left in place.
   */
  public record Summary(
      List<Path> files,
      long bytes,
      FileType type,
      Map<String, DType> fallbacks,
      List<Path> earlier) {
    /** The file to open: the only one, or the first part. */
    public Path file() {
      return files.get(0);
    }
  }

  /**
   * Writes {@code source} to {@code output} with its matrices in the types {@code type} gives them.
   *
   * @throws IllegalArgumentException if the model cannot be expressed in GGUF (a router p-norm
   *     other than 1, an activation other than SiLU, a vocabulary that is not DBRX's)
   */
  public static Summary write(Checkpoint source, FileType type, Path output, int threads)
      throws IOException {
    return write(source, type, output, threads, Long.MAX_VALUE);
  }

  /**
   * As {@link #write(Checkpoint, FileType, Path, int)}, in parts of at most {@code maxPartBytes} of
   * tensor data each when the model is larger, named and keyed as llama.cpp's gguf-split writes
   * them: {@code NAME-00001-of-0000N.gguf} and on for an {@code output} of {@code NAME.gguf}.
   */
  public static Summary write(
      Checkpoint source, FileType type, Path output, int threads, long maxPartBytes)
      throws IOException {
    DbrxConfig c = source.config();
    checkExpressible(c);
    GgufWriter w = new GgufWriter();
    w.putString("general.architecture", "dbrx");
    w.putString("general.name", source.location().getFileName().toString());
    w.putUint32(GgufFile.ALIGNMENT_KEY, GgufWriter.ALIGNMENT);
    w.putUint32("general.file_type", type.llamaFtype);
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
    Map<String, DType> fallbacks = new LinkedHashMap<>();
    try (ParallelEncoder encoder = new ParallelEncoder(threads)) {
      for (Map.Entry<String, String> names : GgufLayout.tensorNames(c.nLayers()).entrySet()) {
        Tensor tensor = source.tensor(names.getKey());
        long[] shape = shapes.get(names.getKey());
        DType chosen = chosenType(names.getKey(), names.getValue(), shape, type, c);
        DType stored = fitting(chosen, shape[shape.length - 1]);
        if (stored != chosen) {
          fallbacks.put(names.getValue(), stored);
        }
        boolean transposed = names.getKey().endsWith(".w2");
        w.addTensor(
            names.getValue(),
            shape,
            stored,
            out -> {
              if (transposed) {
                writeTransposedExperts(tensor, c, stored, out, encoder);
              } else {
                writeRows(tensor, stored, out, encoder);
              }
            });
      }
      List<Path> files = w.write(output, maxPartBytes);
      long bytes = 0;
      for (Path f : files) {
        bytes += Files.size(f);
      }
      return new Summary(files, bytes, type, fallbacks, GgufParts.earlierOutputs(output, files));
    }
  }

  /**
   * Bytes of the tensors {@link #write} writes for a model of {@code c} in {@code type}: the
   * weights of a memory plan made from a config alone.
   */
  public static long weightBytes(DbrxConfig c, FileType type) {
    Map<String, long[]> shapes = GgufLayout.expectedShapes(c);
    long total = 0;
    for (Map.Entry<String, String> names : GgufLayout.tensorNames(c.nLayers()).entrySet()) {
      long[] shape = shapes.get(names.getKey());
      long elements = 1;
      for (long d : shape) {
        elements = Math.multiplyExact(elements, d);
      }
      DType stored =
          fitting(
              chosenType(names.getKey(), names.getValue(), shape, type, c),
              shape[shape.length - 1]);
      total = Math.addExact(total, stored.bytesFor(elements));
    }
    return total;
  }

  /** The type a tensor gets: norms and the small routers stay F32, as llama.cpp keeps them. */
  private static DType chosenType(
      String hfName, String ggufName, long[] shape, FileType type, DbrxConfig c) {
    boolean keptInF32 = shape.length == 1 || hfName.endsWith(".router.layer.weight");
    return keptInF32 ? DType.F32 : matrixType(type, ggufName, c);
  }

  private static void checkExpressible(DbrxConfig c) {
    if (c.moeNormalizeExpertWeights() == null || c.moeNormalizeExpertWeights() != 1.0) {
      throw new IllegalArgumentException(
          "ffn_config.moe_normalize_expert_weights is "
              + c.moeNormalizeExpertWeights()
              + "; GGUF has no key for it and llama.cpp always uses 1 (DBRX's value)");
    }
    if (c.activation() != DbrxConfig.Activation.SILU) {
      throw new IllegalArgumentException(
          "ffn_config.ffn_act_fn is " + c.activation().hfName() + "; GGUF DBRX models use SiLU");
    }
    if (c.vocabSize() < DbrxTokenizer.shared().vocabularySize()) {
      throw new IllegalArgumentException(
          "vocab_size "
              + c.vocabSize()
              + " is smaller than the DBRX vocabulary ("
              + DbrxTokenizer.shared().vocabularySize()
              + " tokens), which a GGUF file of this model must carry");
    }
  }

  /**
   * The type {@code type} gives the matrix {@code ggufName}. For Q4_K_M and Q5_K_M these are the
   * choices of llama.cpp's {@code llama_tensor_get_type} (src/llama-quant.cpp, as bundled with
   * node-llama-cpp 3.21.1) for DBRX without an importance matrix, where the mix's base type is Q4_K
   * or Q5_K:
   *
   * <ul>
   *   <li>{@code output}: Q6_K.
   *   <li>{@code attn_qkv} (an "attn_v-like" tensor there): Q6_K in the {@link #useMoreBits}
   *       layers; Q8_0 in every layer of a model with exactly 8 experts (DBRX has 16).
   *   <li>{@code ffn_down_exps}: Q6_K in the {@link #useMoreBits} layers.
   *   <li>{@code attn_output}: Q5_K in a Q4_K_M file of a model with exactly 8 experts.
   *   <li>everything else ({@code token_embd}, which DBRX does not tie to {@code output}, {@code
   *       ffn_gate_exps}, {@code ffn_up_exps}): the base type.
   * </ul>
   *
   * <p>Older llama.cpp versions, before its tensor categories (e.g. commit 8784689f), gave {@code
   * attn_qkv} Q5_K (Q4_K_M) or Q6_K (Q5_K_M) in every layer.
   */
  static DType matrixType(FileType type, String ggufName, DbrxConfig c) {
    if (type != FileType.Q4_K_M && type != FileType.Q5_K_M) {
      return type.base;
    }
    if (ggufName.equals("output.weight")) {
      return DType.Q6_K;
    }
    Matcher m = LAYER_TENSOR.matcher(ggufName);
    if (!m.matches()) {
      return type.base;
    }
    boolean moreBits = useMoreBits(Integer.parseInt(m.group(1)), c.nLayers());
    boolean eightExperts = c.moeNumExperts() == 8;
    return switch (m.group(2)) {
      case "attn_qkv.weight" -> eightExperts ? DType.Q8_0 : moreBits ? DType.Q6_K : type.base;
      case "ffn_down_exps.weight" -> moreBits ? DType.Q6_K : type.base;
      case "attn_output.weight" -> eightExperts && type == FileType.Q4_K_M ? DType.Q5_K : type.base;
      default -> type.base;
    };
  }

  /**
   * llama.cpp's {@code use_more_bits}: the first and last eighth of the layers, and every third
   * between.
   */
  static boolean useMoreBits(int layer, int layers) {
    return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
  }

  /**
   * {@code type}, or what a row of {@code cols} weights falls back to when it is not whole blocks
   * of it: Q8_0, then BF16. llama.cpp's {@code tensor_type_fallback} takes Q5_0 for Q4_K and Q5_1
   * for Q5_K, which this writer does not write; Q8_0 (its choice for Q6_K) spends more bits, never
   * fewer. Where a row is not whole blocks of 32, llama.cpp takes F16, and this writer BF16 as for
   * its single-type files.
   */
  private static DType fitting(DType type, long cols) {
    if (cols % type.blockSize() == 0) {
      return type;
    }
    return cols % DType.Q8_0.blockSize() == 0 ? DType.Q8_0 : DType.BF16;
  }

  /** The tensor's rows as they are, converted a chunk at a time. */
  private static void writeRows(
      Tensor tensor, DType stored, OutputStream out, ParallelEncoder encoder) throws IOException {
    int cols = tensor.cols();
    int rowsPerChunk = (int) Math.max(1, Math.min(tensor.rows(), CHUNK_FLOATS / cols));
    float[] floats = new float[rowsPerChunk * cols];
    for (long row = 0; row < tensor.rows(); row += rowsPerChunk) {
      int rows = (int) Math.min(rowsPerChunk, tensor.rows() - row);
      tensor.readRows(row, rows, floats, 0);
      encoder.encode(floats, rows, cols, stored, out);
    }
  }

  /** w2 is [experts * ffn, d_model]; GGUF wants each expert's [ffn, d_model] transposed. */
  private static void writeTransposedExperts(
      Tensor w2, DbrxConfig c, DType stored, OutputStream out, ParallelEncoder encoder)
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
      encoder.encode(transposed, d, ffn, stored, out);
    }
  }

  /**
   * Quantizes whole rows on a few threads; a block never spans two rows, so each slice stands
   * alone.
   */
  private static final class ParallelEncoder implements AutoCloseable {
    private final int threads;
    private final ExecutorService pool;

    ParallelEncoder(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException("threads must be at least 1, not " + threads);
      }
      this.threads = threads;
      this.pool =
          threads == 1
              ? null
              : Executors.newFixedThreadPool(
                  threads,
                  r -> {
                    Thread t = new Thread(r, "gguf-quantize");
                    t.setDaemon(true);
                    return t;
                  });
    }

    /** Writes {@code rows} rows of {@code cols} floats from the start of {@code floats}. */
    void encode(float[] floats, int rows, int cols, DType stored, OutputStream out)
        throws IOException {
      byte[] bytes = new byte[Math.toIntExact(stored.bytesFor((long) rows * cols))];
      int slices = Math.min(threads, rows);
      if (slices == 1) {
        fill(bytes, floats, 0, rows, cols, stored);
      } else {
        List<Callable<Object>> work = new ArrayList<>(slices);
        for (int s = 0; s < slices; s++) {
          int first = (int) ((long) rows * s / slices);
          int end = (int) ((long) rows * (s + 1) / slices);
          work.add(Executors.callable(() -> fill(bytes, floats, first, end, cols, stored)));
        }
        try {
          for (Future<Object> done : pool.invokeAll(work)) {
            done.get();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("quantizing was interrupted");
        } catch (ExecutionException e) {
          throw e.getCause() instanceof RuntimeException r
              ? r
              : new IllegalStateException(e.getCause());
        }
      }
      out.write(bytes);
    }

    /** Encodes rows {@code [first, end)} into their own span of {@code bytes}. */
    private static void fill(
        byte[] bytes, float[] floats, int first, int end, int cols, DType stored) {
      ByteBuffer span = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
      span.position(Math.toIntExact(stored.bytesFor((long) first * cols)));
      stored.put(floats, first * cols, (end - first) * cols, span);
    }

    @Override
    public void close() {
      if (pool != null) {
        pool.shutdownNow();
      }
    }
  }
}
