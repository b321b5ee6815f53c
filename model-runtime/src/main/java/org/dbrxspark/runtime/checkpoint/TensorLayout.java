package org.dbrxspark.runtime.checkpoint;

import java.util.LinkedHashMap;
import java.util.Map;
import org.dbrxspark.runtime.config.DbrxConfig;

/**
 * The Hugging Face DBRX tensor names and the shapes a config implies.
 *
 * <p>Expert tensors are 2-D {@code [experts * ffn_hidden_size, d_model]}, expert-major, with no
 * {@code .weight} suffix; {@code w2} is stored as {@code [ffn, d_model]} per expert and used
 * without a transpose.
 */
public final class TensorLayout {
  private TensorLayout() {}

  public static final String WTE = "transformer.wte.weight";
  public static final String NORM_F = "transformer.norm_f.weight";
  public static final String LM_HEAD = "lm_head.weight";

  private static String block(int layer) {
    return "transformer.blocks." + layer + ".";
  }

  public static String norm1(int layer) {
    return block(layer) + "norm_attn_norm.norm_1.weight";
  }

  public static String wqkv(int layer) {
    return block(layer) + "norm_attn_norm.attn.Wqkv.weight";
  }

  public static String outProj(int layer) {
    return block(layer) + "norm_attn_norm.attn.out_proj.weight";
  }

  public static String norm2(int layer) {
    return block(layer) + "norm_attn_norm.norm_2.weight";
  }

  public static String router(int layer) {
    return block(layer) + "ffn.router.layer.weight";
  }

  public static String w1(int layer) {
    return block(layer) + "ffn.experts.mlp.w1";
  }

  public static String v1(int layer) {
    return block(layer) + "ffn.experts.mlp.v1";
  }

  public static String w2(int layer) {
    return block(layer) + "ffn.experts.mlp.w2";
  }

  /** Every tensor the config implies, in checkpoint order, with its shape. */
  public static Map<String, long[]> expectedShapes(DbrxConfig c) {
    long d = c.dModel();
    long expertRows = (long) c.moeNumExperts() * c.ffnHiddenSize();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put(WTE, new long[] {c.vocabSize(), d});
    for (int i = 0; i < c.nLayers(); i++) {
      shapes.put(norm1(i), new long[] {d});
      shapes.put(wqkv(i), new long[] {c.qkvWidth(), d});
      shapes.put(outProj(i), new long[] {d, d});
      shapes.put(norm2(i), new long[] {d});
      shapes.put(router(i), new long[] {c.moeNumExperts(), d});
      shapes.put(w1(i), new long[] {expertRows, d});
      shapes.put(v1(i), new long[] {expertRows, d});
      shapes.put(w2(i), new long[] {expertRows, d});
    }
    shapes.put(NORM_F, new long[] {d});
    shapes.put(LM_HEAD, new long[] {c.vocabSize(), d});
    return shapes;
  }
}
