package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.Devices;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.LogitBias;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.structured.CompiledFormat;

/** Options shared by the subcommands that load a model or sample from it. */
final class CommonOptions {
  private CommonOptions() {}

  static List<Option> model() {
    return concat(
        List.of(
            Option.required(
                "model", "checkpoint: a folder (config.json + safetensors) or a GGUF file"),
            device(),
            threads("CPU threads for the kernels")),
        engine());
  }

  /** {@code --device}: where the model computes. */
  static Option device() {
    return Option.value(
        "device",
        // cpu until the CUDA backend has passed scripts/device-check on a GPU: it never has.
        Devices.CPU,
        "device to compute on: cpu, cuda[:N] (the CUDA backend, not yet run on a GPU), or auto"
            + " (cuda:0 where the CUDA backend can use it, else cpu)");
  }

  /**
   * The {@code --device} value with {@code auto} resolved, refused by name where it cannot be used
   * here.
   */
  static String device(Args args) {
    String device = Devices.resolve(args.string("device"));
    String problem = Devices.problem(device);
    if (problem != null) {
      throw new InvalidCommandLineException("option --device: " + problem);
    }
    return device;
  }

  /**
   * {@code --threads}, 0 (the default) for one per processor: the help text, and the option
   * reference made from it, then name no particular machine's count.
   */
  static Option threads(String what) {
    return Option.value("threads", "0", what + "; 0: one per processor");
  }

  /** The {@code --threads} value, 0 resolved to this machine's processors. */
  static int threads(Args args) {
    int threads = args.integer("threads");
    if (threads < 0) {
      throw new InvalidCommandLineException(
          "option --threads: " + threads + " is not a number of threads (0: one per processor)");
    }
    return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
  }

  /** The batching and KV cache options: what the memory plan depends on besides the weights. */
  static List<Option> engine() {
    return List.of(
        Option.value("max-batch-tokens", "2048", "tokens per forward step"),
        Option.value("max-sequences", "32", "sequences generating at once"),
        Option.value(
            "max-seq-len",
            null,
            "positions one sequence fills, prompt and every generated token but the last (default: the model's max_seq_len)"),
        Option.value(
            "kv-dtype",
            EngineOptions.DEFAULT_KV_DTYPE.label(),
            "KV cache storage: f32, f16 or bf16 (logits always uses f32)"),
        Option.value(
            "kv-cache-tokens",
            null,
            "positions the KV cache holds over all sequences (default: max-sequences x max-seq-len)"));
  }

  /** The prefix cache's switch, for the commands that generate. */
  static Option prefixCaching() {
    return Option.flag(
        "no-prefix-caching",
        "compute every prompt in full instead of reusing the cached KV blocks of a shared prefix");
  }

  static EngineOptions engineOptions(Args args) {
    try {
      return new EngineOptions(
          args.integer("max-batch-tokens"),
          args.integer("max-sequences"),
          args.has("max-seq-len") ? args.integer("max-seq-len") : 0,
          KvDType.parse(args.string("kv-dtype")),
          args.has("kv-cache-tokens") ? args.longValue("kv-cache-tokens") : 0,
          !args.flagIfDeclared("no-prefix-caching"));
    } catch (IllegalArgumentException e) {
      throw new InvalidCommandLineException(e.getMessage());
    }
  }

  /**
   * The sampling controls of generate and chat, named as the generate job's options (docs/spark.md,
   * "Sampling controls", has the table).
   */
  static List<Option> sampling() {
    return List.of(
        Option.value("max-new-tokens", "128", "stop after this many generated tokens"),
        Option.value("temperature", "0", "0 = greedy; higher = more random"),
        Option.value("top-k", "0", "keep the k most likely tokens (0 = off)"),
        Option.value("top-p", "1", "nucleus sampling mass (1 = off)"),
        Option.value("min-p", "0", "drop tokens below min-p x the top probability (0 = off)"),
        Option.value("repetition-penalty", "1", "penalise tokens already seen (1 = off)"),
        Option.value(
            "presence-penalty",
            "0",
            "subtracted from the logit of every token already generated, in [-2, 2] (0 = off)"),
        Option.value(
            "frequency-penalty",
            "0",
            "subtracted from a token's logit once per time it was generated, in [-2, 2] (0 = off)"),
        Option.value("seed", "0", "random seed of the request"),
        Option.value("min-tokens", "0", "tokens generated before any stop rule applies"),
        Option.value(
            "n", "1", "completions per prompt, each with its own seed, printed as 'samples'"),
        Option.repeated("stop", "stop string (repeatable)"),
        Option.value("stop-token-ids", null, "token ids, comma-separated, that end generation"),
        Option.value(
            "logit-bias",
            null,
            "JSON object of token id to bias in [-100, 100], e.g. {\"198\": -100}"),
        Option.flag("logprobs", "report the log-probability of each generated token"),
        Option.value(
            "top-logprobs",
            "0",
            "report this many most likely tokens (up to 20) at each generated position"),
        Option.flag("no-mask", "allow sampling ids the tokenizer never produces"),
        Option.value(
            "response-format",
            null,
            "constrain the text to a format: inline JSON or a file holding it,"
                + " {\"type\":\"json_schema\",\"json_schema\":{\"schema\":...}}, {\"type\":\"regex\",\"regex\":...}"
                + " or {\"type\":\"choice\",\"choice\":[...]}"));
  }

  @SafeVarargs
  static List<Option> concat(List<Option>... lists) {
    List<Option> all = new ArrayList<>();
    for (List<Option> l : lists) {
      all.addAll(l);
    }
    return all;
  }

  static DbrxRuntime load(Args args) throws IOException {
    return DbrxRuntime.load(args.path("model"), device(args), threads(args), engineOptions(args));
  }

  static SamplingParams sampling(Args args) {
    try {
      return SamplingParams.builder()
          .maxNewTokens(args.integer("max-new-tokens"))
          .temperature(args.number("temperature"))
          .topK(args.integer("top-k"))
          .topP(args.number("top-p"))
          .minP(args.number("min-p"))
          .repetitionPenalty(args.number("repetition-penalty"))
          .presencePenalty(args.number("presence-penalty"))
          .frequencyPenalty(args.number("frequency-penalty"))
          .seed(args.longValue("seed"))
          .minTokens(args.integer("min-tokens"))
          .n(args.integer("n"))
          .stopStrings(args.all("stop"))
          .stopTokenIds(args.has("stop-token-ids") ? args.integers("stop-token-ids") : List.of())
          .logitBias(args.has("logit-bias") ? logitBias(args) : Map.of())
          .logprobs(args.flag("logprobs"))
          .topLogprobs(args.integer("top-logprobs"))
          .maskUnproducible(!args.flag("no-mask"))
          .responseFormat(
              args.has("response-format")
                  ? CompiledFormat.fromArgument(args.string("response-format"))
                  : null)
          .build();
    } catch (InvalidCommandLineException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new InvalidCommandLineException(samplingOption(e.getMessage()) + e.getMessage());
    }
  }

  /**
   * {@code "option --NAME: "} for the sampling option whose parameter {@code message} (from {@link
   * SamplingParams}, which spells it with underscores) names first, or "" when it names none.
   */
  private static String samplingOption(String message) {
    String first = null;
    int at = Integer.MAX_VALUE;
    for (Option o : sampling()) {
      // A whole word: "n" is in many messages as a letter, "top_p" in none of "top_logprobs".
      Matcher m =
          Pattern.compile("\\b" + Pattern.quote(o.name().replace('-', '_')) + "\\b")
              .matcher(message);
      if (m.find() && m.start() < at) {
        first = o.name();
        at = m.start();
      }
    }
    return first == null ? "" : "option --" + first + ": ";
  }

  private static Map<Integer, Double> logitBias(Args args) {
    try {
      return LogitBias.parse(new ObjectMapper().readTree(args.string("logit-bias")));
    } catch (JsonProcessingException e) {
      throw new InvalidCommandLineException(
          "option --logit-bias: not JSON: " + e.getOriginalMessage());
    }
  }
}
