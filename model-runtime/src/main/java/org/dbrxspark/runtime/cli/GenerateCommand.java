package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.GenerationResult;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.engine.TokenLogprob;
import org.dbrxspark.runtime.tokenizer.ChatMessage;
import org.dbrxspark.runtime.tokenizer.ChatTemplate;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

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
        out.json(resultJson(out, runtime.tokenizer(), i, r));
      }
      out.note(
          String.format(
              "generated %d tokens for %d prompts in %.2f s (%.1f tokens/s)",
              generated, prompts.size(), seconds, generated / seconds));
    }
  }

  /**
   * One result as a JSON object, with the generate job's field names: {@code top_logprobs} per
   * generated token when asked for, and {@code samples} (each a completion's fields) with {@code
   * --n} above 1, the top-level fields being sample 0's.
   */
  static ObjectNode resultJson(
      CliOutput out, DbrxTokenizer tokenizer, int index, GenerationResult r) {
    ObjectNode json = out.object();
    json.put("index", index);
    json.put("prompt_tokens", r.promptTokens());
    putCompletion(json, tokenizer, r);
    if (!r.samples().isEmpty()) {
      ArrayNode samples = json.putArray("samples");
      for (GenerationResult sample : r.samples()) {
        putCompletion(samples.addObject(), tokenizer, sample);
      }
    }
    if (r.error() != null) {
      json.put("error", r.error());
    }
    return json;
  }

  private static void putCompletion(ObjectNode json, DbrxTokenizer tokenizer, GenerationResult r) {
    json.put("text", r.text());
    json.put("finish_reason", r.finishReason().label());
    json.put("incomplete", r.incomplete());
    json.put("completion_tokens", r.completionTokens());
    if (r.logprobs() != null) {
      json.putPOJO("logprobs", r.logprobs());
    }
    if (r.topLogprobs() != null) {
      ArrayNode positions = json.putArray("top_logprobs");
      for (TokenLogprob[] position : r.topLogprobs()) {
        ArrayNode alternatives = positions.addArray();
        for (TokenLogprob t : position) {
          alternatives
              .addObject()
              .put("token_id", t.token())
              .put("token", tokenizer.tokenText(t.token()))
              .put("logprob", t.logprob());
        }
      }
    }
  }
}
