package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.ScoreRequest;
import org.dbrxspark.runtime.engine.ScoreResult;

/** Log-probability and perplexity of texts. */
final class ScoreCommand extends Command {
  ScoreCommand() {
    super("score", "log-probability, mean and perplexity of texts, optionally given a prefix");
  }

  @Override
  List<Option> options() {
    return CommonOptions.concat(
        CommonOptions.model(),
        TextInputs.options("text", "text to score"),
        List.of(
            Option.value("prefix", null, "condition every text on this prefix (not scored)"),
            Option.flag("token-logprobs", "also print each token's log-probability")));
  }

  @Override
  void run(Args args, CliOutput out) throws Exception {
    List<String> texts = TextInputs.read(args, "text");
    try (DbrxRuntime runtime = CommonOptions.load(args)) {
      int[] prefix =
          args.has("prefix") ? runtime.tokenizer().encode(args.string("prefix")) : new int[0];
      List<ScoreRequest> requests = new ArrayList<>();
      for (String text : texts) {
        requests.add(new ScoreRequest(prefix, runtime.tokenizer().encode(text)));
      }
      List<ScoreResult> results = runtime.scorer().score(requests);
      for (int i = 0; i < results.size(); i++) {
        ScoreResult r = results.get(i);
        ObjectNode json = out.object();
        json.put("index", i);
        json.put("token_count", r.tokenCount());
        if (r.error() != null) {
          json.put("error", r.error());
        } else {
          json.put("logprob_sum", r.logprobSum());
          json.put("logprob_mean", r.logprobMean());
          json.put("perplexity", r.perplexity());
          if (args.flag("token-logprobs")) {
            json.putPOJO("token_logprobs", r.tokenLogprobs());
          }
        }
        out.json(json);
      }
    }
  }
}
