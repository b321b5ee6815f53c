package org.dbrxspark.runtime.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The architecture of a DBRX checkpoint, read from its Hugging Face {@code config.json}.
 *
 * <p>Immutable and validated on construction: every instance describes a model that can be built.
 * Fields missing from the file take the defaults of Hugging Face's {@code DbrxConfig} class, except
 * that the main dimensions have no useful default and should always be present. Unknown keys are
 * ignored.
 *
 * @param dModel hidden size
 * @param nHeads query heads
 * @param nLayers transformer blocks
 * @param maxSeqLen longest sequence (prompt + generation) the model accepts
 * @param vocabSize rows of the embedding and the output head
 * @param kvNHeads key/value heads (grouped-query attention)
 * @param clipQkv clamp bound for the fused QKV projection, or {@code null} for no clamp
 * @param ropeTheta RoPE base
 * @param ffnHiddenSize intermediate size of one expert
 * @param moeNumExperts experts per layer
 * @param moeTopK experts used per token
 * @param moeNormalizeExpertWeights p of the p-norm that renormalises the top-k router weights, or
 *     {@code null} for no renormalisation
 * @param activation the expert activation
 * @param torchDtype the dtype named by the checkpoint (informational; tensors carry their own)
 */
public record DbrxConfig(
    int dModel,
    int nHeads,
    int nLayers,
    int maxSeqLen,
    int vocabSize,
    int kvNHeads,
    Double clipQkv,
    double ropeTheta,
    int ffnHiddenSize,
    int moeNumExperts,
    int moeTopK,
    Double moeNormalizeExpertWeights,
    Activation activation,
    String torchDtype) {

  /** LayerNorm epsilon: not a config field, PyTorch's default. */
  public static final float LAYER_NORM_EPS = 1e-5f;

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  /** The expert activations that DBRX checkpoints may name in {@code ffn_act_fn}. */
  public enum Activation {
    SILU("silu"),
    GELU("gelu"),
    GELU_TANH("gelu_pytorch_tanh"),
    RELU("relu");

    private final String hfName;

    Activation(String hfName) {
      this.hfName = hfName;
    }

    /** The name used in {@code config.json}. */
    public String hfName() {
      return hfName;
    }

    static Activation fromHfName(String name) {
      for (Activation a : values()) {
        if (a.hfName.equals(name)) {
          return a;
        }
      }
      if ("gelu_new".equals(name)) {
        return GELU_TANH;
      }
      throw new IllegalArgumentException(
          "ffn_config.ffn_act_fn.name: unsupported activation '"
              + name
              + "' (supported: silu, gelu, gelu_pytorch_tanh, gelu_new, relu)");
    }
  }

  public DbrxConfig {
    positive("d_model", dModel);
    positive("n_heads", nHeads);
    positive("n_layers", nLayers);
    positive("max_seq_len", maxSeqLen);
    positive("vocab_size", vocabSize);
    positive("attn_config.kv_n_heads", kvNHeads);
    positive("ffn_config.ffn_hidden_size", ffnHiddenSize);
    positive("ffn_config.moe_num_experts", moeNumExperts);
    positive("ffn_config.moe_top_k", moeTopK);
    if (dModel % nHeads != 0) {
      throw invalid("d_model", dModel + " is not divisible by n_heads " + nHeads);
    }
    if (nHeads % kvNHeads != 0) {
      throw invalid(
          "attn_config.kv_n_heads",
          "n_heads " + nHeads + " is not divisible by kv_n_heads " + kvNHeads);
    }
    if ((dModel / nHeads) % 2 != 0) {
      throw invalid(
          "d_model", "head_dim " + dModel / nHeads + " must be even for rotate-half RoPE");
    }
    if (moeTopK > moeNumExperts) {
      throw invalid("ffn_config.moe_top_k", moeTopK + " exceeds moe_num_experts " + moeNumExperts);
    }
    if (clipQkv != null && !(clipQkv > 0)) {
      throw invalid("attn_config.clip_qkv", "must be positive or null, got " + clipQkv);
    }
    if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
      throw invalid("attn_config.rope_theta", "must be a positive number, got " + ropeTheta);
    }
    if (moeNormalizeExpertWeights != null && !(moeNormalizeExpertWeights > 0)) {
      throw invalid(
          "ffn_config.moe_normalize_expert_weights",
          "must be positive or null, got " + moeNormalizeExpertWeights);
    }
    if (activation == null) {
      throw invalid("ffn_config.ffn_act_fn", "is missing");
    }
    // Offsets into the weights are longs: sizes whose products overflow would silently wrap.
    try {
      countParameters(
          dModel,
          nHeads,
          nLayers,
          vocabSize,
          kvNHeads,
          ffnHiddenSize,
          moeNumExperts,
          moeNumExperts);
    } catch (ArithmeticException e) {
      throw invalid(
          "d_model",
          "tensor sizes overflow a 64-bit count (d_model x vocab_size, "
              + "moe_num_experts x ffn_hidden_size x d_model x n_layers)");
    }
    if ((long) dModel + 2L * kvNHeads * (dModel / nHeads) > Integer.MAX_VALUE) {
      throw invalid(
          "attn_config.kv_n_heads",
          "the fused QKV width d_model + 2 x kv_n_heads x head_dim exceeds 2^31-1");
    }
    if ((long) moeNumExperts * ffnHiddenSize > Integer.MAX_VALUE) {
      throw invalid(
          "ffn_config.ffn_hidden_size",
          "moe_num_experts x ffn_hidden_size = "
              + (long) moeNumExperts * ffnHiddenSize
              + " rows exceeds 2^31-1");
    }
  }

  /** Dimension of one attention head. */
  public int headDim() {
    return dModel / nHeads;
  }

  /** Width of the fused QKV projection: Q, then K, then V. */
  public int qkvWidth() {
    return dModel + 2 * kvNHeads * headDim();
  }

  /** Query heads per key/value head. */
  public int groupSize() {
    return nHeads / kvNHeads;
  }

  /** Number of weights in the checkpoint. */
  public long parameterCount() {
    return countParameters(
        dModel, nHeads, nLayers, vocabSize, kvNHeads, ffnHiddenSize, moeNumExperts, moeNumExperts);
  }

  /** Weights read to produce one token: all but the unused experts, counting one embedding row. */
  public long activeParameterCount() {
    return countParameters(
            dModel, nHeads, nLayers, 0, kvNHeads, ffnHiddenSize, moeNumExperts, moeTopK)
        + (long) dModel
        + (long) vocabSize * dModel;
  }

  private static long countParameters(
      int d,
      int heads,
      int layers,
      long vocab,
      int kvHeads,
      int ffn,
      int experts,
      int expertsUsed) {
    long headDim = d / heads;
    long attention = Math.multiplyExact(d + 2L * kvHeads * headDim + d, (long) d);
    long router = (long) experts * d;
    long expertWeights =
        Math.multiplyExact(Math.multiplyExact(3L * expertsUsed, (long) ffn), (long) d);
    long block =
        Math.addExact(Math.addExact(attention, router), Math.addExact(expertWeights, 2L * d));
    long embeddingAndHead = Math.multiplyExact(2 * vocab, (long) d);
    return Math.addExact(Math.multiplyExact(block, (long) layers), embeddingAndHead + d);
  }

  /** Reads and validates {@code config.json}. Errors name the file and the field. */
  public static DbrxConfig read(Path configJson) throws IOException {
    if (!Files.isRegularFile(configJson)) {
      throw new NoSuchFileException(
          configJson.toString(), null, "missing; not a checkpoint folder");
    }
    JsonNode root;
    try {
      root = JSON.readTree(configJson.toFile());
    } catch (IOException e) {
      throw new IOException(configJson + ": not valid JSON: " + e.getMessage(), e);
    }
    try {
      return fromJson(root);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(configJson + ": " + e.getMessage(), e);
    }
  }

  /** Parses a {@code config.json} document held in a string. */
  public static DbrxConfig parse(String json) throws IOException {
    return fromJson(JSON.readTree(json));
  }

  static DbrxConfig fromJson(JsonNode root) {
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("config must be a JSON object");
    }
    JsonNode attn = object(root, "attn_config");
    JsonNode ffn = object(root, "ffn_config");
    JsonNode act = ffn.path("ffn_act_fn");
    String actName = act.isObject() && act.has("name") ? act.get("name").asText() : "silu";
    return new DbrxConfig(
        intField(root, "d_model", "hidden_size", 2048),
        intField(root, "n_heads", "num_attention_heads", 16),
        intField(root, "n_layers", "num_hidden_layers", 24),
        intField(root, "max_seq_len", "max_position_embeddings", 2048),
        intField(root, "vocab_size", null, 32000),
        intField(attn, "kv_n_heads", null, 1, "attn_config."),
        nullableDouble(attn, "clip_qkv", null, "attn_config."),
        doubleField(attn, "rope_theta", 10000.0, "attn_config."),
        intField(ffn, "ffn_hidden_size", null, 3584, "ffn_config."),
        intField(ffn, "moe_num_experts", null, 4, "ffn_config."),
        intField(ffn, "moe_top_k", null, 1, "ffn_config."),
        nullableDouble(ffn, "moe_normalize_expert_weights", 1.0, "ffn_config."),
        Activation.fromHfName(actName),
        root.path("torch_dtype").asText("float32"));
  }

  /** The {@code config.json} document for this architecture, in the Hugging Face layout. */
  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.putArray("architectures").add("DbrxForCausalLM");
    root.put("model_type", "dbrx");
    root.put("d_model", dModel);
    root.put("n_heads", nHeads);
    root.put("n_layers", nLayers);
    root.put("max_seq_len", maxSeqLen);
    root.put("vocab_size", vocabSize);
    ObjectNode attn = root.putObject("attn_config");
    attn.put("kv_n_heads", kvNHeads);
    if (clipQkv == null) {
      attn.putNull("clip_qkv");
    } else {
      attn.put("clip_qkv", clipQkv);
    }
    attn.put("rope_theta", ropeTheta);
    ObjectNode ffn = root.putObject("ffn_config");
    ffn.put("ffn_hidden_size", ffnHiddenSize);
    ffn.put("moe_num_experts", moeNumExperts);
    ffn.put("moe_top_k", moeTopK);
    if (moeNormalizeExpertWeights == null) {
      ffn.putNull("moe_normalize_expert_weights");
    } else {
      ffn.put("moe_normalize_expert_weights", moeNormalizeExpertWeights);
    }
    ffn.putObject("ffn_act_fn").put("name", activation.hfName());
    root.put("tie_word_embeddings", false);
    root.put("torch_dtype", torchDtype);
    root.put("use_cache", true);
    try {
      return JSON.writeValueAsString(root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode object(JsonNode root, String field) {
    JsonNode node = root.path(field);
    if (node.isMissingNode() || node.isNull()) {
      return JSON.createObjectNode();
    }
    if (!node.isObject()) {
      throw invalid(field, "must be a JSON object");
    }
    return node;
  }

  private static int intField(JsonNode node, String field, String alias, int dflt) {
    return intField(node, field, alias, dflt, "");
  }

  private static int intField(JsonNode node, String field, String alias, int dflt, String prefix) {
    JsonNode v =
        node.has(field)
            ? node.get(field)
            : alias != null && node.has(alias) ? node.get(alias) : null;
    if (v == null || v.isNull()) {
      return dflt;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw invalid(prefix + field, "must be an integer in int range, got " + v);
    }
    return v.intValue();
  }

  private static double doubleField(JsonNode node, String field, double dflt, String prefix) {
    Double v = nullableDouble(node, field, dflt, prefix);
    if (v == null) {
      throw invalid(prefix + field, "must be a number, got null");
    }
    return v;
  }

  private static Double nullableDouble(JsonNode node, String field, Double dflt, String prefix) {
    if (!node.has(field)) {
      return dflt;
    }
    JsonNode v = node.get(field);
    if (v.isNull()) {
      return null;
    }
    if (!v.isNumber()) {
      throw invalid(prefix + field, "must be a number or null, got " + v);
    }
    return v.doubleValue();
  }

  private static void positive(String field, long value) {
    if (value <= 0) {
      throw invalid(field, "must be positive, got " + value);
    }
  }

  private static IllegalArgumentException invalid(String field, String why) {
    return new IllegalArgumentException(
        String.format(Locale.ROOT, "config field %s: %s", field, why));
  }
}
