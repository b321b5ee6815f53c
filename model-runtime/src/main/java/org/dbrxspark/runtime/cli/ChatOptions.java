package org.dbrxspark.runtime.cli;

import org.dbrxspark.runtime.tokenizer.ChatTemplate;

/** The ChatML template an invocation asks for. */
final class ChatOptions {
  private ChatOptions() {}

  /** DBRX's template, with {@code --system} replacing its default system prompt when given. */
  static ChatTemplate template(Args args) {
    ChatTemplate template = ChatTemplate.dbrx();
    return args.has("system") ? template.withSystemPrompt(args.string("system")) : template;
  }
}
