package org.dbrxspark.runtime.config;

import java.util.List;

/**
 * Named DBRX-architecture sizes for {@code init}: all use the real tokenizer's vocabulary (100352
 * rows), 16 experts with top-4 routing, clip_qkv 8 and rope_theta 500000, like DBRX.
 */
public final class Presets {
  private Presets() {}

  /** The preset names, smallest first. */
  public static final List<String> NAMES = List.of("tiny", "small", "bench");

  /**
   * {@code tiny}: d_model 64, 2 layers (~13 M parameters, for tests); {@code small}: d_model 256, 4
   * layers (~69 M, the demo checkpoint); {@code bench}: d_model 1024, 8 layers, ffn 1408 (~0.78 B,
   * ~0.26 B active per token, the benchmark checkpoint).
   */
  public static DbrxConfig named(String name) {
    return switch (name) {
      case "tiny" -> dbrxLike(64, 4, 2, 2, 96, 1024, "bfloat16");
      case "small" -> dbrxLike(256, 8, 2, 4, 352, 2048, "bfloat16");
      case "bench" -> dbrxLike(1024, 16, 4, 8, 1408, 4096, "bfloat16");
      default ->
          throw new IllegalArgumentException(
              "unknown preset '" + name + "' (known: " + String.join(", ", NAMES) + ")");
    };
  }

  private static DbrxConfig dbrxLike(
      int dModel, int heads, int kvHeads, int layers, int ffn, int maxSeqLen, String dtype) {
    return new DbrxConfig(
        dModel,
        heads,
        layers,
        maxSeqLen,
        100352,
        kvHeads,
        8.0,
        500000.0,
        ffn,
        16,
        4,
        1.0,
        DbrxConfig.Activation.SILU,
        dtype);
  }
}
