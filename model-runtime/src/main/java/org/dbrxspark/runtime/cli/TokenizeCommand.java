package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.dbrxspark.runtime.tokenizer.ChatMessage;
import org.dbrxspark.runtime.tokenizer.ChatTemplate;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/** Token ids of texts under the DBRX tokenizer (cl100k + DBRX special tokens). */
final class TokenizeCommand extends Command {
  TokenizeCommand() {
    super("tokenize", "encode text with the DBRX tokenizer; no model needed");
  }

  @Override
  List<Option> options() {
    return CommonOptions.concat(
        TextInputs.options("text", "text to encode"),
        List.of(
            Option.flag(
                "allow-special", "encode special-token strings such as <|im_end|> as their ids"),
            Option.flag("chat", "encode each text as a user turn of the ChatML template"),
            Option.value("system", null, "system prompt for --chat (default: DBRX's)")));
  }

  @Override
  void run(Args args, CliOutput out) throws Exception {
    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    ChatTemplate template = ChatOptions.template(args);
    for (String text : TextInputs.read(args, "text")) {
      int[] ids =
          args.flag("chat")
              ? template.encode(tokenizer, List.of(ChatMessage.user(text)), true)
              : tokenizer.encode(text, args.flag("allow-special"));
      ObjectNode result = out.object();
      result.putPOJO("ids", ids);
      result.put("count", ids.length);
      out.json(result);
    }
  }
}
