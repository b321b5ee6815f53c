package org.dbrxspark.runtime.checkpoint;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.dbrxspark.runtime.tokenizer.SpecialTokens;

/**
 * DBRX as llama.cpp's converter writes it to GGUF: the {@code dbrx.*} metadata keys that describe
 * the architecture, the tensor names, and the check that the file's vocabulary is DBRX's.
 *
 * <p>The tensors hold the Hugging Face weights under other names, with one change of layout: the
 * expert down-projection {@code ffn_down_exps} is {@code [experts, d_model, ffn]}, each expert's
 * {@code w2} transposed, so its rows run along the ffn dimension like the other projections.
 */
final class GgufLayout {
  private GgufLayout() {}

  private static final String ARCH = "dbrx";
  static final String TOKENS = "tokenizer.ggml.tokens";

  /** GPT-2's byte-level alphabet: the character that stands for each byte in token strings. */
  private static final int[] BYTE_CHARS = new int[256];

  static {
    int next = 256;
    for (int b = 0; b < 256; b++) {
      boolean printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      BYTE_CHARS[b] = printable ? b : next++;
    }
  }

  /** The GGUF name of every tensor the runtime reads, keyed by its Hugging Face name. */
  static Map<String, String> tensorNames(int layers) {
    Map<String, String> names = new LinkedHashMap<>();
    names.put(TensorLayout.WTE, "token_embd.weight");
    for (int l = 0; l < layers; l++) {
      String blk = "blk." + l + ".";
      names.put(TensorLayout.norm1(l), blk + "attn_norm.weight");
      names.put(TensorLayout.wqkv(l), blk + "attn_qkv.weight");
      names.put(TensorLayout.outProj(l), blk + "attn_output.weight");
      names.put(TensorLayout.norm2(l), blk + "attn_output_norm.weight");
      names.put(TensorLayout.router(l), blk + "ffn_gate_inp.weight");
      names.put(TensorLayout.w1(l), blk + "ffn_gate_exps.weight");
      names.put(TensorLayout.v1(l), blk + "ffn_up_exps.weight");
      names.put(TensorLayout.w2(l), blk + "ffn_down_exps.weight");
    }
    names.put(TensorLayout.NORM_F, "output_norm.weight");
    names.put(TensorLayout.LM_HEAD, "output.weight");
    return names;
  }

  /** The shape each tensor must have in the file, row-major, keyed by its Hugging Face name. */
  static Map<String, long[]> expectedShapes(DbrxConfig c) {
    Map<String, long[]> shapes = TensorLayout.expectedShapes(c);
    long experts = c.moeNumExperts();
    for (int l = 0; l < c.nLayers(); l++) {
      shapes.put(TensorLayout.w1(l), new long[] {experts, c.ffnHiddenSize(), c.dModel()});
      shapes.put(TensorLayout.v1(l), new long[] {experts, c.ffnHiddenSize(), c.dModel()});
      shapes.put(TensorLayout.w2(l), new long[] {experts, c.dModel(), c.ffnHiddenSize()});
    }
    return shapes;
  }

  /**
   * The architecture the metadata describes. A GGUF file has no router p-norm (DBRX's is 1) and no
   * activation key (DBRX's experts use SiLU); a clamp of 0 means none, as in llama.cpp.
   */
  static DbrxConfig config(GgufParts file) throws CheckpointFormatException {
    Map<String, Object> meta = file.metadata();
    Object arch = meta.get("general.architecture");
    if (!ARCH.equals(arch)) {
      throw new CheckpointFormatException(
          file.path()
              + ": general.architecture is "
              + describe(arch)
              + ", not '"
              + ARCH
              + "'; this runtime reads DBRX models only");
    }
    double epsilon = number(file, ARCH + ".attention.layer_norm_epsilon");
    if ((float) epsilon != DbrxConfig.LAYER_NORM_EPS) {
      throw new CheckpointFormatException(
          file.path()
              + ": "
              + ARCH
              + ".attention.layer_norm_epsilon is "
              + epsilon
              + "; DBRX's LayerNorm uses "
              + DbrxConfig.LAYER_NORM_EPS);
    }
    double clamp = number(file, ARCH + ".attention.clamp_kqv");
    List<?> tokens = tokens(file);
    int vocab =
        meta.containsKey(ARCH + ".vocab_size")
            ? integer(file, ARCH + ".vocab_size")
            : tokens.size();
    DType bulk =
        file.tensors().containsKey("blk.0.ffn_gate_exps.weight")
            ? file.tensors().get("blk.0.ffn_gate_exps.weight").dtype()
            : DType.F32;
    try {
      return new DbrxConfig(
          integer(file, ARCH + ".embedding_length"),
          integer(file, ARCH + ".attention.head_count"),
          integer(file, ARCH + ".block_count"),
          integer(file, ARCH + ".context_length"),
          vocab,
          integer(file, ARCH + ".attention.head_count_kv"),
          clamp > 0 ? clamp : null,
          number(file, ARCH + ".rope.freq_base"),
          integer(file, ARCH + ".feed_forward_length"),
          integer(file, ARCH + ".expert_count"),
          integer(file, ARCH + ".expert_used_count"),
          1.0,
          DbrxConfig.Activation.SILU,
          bulk.torchName());
    } catch (IllegalArgumentException e) {
      throw new CheckpointFormatException(
          file.path()
              + ": the "
              + ARCH
              + ".* metadata describes an invalid model: "
              + e.getMessage(),
          e);
    }
  }

  /**
   * The runtime tokenizes with its own cl100k tokenizer, so the file's vocabulary must be that one:
   * as many entries as the model has rows, and every token the tokenizer knows spelled the same way
   * (byte-level strings as llama.cpp writes them, the specials as text).
   */
  static void checkVocabulary(GgufParts file, DbrxConfig config) throws CheckpointFormatException {
    List<?> tokens = tokens(file);
    if (tokens.size() != config.vocabSize()) {
      throw new CheckpointFormatException(
          file.path()
              + ": "
              + TOKENS
              + " has "
              + tokens.size()
              + " entries but the model has "
              + config.vocabSize()
              + " vocabulary rows");
    }
    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    if (tokens.size() < tokenizer.vocabularySize()) {
      throw new CheckpointFormatException(
          file.path()
              + ": "
              + TOKENS
              + " has "
              + tokens.size()
              + " entries; the DBRX vocabulary has "
              + tokenizer.vocabularySize());
    }
    for (int id = 0; id < tokenizer.vocabularySize(); id++) {
      String expected =
          SpecialTokens.isSpecial(id)
              ? SpecialTokens.textOf(id).orElseThrow()
              : tokenizer.isProducible(id) ? byteLevel(tokenizer.tokenBytes(id)) : null;
      if (expected != null && !expected.equals(tokens.get(id))) {
        throw new CheckpointFormatException(
            file.path()
                + ": "
                + TOKENS
                + "["
                + id
                + "] is "
                + describe(tokens.get(id))
                + " where the DBRX tokenizer has '"
                + expected
                + "': the file's vocabulary is not DBRX's");
      }
    }
  }

  /**
   * Writes DBRX's vocabulary as llama.cpp's converter does, so llama.cpp tokenizes as tiktoken
   * does: the byte-level token strings, the BPE merges recovered from the cl100k ranks, the
   * specials as control tokens, and {@code [PAD<id>]} for the rows past them.
   */
  static void putVocabulary(GgufWriter w, int vocabSize) {
    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    List<String> tokens = new ArrayList<>(vocabSize);
    int[] types = new int[vocabSize];
    Map<String, Integer> ranks = new HashMap<>();
    for (int id = 0; id < vocabSize; id++) {
      if (SpecialTokens.isSpecial(id)) {
        tokens.add(SpecialTokens.textOf(id).orElseThrow());
        types[id] = CONTROL;
      } else if (tokenizer.isProducible(id)) {
        byte[] bytes = tokenizer.tokenBytes(id);
        tokens.add(byteLevel(bytes));
        types[id] = NORMAL;
        ranks.put(new String(bytes, StandardCharsets.ISO_8859_1), id);
      } else {
        tokens.add("[PAD" + id + "]");
        types[id] = UNUSED;
      }
    }
    w.putString("tokenizer.ggml.model", "gpt2");
    w.putString("tokenizer.ggml.pre", ARCH);
    w.putStrings(TOKENS, tokens);
    w.putInt32s("tokenizer.ggml.token_type", types);
    w.putStrings("tokenizer.ggml.merges", merges(ranks));
    w.putUint32("tokenizer.ggml.bos_token_id", SpecialTokens.ENDOFTEXT);
    w.putUint32("tokenizer.ggml.eos_token_id", SpecialTokens.ENDOFTEXT);
    w.putUint32("tokenizer.ggml.padding_token_id", SpecialTokens.PAD);
    w.putBool("tokenizer.ggml.add_bos_token", false);
    w.putBool("tokenizer.ggml.add_eos_token", false);
  }

  /** llama.cpp's token types (llama.h). */
  private static final int NORMAL = 1;

  private static final int CONTROL = 3;
  private static final int UNUSED = 5;

  /**
   * The merge that creates each multi-byte token, in rank order: byte-pair encoding the token's
   * bytes with only the merges ranked below it leaves exactly the two parts it is merged from.
   * Tokens are keyed as Latin-1 strings, one char per byte.
   */
  private static List<String> merges(Map<String, Integer> ranks) {
    TreeMap<Integer, String> byRank = new TreeMap<>();
    for (Map.Entry<String, Integer> token : ranks.entrySet()) {
      String bytes = token.getKey();
      int rank = token.getValue();
      if (bytes.length() < 2) {
        continue;
      }
      List<String> parts = new ArrayList<>();
      for (char c : bytes.toCharArray()) {
        parts.add(String.valueOf(c));
      }
      while (parts.size() > 2) {
        int best = -1;
        int bestRank = rank;
        for (int i = 0; i + 1 < parts.size(); i++) {
          Integer r = ranks.get(parts.get(i) + parts.get(i + 1));
          if (r != null && r < bestRank) {
            best = i;
            bestRank = r;
          }
        }
        if (best < 0) {
          break;
        }
        parts.set(best, parts.get(best) + parts.remove(best + 1));
      }
      if (parts.size() == 2) {
        byRank.put(rank, latin1ToByteLevel(parts.get(0)) + " " + latin1ToByteLevel(parts.get(1)));
      }
    }
    return new ArrayList<>(byRank.values());
  }

  private static String latin1ToByteLevel(String latin1) {
    return byteLevel(latin1.getBytes(StandardCharsets.ISO_8859_1));
  }

  private static List<?> tokens(GgufParts file) throws CheckpointFormatException {
    Object tokens = file.metadata().get(TOKENS);
    if (!(tokens instanceof List<?> list)) {
      throw new CheckpointFormatException(
          file.path()
              + ": metadata key '"
              + TOKENS
              + "' is "
              + (tokens == null ? "missing" : "not an array")
              + "; it is needed to check the vocabulary is DBRX's");
    }
    return list;
  }

  /**
   * GPT-2's byte-level spelling: printable Latin-1 bytes stand for themselves, the rest for 256 +
   * n.
   */
  static String byteLevel(byte[] bytes) {
    StringBuilder sb = new StringBuilder(bytes.length);
    for (byte value : bytes) {
      sb.append((char) BYTE_CHARS[value & 0xFF]);
    }
    return sb.toString();
  }

  private static int integer(GgufParts file, String key) throws CheckpointFormatException {
    Object value = file.metadata().get(key);
    if (!(value instanceof Long v) || v < 0 || v > Integer.MAX_VALUE) {
      throw new CheckpointFormatException(
          file.path()
              + ": metadata key '"
              + key
              + "' is "
              + (value == null ? "missing" : describe(value) + ", not an integer in int range"));
    }
    return (int) (long) v;
  }

  private static double number(GgufParts file, String key) throws CheckpointFormatException {
    Object value = file.metadata().get(key);
    if (value instanceof Double d) {
      return d;
    }
    if (value instanceof Long l) {
      return l;
    }
    throw new CheckpointFormatException(
        file.path()
            + ": metadata key '"
            + key
            + "' is "
            + (value == null ? "missing" : describe(value) + ", not a number"));
  }

  private static String describe(Object value) {
    if (value == null) {
      return "missing";
    }
    String text = value instanceof String s ? "'" + s + "'" : String.valueOf(value);
    return text.length() > 80 ? text.substring(0, 80) + "..." : text;
  }
}
