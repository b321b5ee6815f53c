package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.GenerationResult;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.tokenizer.ChatMessage;
import org.dbrxspark.runtime.tokenizer.ChatTemplate;

/** A multi-turn ChatML conversation: user turns from --message or, without it, from stdin lines. */
final class ChatCommand extends Command {
  ChatCommand() {
    super(
        "chat",
        "chat in ChatML: one JSON line per assistant turn (user turns from --message or stdin)");
  }

  @Override
  List<Option> options() {
    return CommonOptions.concat(
        CommonOptions.model(),
        List.of(CommonOptions.prefixCaching()),
        List.of(
            Option.repeated(
                "message", "a user turn (repeatable; without it, each stdin line is one)"),
            Option.value("system", null, "system prompt (default: DBRX's)"),
            Option.flag("stream", "print the reply text as it is generated instead of JSON")),
        CommonOptions.sampling());
  }

  @Override
  void run(Args args, CliOutput out) throws Exception {
    SamplingParams params = CommonOptions.sampling(args);
    ChatTemplate template = ChatOptions.template(args);
    boolean stream = args.flag("stream");
    try (DbrxRuntime runtime = CommonOptions.load(args)) {
      List<ChatMessage> history = new ArrayList<>();
      List<String> messages = args.all("message");
      BufferedReader stdin =
          messages.isEmpty()
              ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
              : null;
      if (stdin != null) {
        out.note("chatting with " + args.string("model") + " (end with Ctrl-D)");
      }
      int turn = 0;
      while (true) {
        String user =
            stdin == null ? (turn < messages.size() ? messages.get(turn) : null) : stdin.readLine();
        if (user == null) {
          return;
        }
        history.add(ChatMessage.user(user));
        int[] prompt = template.encode(runtime.tokenizer(), history, true);
        GenerationResult reply =
            runtime
                .engine()
                .generate(
                    List.of(new GenerationRequest(prompt, params)),
                    (index, delta) -> {
                      if (stream) {
                        out.text(delta);
                      }
                    })
                .get(0);
        if (reply.error() != null) {
          throw new IllegalStateException("turn " + turn + ": " + reply.error());
        }
        history.add(ChatMessage.assistant(reply.text()));
        if (stream) {
          out.text("\n");
        } else {
          ObjectNode json = GenerateCommand.resultJson(out, runtime.tokenizer(), turn, reply);
          json.put("role", "assistant");
          out.json(json);
        }
        turn++;
      }
    }
  }
}
