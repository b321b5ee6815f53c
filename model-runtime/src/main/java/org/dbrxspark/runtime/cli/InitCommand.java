package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import org.dbrxspark.runtime.checkpoint.CheckpointWriter;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.config.Presets;

/** Writes a random DBRX checkpoint in the Hugging Face layout. */
final class InitCommand extends Command {
  InitCommand() {
    super(
        "init",
        "write a random DBRX-architecture checkpoint (config.json + safetensors); its text is noise");
  }

  @Override
  List<Option> options() {
    return List.of(
        Option.required("output", "folder to create"),
        Option.value("preset", "small", "size preset: " + String.join(", ", Presets.NAMES)),
        Option.value("dtype", "bf16", "weight dtype: bf16, f16 or f32"),
        Option.value("seed", "0", "seed of the random weights"),
        Option.value("shards", "1", "number of safetensors files"),
        Option.value("d-model", null, "override the preset's d_model"),
        Option.value("n-heads", null, "override n_heads"),
        Option.value("kv-heads", null, "override attn_config.kv_n_heads"),
        Option.value("layers", null, "override n_layers"),
        Option.value("experts", null, "override ffn_config.moe_num_experts"),
        Option.value("top-k", null, "override ffn_config.moe_top_k"),
        Option.value("ffn-hidden", null, "override ffn_config.ffn_hidden_size"),
        Option.value("vocab", null, "override vocab_size"),
        Option.value("max-seq-len", null, "override max_seq_len"));
  }

  @Override
  void run(Args args, CliOutput out) throws Exception {
    DType dtype =
        switch (args.string("dtype").toLowerCase(Locale.ROOT)) {
          case "bf16", "bfloat16" -> DType.BF16;
          case "f16", "float16" -> DType.F16;
          case "f32", "float32" -> DType.F32;
          default ->
              throw new InvalidCommandLineException(
                  "option --dtype: '" + args.string("dtype") + "' is not bf16, f16 or f32");
        };
    DbrxConfig base;
    try {
      base = Presets.named(args.string("preset"));
    } catch (IllegalArgumentException e) {
      throw new InvalidCommandLineException("option --preset: " + e.getMessage());
    }
    DbrxConfig config =
        new DbrxConfig(
            override(args, "d-model", base.dModel()),
            override(args, "n-heads", base.nHeads()),
            override(args, "layers", base.nLayers()),
            override(args, "max-seq-len", base.maxSeqLen()),
            override(args, "vocab", base.vocabSize()),
            override(args, "kv-heads", base.kvNHeads()),
            base.clipQkv(),
            base.ropeTheta(),
            override(args, "ffn-hidden", base.ffnHiddenSize()),
            override(args, "experts", base.moeNumExperts()),
            override(args, "top-k", base.moeTopK()),
            base.moeNormalizeExpertWeights(),
            base.activation(),
            dtype.torchName());
    long start = System.nanoTime();
    CheckpointWriter.writeRandom(
        args.path("output"), config, args.longValue("seed"), dtype, args.integer("shards"));
    ObjectNode result = out.object();
    result.put("output", args.path("output").toAbsolutePath().toString());
    result.put("parameters", config.parameterCount());
    result.put("active_parameters", config.activeParameterCount());
    result.put("dtype", dtype.name());
    result.put("seconds", (System.nanoTime() - start) / 1e9);
    out.json(result);
  }

  private static int override(Args args, String name, int presetValue) {
    return args.has(name) ? args.integer(name) : presetValue;
  }
}
