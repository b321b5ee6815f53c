package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.EmbeddingResult;
import org.dbrxspark.runtime.engine.Pooling;

/** L2-normalised sentence embeddings. */
final class EmbedCommand extends Command {
  EmbedCommand() {
    super("embed", "L2-normalised embeddings: pooled final hidden states after norm_f");
  }

  @Override
  List<Option> options() {
    return CommonOptions.concat(
        CommonOptions.model(),
        TextInputs.options("text", "text to embed"),
        List.of(
            Option.value("pooling", "mean", "mean over tokens, or last (the last token's state)")));
  }

  @Override
  void run(Args args, CliOutput out) throws Exception {
    Pooling pooling;
    try {
      pooling = Pooling.valueOf(args.string("pooling").toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new InvalidCommandLineException(
          "option --pooling: '" + args.string("pooling") + "' is not mean or last");
    }
    List<String> texts = TextInputs.read(args, "text");
    try (DbrxRuntime runtime = CommonOptions.load(args)) {
      List<int[]> ids = new ArrayList<>();
      for (String text : texts) {
        ids.add(runtime.tokenizer().encode(text));
      }
      List<EmbeddingResult> results = runtime.embedder().embed(ids, pooling);
      for (int i = 0; i < results.size(); i++) {
        EmbeddingResult r = results.get(i);
        ObjectNode json = out.object();
        json.put("index", i);
        json.put("token_count", r.tokenCount());
        if (r.error() != null) {
          json.put("error", r.error());
        } else {
          json.put("dim", r.vector().length);
          json.putPOJO("embedding", r.vector());
        }
        out.json(json);
      }
    }
  }
}
