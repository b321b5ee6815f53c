package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.GenerationResult;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.tokenizer.ChatMessage;
import org.dbrxspark.runtime.tokenizer.ChatTemplate;

/** Continues prompts, batched through the continuous-batching engine. */
final class GenerateCommand extends Command {
  GenerateCommand() {
    super("generate", "continue prompts (one JSON line per prompt, in input order)");
  }

  @Override
  List<Option> options() {
    return CommonOptions.concat(
        CommonOptions.model(),
        List.of(CommonOptions.prefixCaching()),
        TextInputs.options("prompt", "prompt to continue"),
        List.of(
            Option.flag("chat", "wrap each prompt as a user turn of the ChatML template"),
            Option.value("system", null, "system prompt for --chat (default: DBRX's)")),
        CommonOptions.sampling());
  }

  @Override
  void run(Args args, CliOutput out) throws Exception {
    List<String> prompts = TextInputs.read(args, "prompt");
    SamplingParams params = CommonOptions.sampling(args);
    try (DbrxRuntime runtime = CommonOptions.load(args)) {
      ChatTemplate template = ChatOptions.template(args);
      List<GenerationRequest> requests = new ArrayList<>();
      for (String prompt : prompts) {
        int[] ids =
            args.flag("chat")
                ? template.encode(runtime.tokenizer(), List.of(ChatMessage.user(prompt)), true)
                : runtime.tokenizer().encode(prompt);
        requests.add(new GenerationRequest(ids, params));
      }
      long start = System.nanoTime();
      List<GenerationResult> results = runtime.engine().generate(requests);
      double seconds = (System.nanoTime() - start) / 1e9;
      long generated = 0;
      for (int i = 0; i < results.size(); i++) {
        GenerationResult r = results.get(i);
        generated += r.completionTokens();
        out.json(resultJson(out, i, r));
      }
      out.note(
          String.format(
              "generated %d tokens for %d prompts in %.2f s (%.1f tokens/s)",
              generated, prompts.size(), seconds, generated / seconds));
    }
  }

  static ObjectNode resultJson(CliOutput out, int index, GenerationResult r) {
    ObjectNode json = out.object();
    json.put("index", index);
    json.put("text", r.text());
    json.put("finish_reason", r.finishReason().label());
    json.put("incomplete", r.incomplete());
    json.put("prompt_tokens", r.promptTokens());
    json.put("completion_tokens", r.completionTokens());
    if (r.logprobs() != null) {
      json.putPOJO("logprobs", r.logprobs());
    }
    if (r.error() != null) {
      json.put("error", r.error());
    }
    return json;
  }
}
