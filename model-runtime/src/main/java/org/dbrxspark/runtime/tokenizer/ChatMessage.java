package org.dbrxspark.runtime.tokenizer;

import java.util.Objects;

/**
 * One turn of a conversation for {@link ChatTemplate}.
 *
 * @param role usually {@code system}, {@code user} or {@code assistant}; rendered verbatim
 * @param content the text of the turn; rendered verbatim (special-token strings stay plain text)
 */
public record ChatMessage(String role, String content) {

  /** Both fields are required; an empty content is allowed. */
  public ChatMessage {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
  }

  /** A message with role {@code system}. */
  public static ChatMessage system(String content) {
    return new ChatMessage("system", content);
  }

  /** A message with role {@code user}. */
  public static ChatMessage user(String content) {
    return new ChatMessage("user", content);
  }

  /** A message with role {@code assistant}. */
  public static ChatMessage assistant(String content) {
    return new ChatMessage("assistant", content);
  }
}
