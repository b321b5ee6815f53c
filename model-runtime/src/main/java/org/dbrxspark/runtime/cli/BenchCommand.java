package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.Devices;
import org.dbrxspark.runtime.bench.GemmThroughput;
import org.dbrxspark.runtime.bench.MemoryBandwidth;
import org.dbrxspark.runtime.bench.ModelBenchmark;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.MemoryPlan;

/**
 * Decode and prefill throughput, each set against a ceiling measured in the same run: memory
 * bandwidth for batch-1 decode, ND4J's float32 GEMM for batched decode.
 */
final class BenchCommand extends Command {
  BenchCommand() {
    super(
        "bench",
        "decode/prefill tokens/s vs this machine's bandwidth and GEMM rooflines, measured in the same run");
  }

  @Override
  List<Option> options() {
    return CommonOptions.concat(
        CommonOptions.model(),
        List.of(
            Option.value(
                "batches",
                "1,8,32",
                "decode batch sizes (batch 1 is always measured: against the bandwidth)"),
            Option.value("decode-steps", "32", "timed decode steps per batch size"),
            Option.value("prompt-length", "512", "prompt tokens for the prefill measurement"),
            Option.value(
                "repeats",
                "3",
                "repeats per measurement (best is reported; batch 1 against bandwidth: the median pair)"),
            Option.value(
                "bandwidth-mib",
                "1024",
                "array size for the read-bandwidth measurement (far above the caches)")));
  }

  @Override
  void run(Args args, CliOutput out) throws Exception {
    String device = CommonOptions.device(args);
    int threads = CommonOptions.threads(args);
    int repeats = args.integer("repeats");
    ObjectNode json = out.object();
    ObjectNode machine = json.putObject("machine");
    machine.put("cpu", cpuModel());
    machine.put("cores", Runtime.getRuntime().availableProcessors());
    machine.put("threads", threads);
    machine.put(
        "java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    try (DbrxRuntime runtime = CommonOptions.load(args)) {
      DbrxConfig config = runtime.config();
      ModelBenchmark bench = new ModelBenchmark(runtime.model(), runtime.kvPool());
      json.put("checkpoint", args.string("model"));
      json.put("device", device);
      json.put("parameters", config.parameterCount());
      json.put("active_parameters_per_token", config.activeParameterCount());
      long weightBytes = runtime.model().weightBytes();
      double bytesPerWeight = (double) weightBytes / config.parameterCount();
      json.put("weight_bytes", weightBytes);
      json.put("kv_dtype", runtime.kvPool().dtype().label());
      ObjectNode decode = json.putObject("decode_tokens_per_s");
      for (String b : args.string("batches").split(",")) {
        int batch = Integer.parseInt(b.trim());
        if (batch == 1) {
          continue; // measured below: on the CPU, each run beside a bandwidth measurement
        }
        double best = bestDecode(bench, batch, args);
        decode.put(String.valueOf(batch), best);
        out.note(String.format("decode batch %d: %.1f tokens/s", batch, best));
      }
      int promptLength = args.integer("prompt-length");
      double prefill = 0;
      for (int r = 0; r < repeats; r++) {
        prefill = Math.max(prefill, bench.prefill(promptLength));
      }
      json.put("prefill_tokens_per_s", prefill);
      json.put("prefill_prompt_tokens", promptLength);
      out.note(String.format("prefill %d tokens: %.1f tokens/s", promptLength, prefill));
      long peakRss = peakResidentBytes();
      // The KV blocks the runs above allocated: the most they held at once.
      long kvBytes = runtime.kvPool().allocated() * runtime.kvPool().blockBytes();
      json.put("peak_rss_bytes", peakRss);
      json.put("kv_cache_allocated_bytes", kvBytes);
      json.put("rss_budget_bytes", weightBytes + kvBytes + (1L << 30));
      // The plan of the settings this run used; it matches the measured RSS only when the run
      // fills the KV cache it plans for (--kv-cache-tokens), since the paged cache grows on demand.
      EngineOptions options = CommonOptions.engineOptions(args);
      MemoryPlan plan = MemoryPlan.of(config, options, weightBytes);
      json.set("plan", PlanCommand.planJson(json.objectNode(), config, options, plan));
      json.put("peak_rss_vs_plan", (double) peakRss / plan.totalBytes());

      if (Devices.CPU.equals(device)) {
        hostRooflines(args, out, json, bench, config, bytesPerWeight);
      } else {
        // The rooflines measure the host's memory and CPU GEMM, no ceiling of another device.
        decode.put("1", bestDecode(bench, 1, args));
        out.note(String.format("decode batch 1: %.1f tokens/s", decode.get("1").asDouble()));
        json.put(
            "rooflines", "not measured: they are the host CPU's, not " + args.string("device"));
      }
    }
    out.json(json);
  }

  /** Best tokens/s of {@code --repeats} decode runs at {@code batch}. */
  private static double bestDecode(ModelBenchmark bench, int batch, Args args) {
    double best = 0;
    for (int r = 0; r < args.integer("repeats"); r++) {
      best = Math.max(best, bench.decode(batch, 16, args.integer("decode-steps")));
    }
    return best;
  }

  /**
   * Batch-1 decode beside this host's read bandwidth, and batched decode against ND4J's float32
   * GEMM where ND4J is on the class path: the CPU's ceilings, measured in the same run.
   */
  private static void hostRooflines(
      Args args,
      CliOutput out,
      ObjectNode json,
      ModelBenchmark bench,
      DbrxConfig config,
      double bytesPerWeight)
      throws Exception {
    int threads = CommonOptions.threads(args);
    int repeats = args.integer("repeats");
    ObjectNode decode = (ObjectNode) json.get("decode_tokens_per_s");
    double activeBytes = config.activeParameterCount() * bytesPerWeight;
    // Batch-1 decode against the bandwidth measured just before it, pair by pair: this host's
    // bandwidth drifts between the start and the end of a run by more than the effects measured.
    ArrayNode pairs = json.putArray("batch1_pairs");
    List<Double> ratios = new ArrayList<>();
    double bandwidth = 0;
    double batch1 = 0;
    try (MemoryBandwidth reads =
        new MemoryBandwidth(args.longValue("bandwidth-mib") << 20, threads)) {
      for (int r = 0; r < repeats; r++) {
        double pairBandwidth = reads.measure(2);
        double tokens = bench.decode(1, 16, args.integer("decode-steps"));
        double ratio = tokens / (pairBandwidth / activeBytes);
        pairs
            .addObject()
            .put("read_bandwidth_bytes_per_s", pairBandwidth)
            .put("decode_tokens_per_s", tokens)
            .put("ratio", ratio);
        ratios.add(ratio);
        bandwidth = Math.max(bandwidth, pairBandwidth);
        batch1 = Math.max(batch1, tokens);
      }
    }
    decode.put("1", batch1);
    out.note(String.format("decode batch 1: %.1f tokens/s", batch1));
    Collections.sort(ratios);
    double gemm = GemmThroughput.available() ? GemmThroughput.measure(1024, 5) : 0;
    double rooflineTokens = bandwidth / activeBytes;
    double batched = decode.has("32") ? decode.get("32").asDouble() : 0;
    double flopsPerToken = 2.0 * config.activeParameterCount();
    json.put("read_bandwidth_bytes_per_s", bandwidth);
    if (gemm > 0) {
      json.put("gemm_f32_flops_per_s", gemm);
    } else {
      json.put("gemm_f32_flops_per_s", "not measured: ND4J is not on the class path");
    }
    json.put("bandwidth_roofline_tokens_per_s", rooflineTokens);
    json.put("batch1_decode_vs_bandwidth_roofline", ratios.get(ratios.size() / 2));
    if (batched > 0 && gemm > 0) {
      json.put("batch32_decode_flops_per_s", batched * flopsPerToken);
      json.put("batch32_decode_vs_gemm", batched * flopsPerToken / gemm);
    }
    out.note(
        String.format(
            "read bandwidth %.1f GB/s -> batch-1 roofline %.1f tokens/s; batch-1 decode %.2f of it"
                + " (median of %d pairs); ND4J f32 GEMM %.1f GFLOP/s (0: not on the class path)",
            bandwidth / 1e9, rooflineTokens, ratios.get(ratios.size() / 2), repeats, gemm / 1e9));
  }

  private static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (Exception e) {
      // Not Linux: the architecture is all we can say.
    }
    return System.getProperty("os.arch");
  }

  /** VmHWM: the most resident memory this process has held, mapped weight pages included. */
  private static long peakResidentBytes() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    return -1;
  }
}
