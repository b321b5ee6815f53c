package org.dbrxspark.runtime.tokenizer;

import java.util.Objects;

/**
 * One turn of a conversation for {@link ChatTemplate}.
 *
 * @param role usually {@code system}, {@code user} or {@code assistant}; rendered verbatim
 * @param content the text of the turn; rendered verbatim (special-token strings stay plain text)
 */
public record ChatMessage(String role, String content) {

  public ChatMessage {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
  }

  public static ChatMessage system(String content) {
    return new ChatMessage("system", content);
  }

  public static ChatMessage user(String content) {
    return new ChatMessage("user", content);
  }

  public static ChatMessage assistant(String content) {
    return new ChatMessage("assistant", content);
  }
}
