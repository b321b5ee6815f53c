package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.dbrxspark.runtime.checkpoint.GgufQuantizer;

/**
 * Writes a Hugging Face checkpoint as a GGUF file that this runtime and llama.cpp load, or as the
 * parts of a split one.
 */
final class QuantizeCommand extends Command {
  QuantizeCommand() {
    super(
        "quantize",
        "write a checkpoint folder as a GGUF file, its matrices quantized (llama.cpp loads it)");
  }

  @Override
  List<Option> options() {
    return List.of(
        Option.required("model", "checkpoint folder (config.json + safetensors)"),
        Option.required("output", "GGUF file to write (replaced only once complete)"),
        Option.value(
            "type",
            "q8_0",
            "type of the matrices: "
                + GgufQuantizer.FileType.choices()
                + " (q4_k_m and q5_k_m: llama.cpp's mixes of K-quants)"),
        Option.value(
            "split-max-size",
            null,
            "write parts of at most this much tensor data each (48G, 500M: powers of 1000), as"
                + " llama.cpp's gguf-split: NAME-00001-of-0000N.gguf and on for --output"
                + " NAME.gguf; every --model takes the first part"),
        CommonOptions.threads("threads that quantize (the file is the same for any number)"));
  }

  @Override
  void run(Args args, CliOutput out) throws Exception {
    GgufQuantizer.FileType type = GgufQuantizer.FileType.named(args.string("type"));
    if (type == null) {
      throw new InvalidCommandLineException(
          "option --type: '"
              + args.string("type")
              + "' is not "
              + GgufQuantizer.FileType.choices());
    }
    int threads = CommonOptions.threads(args);
    long maxPartBytes = args.has("split-max-size") ? args.bytes("split-max-size") : Long.MAX_VALUE;
    long start = System.nanoTime();
    try (Checkpoint source = Checkpoint.open(args.path("model"))) {
      if (source.format() != Checkpoint.Format.SAFETENSORS) {
        throw new InvalidCommandLineException(
            "option --model: " + args.path("model") + " is already a GGUF file");
      }
      GgufQuantizer.Summary summary =
          GgufQuantizer.write(source, type, args.path("output"), threads, maxPartBytes);
      ObjectNode result = out.object();
      result.put("output", summary.file().toString());
      if (summary.files().size() > 1) {
        summary.files().forEach(part -> result.withArray("parts").add(part.toString()));
      }
      result.put("type", type.cliName());
      result.put("bytes", summary.bytes());
      ObjectNode fallbacks = result.putObject("fallbacks");
      summary
          .fallbacks()
          .forEach((tensor, dtype) -> fallbacks.put(tensor, dtype.name().toLowerCase(Locale.ROOT)));
      summary.earlier().forEach(file -> result.withArray("left_in_place").add(file.toString()));
      result.put("seconds", (System.nanoTime() - start) / 1e9);
      out.json(result);
      if (!summary.earlier().isEmpty()) {
        out.note(
            "quantize: left in place, from an earlier write to this output, and never read with"
                + " the new files (remove them to free the space): "
                + summary.earlier().stream().map(Path::toString).collect(Collectors.joining(", ")));
      }
    }
  }
}
