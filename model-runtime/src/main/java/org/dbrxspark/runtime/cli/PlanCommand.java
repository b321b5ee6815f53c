package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.dbrxspark.runtime.Devices;
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.dbrxspark.runtime.checkpoint.GgufQuantizer;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.engine.DevicePlan;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.MemoryPlan;

/** The memory a model needs with given engine options, and whether this host has it. */
final class PlanCommand extends Command {
  PlanCommand() {
    super(
        "plan",
        "memory plan (weights, KV cache, activations, JVM) and whether it fits this host and its GPU; a config.json alone will do");
  }

  @Override
  List<Option> options() {
    return CommonOptions.concat(
        List.of(
            Option.required(
                "model",
                "checkpoint folder or GGUF file; a folder without safetensors is sized from config.json"),
            Option.value(
                "weights-type",
                null,
                "size the weights as `quantize --type` would write them: "
                    + GgufQuantizer.FileType.choices()
                    + " (default: as stored)"),
            CommonOptions.device()),
        CommonOptions.engine());
  }

  @Override
  void run(Args args, CliOutput out) throws Exception {
    Path path = args.path("model");
    String device = CommonOptions.device(args);
    EngineOptions options = CommonOptions.engineOptions(args);
    GgufQuantizer.FileType weightsType = null;
    if (args.has("weights-type")) {
      weightsType = GgufQuantizer.FileType.named(args.string("weights-type"));
      if (weightsType == null) {
        throw new InvalidCommandLineException(
            "option --weights-type: '"
                + args.string("weights-type")
                + "' is not "
                + GgufQuantizer.FileType.choices());
      }
    }
    boolean hasWeights = Files.isRegularFile(path);
    if (!hasWeights && Files.isDirectory(path)) {
      try (Stream<Path> files = Files.list(path)) {
        hasWeights = files.anyMatch(f -> f.getFileName().toString().endsWith(".safetensors"));
      }
    }
    DbrxConfig config;
    long weightBytes;
    String weightsFrom;
    if (weightsType == null && hasWeights) {
      // The config from the checkpoint opened for its weights: a GGUF header is parsed once.
      try (Checkpoint checkpoint = Checkpoint.open(path)) {
        config = checkpoint.config();
        weightBytes = checkpoint.totalBytes();
        weightsFrom = checkpoint.format() == Checkpoint.Format.GGUF ? "gguf" : "safetensors";
      }
    } else {
      config = Checkpoint.readConfig(path);
      weightBytes =
          weightsType != null
              ? GgufQuantizer.weightBytes(config, weightsType)
              : MemoryPlan.checkpointBytes(config);
      weightsFrom = weightsType != null ? "--weights-type " + weightsType.cliName() : "config.json";
    }
    MemoryPlan plan;
    try {
      plan = MemoryPlan.of(config, options, weightBytes);
    } catch (IllegalArgumentException e) {
      throw new InvalidCommandLineException(e.getMessage());
    }
    ObjectNode json = out.object();
    json.put("model", args.string("model"));
    json.put("weights_from", weightsFrom);
    planJson(json, config, options, plan);
    json.put("host_memory_bytes", plan.hostBytes());
    json.put("direct_memory_limit_bytes", plan.directLimitBytes());
    json.put("fits", plan.fits());
    if (!plan.fits()) {
      out.note(plan.problem());
    }
    json.put("device", device);
    if (!Devices.CPU.equals(device)) {
      // The weights, KV cache and activations live on the GPU: its free memory is what binds.
      DevicePlan onDevice = new DevicePlan(device, plan, Devices.memory(device));
      json.put("device_needed_bytes", onDevice.neededBytes());
      json.put("device_workspace_bytes", DevicePlan.WORKSPACE_BYTES);
      json.put("device_free_bytes", onDevice.memory().freeBytes());
      json.put("device_total_bytes", onDevice.memory().totalBytes());
      json.put("device_fits", onDevice.fits());
      if (!onDevice.fits()) {
        out.note(onDevice.problem());
      }
    }
    out.json(json);
  }

  /** The settings a plan was made for and its parts, added to {@code json}; returns it. */
  static ObjectNode planJson(
      ObjectNode json, DbrxConfig config, EngineOptions options, MemoryPlan plan) {
    json.put("max_sequences", options.maxSequences());
    json.put("max_seq_len", options.maxSeqLen(config));
    json.put("kv_dtype", options.kvDtype().label());
    json.put("kv_cache_tokens", options.kvCacheTokens(config));
    json.put("max_batch_tokens", options.maxBatchTokens());
    json.put("weights_bytes", plan.weightBytes());
    json.put("kv_cache_bytes", plan.kvCacheBytes());
    json.put("activation_bytes", plan.activationBytes());
    json.put("jvm_bytes", plan.jvmBytes());
    json.put("total_bytes", plan.totalBytes());
    return json;
  }
}
