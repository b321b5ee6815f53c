package org.dbrxspark.runtime.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DbrxConfigTest {
  /** The dbrx-instruct config.json of the original release. */
  private static final String DBRX_INSTRUCT =
      """
      {"architectures": ["DbrxForCausalLM"], "auto_map": {"AutoConfig": "configuration_dbrx.DbrxConfig"},
       "attn_config": {"clip_qkv": 8, "kv_n_heads": 8, "model_type": "", "rope_theta": 500000},
       "d_model": 6144, "emb_pdrop": 0.0,
       "ffn_config": {"ffn_hidden_size": 10752, "model_type": "", "moe_jitter_eps": 0, "moe_loss_weight": 0.05,
                      "moe_num_experts": 16, "moe_top_k": 4},
       "initializer_range": 0.02, "max_seq_len": 32768, "model_type": "dbrx", "n_heads": 48, "n_layers": 40,
       "output_router_logits": false, "resid_pdrop": 0.0, "router_aux_loss_coef": 0.05, "tie_word_embeddings": false,
       "torch_dtype": "bfloat16", "transformers_version": "4.38.2", "use_cache": true, "vocab_size": 100352}
      """;

  @Test
  void readsTheRealDbrxConfigWithItsImplicitDefaults() throws Exception {
    DbrxConfig c = DbrxConfig.parse(DBRX_INSTRUCT);
    assertEquals(6144, c.dModel());
    assertEquals(128, c.headDim());
    assertEquals(8192, c.qkvWidth());
    assertEquals(6, c.groupSize());
    assertEquals(8.0, c.clipQkv());
    assertEquals(500000.0, c.ropeTheta());
    // Absent from the file: p = 1 renormalisation and silu, not "none" (the upstream class's
    // defaults).
    assertEquals(1.0, c.moeNormalizeExpertWeights());
    assertEquals(DbrxConfig.Activation.SILU, c.activation());
    assertEquals(131_596_523_520L, c.parameterCount());
  }

  @Test
  void nullClipAndNullNormalisationMeanNone() throws Exception {
    DbrxConfig c =
        DbrxConfig.parse(
            DBRX_INSTRUCT
                .replace("\"clip_qkv\": 8", "\"clip_qkv\": null")
                .replace(
                    "\"moe_top_k\": 4",
                    "\"moe_top_k\": 4, \"moe_normalize_expert_weights\": null"));
    assertNull(c.clipQkv());
    assertNull(c.moeNormalizeExpertWeights());
  }

  @Test
  void toJsonRoundTrips() throws Exception {
    DbrxConfig c = Presets.named("bench");
    assertEquals(c, DbrxConfig.parse(c.toJson()));
    assertEquals(780_289_024L, c.parameterCount());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "\"d_model\": 6144|\"d_model\": 6100|config field d_model: 6100 is not divisible by n_heads 48",
        "\"d_model\": 6144|\"d_model\": 6096|config field d_model: head_dim 127 must be even for rotate-half RoPE",
        "\"kv_n_heads\": 8|\"kv_n_heads\": 7|config field attn_config.kv_n_heads: n_heads 48 is not divisible by kv_n_heads 7",
        "\"moe_top_k\": 4|\"moe_top_k\": 17|config field ffn_config.moe_top_k: 17 exceeds moe_num_experts 16",
        "\"n_layers\": 40|\"n_layers\": 0|config field n_layers: must be positive, got 0",
        "\"vocab_size\": 100352|\"vocab_size\": -1|config field vocab_size: must be positive, got -1",
        "\"n_heads\": 48|\"n_heads\": 4.5|config field n_heads: must be an integer in int range, got 4.5",
        "\"rope_theta\": 500000|\"rope_theta\": \"big\"|config field attn_config.rope_theta: must be a number or null, got \"big\"",
        "\"clip_qkv\": 8|\"clip_qkv\": -1|config field attn_config.clip_qkv: must be positive or null, got -1.0",
        "\"moe_top_k\": 4|\"moe_top_k\": 4, \"ffn_act_fn\": {\"name\": \"swish9\"}|ffn_config.ffn_act_fn.name: unsupported activation 'swish9' (supported: silu, gelu, gelu_pytorch_tanh, gelu_new, relu)",
        "\"ffn_hidden_size\": 10752|\"ffn_hidden_size\": 2000000000|config field ffn_config.ffn_hidden_size: moe_num_experts x ffn_hidden_size = 32000000000 rows exceeds 2^31-1",
      })
  void invalidValuesAreRejectedNamingTheField(String from, String to, String message) {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> DbrxConfig.parse(DBRX_INSTRUCT.replace(from, to)));
    assertEquals(message, e.getMessage());
  }

  @Test
  void productsThatOverflowAreRejected() {
    String huge =
        DBRX_INSTRUCT
            .replace("\"d_model\": 6144", "\"d_model\": 2013265920")
            .replace("\"vocab_size\": 100352", "\"vocab_size\": 2000000000");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> DbrxConfig.parse(huge));
    assertTrue(
        e.getMessage().startsWith("config field d_model: tensor sizes overflow"), e.getMessage());
  }

  @Test
  void duplicateKeysAreRejected() {
    assertThrows(Exception.class, () -> DbrxConfig.parse("{\"d_model\": 64, \"d_model\": 128}"));
  }

  @Test
  void fileErrorsNameTheFile(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("config.json");
    NoSuchFileException gone =
        assertThrows(NoSuchFileException.class, () -> DbrxConfig.read(missing));
    assertTrue(gone.getMessage().contains(missing.toString()));
    Files.writeString(missing, "{not json");
    Exception bad = assertThrows(Exception.class, () -> DbrxConfig.read(missing));
    assertTrue(bad.getMessage().startsWith(missing + ": not valid JSON"), bad.getMessage());
    Files.writeString(missing, DBRX_INSTRUCT.replace("\"n_layers\": 40", "\"n_layers\": -3"));
    Exception invalid =
        assertThrows(IllegalArgumentException.class, () -> DbrxConfig.read(missing));
    assertEquals(
        missing + ": config field n_layers: must be positive, got -3", invalid.getMessage());
  }
}
