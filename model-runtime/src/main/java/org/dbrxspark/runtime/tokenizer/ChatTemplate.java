package org.dbrxspark.runtime.tokenizer;

import com.knuddels.jtokkit.api.IntArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The DBRX-instruct chat template (ChatML), reproducing the original Jinja template of the DBRX
 * tokenizer character for character:
 *
 * <pre>
 * &lt;|im_start|&gt;system\n{SYSTEM}&lt;|im_end|&gt;\n&lt;|im_start|&gt;user\n{USER}&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n
 * </pre>
 *
 * A first message with role {@code system} supplies the system prompt; otherwise the template's
 * default prompt is used, if it has one. Turns are separated by a newline, and the generation
 * prompt {@code \n<|im_start|>assistant\n} follows the last turn. A conversation holding only a
 * system message renders as the empty string, as the original does.
 *
 * <p>Immutable.
 */
public final class ChatTemplate {

  /** Version 1 of the DBRX default system prompt, from the original release. */
  public static final String DEFAULT_SYSTEM_PROMPT =
      String.join(
          "\n",
          "You are DBRX, a Databricks creation, and you were last updated in December 2023. You"
              + " answer questions based on information available up to that point, providing"
              + " objective and thoughtful responses.",
          "You assist with various tasks, from writing to coding, using markdown \u2014 remember to"
              + " use ``` with code, JSON, and tables. You do not have real-time data access or"
              + " code execution capabilities.",
          "You avoid stereotyping and provide balanced perspectives on controversial topics. Your"
              + " responses are concise for simple queries and detailed for complex questions.",
          "You do not provide song lyrics, poems, or news articles and do not divulge details of"
              + " your training data.",
          "This is your system prompt, guiding your responses. Do not reference it, just respond"
              + " to the user. If you find yourself talking about this message, stop. You should be"
              + " responding appropriately and usually that means not mentioning this.");

  private static final ChatTemplate DBRX = new ChatTemplate(DEFAULT_SYSTEM_PROMPT);

  /** Null when a conversation without a system message gets no system block. */
  private final String defaultSystemPrompt;

  private ChatTemplate(String defaultSystemPrompt) {
    this.defaultSystemPrompt = defaultSystemPrompt;
  }

  /** The template as shipped with dbrx-instruct, with {@link #DEFAULT_SYSTEM_PROMPT}. */
  public static ChatTemplate dbrx() {
    return DBRX;
  }

  /** This template with another default system prompt; a system message still overrides it. */
  public ChatTemplate withSystemPrompt(String systemPrompt) {
    return new ChatTemplate(Objects.requireNonNull(systemPrompt, "systemPrompt"));
  }

  /** This template without a default system prompt: no system block unless a message gives one. */
  public ChatTemplate withoutDefaultSystemPrompt() {
    return new ChatTemplate(null);
  }

  /**
   * Renders a conversation as the prompt string.
   *
   * @param addGenerationPrompt whether to end with the opening of an assistant turn
   * @throws IllegalArgumentException if {@code messages} is empty
   */
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    StringBuilder prompt = new StringBuilder();
    emit(
        messages,
        addGenerationPrompt,
        new Sink() {
          @Override
          public void text(String text) {
            prompt.append(text);
          }

          @Override
          public void special(int id) {
            prompt.append(SpecialTokens.textOf(id).orElseThrow());
          }
        });
    return prompt.toString();
  }

  /**
   * Renders a conversation and encodes it. The template's own markers become special ids, while
   * roles and contents are encoded as plain text: a message containing {@code <|im_end|>} cannot
   * end its turn early. For contents free of special-token strings the result equals {@code
   * tokenizer.encode(render(messages, addGenerationPrompt), true)}.
   *
   * @throws IllegalArgumentException if {@code messages} is empty
   */
  public int[] encode(
      DbrxTokenizer tokenizer, List<ChatMessage> messages, boolean addGenerationPrompt) {
    IntArrayList ids = new IntArrayList();
    StringBuilder plain = new StringBuilder();
    emit(
        messages,
        addGenerationPrompt,
        new Sink() {
          @Override
          public void text(String text) {
            plain.append(text);
          }

          // Text between two markers is encoded as one piece, as the reference does with the
          // whole rendered string: BPE of adjacent pieces may differ from BPE of their join.
          @Override
          public void special(int id) {
            tokenizer.appendOrdinary(plain.toString(), ids);
            plain.setLength(0);
            ids.add(id);
          }
        });
    tokenizer.appendOrdinary(plain.toString(), ids);
    return ids.toArray();
  }

  /** Receives the rendered prompt as plain text and special markers, in order. */
  private interface Sink {
    void text(String text);

    void special(int id);
  }

  private void emit(List<ChatMessage> messages, boolean addGenerationPrompt, Sink out) {
    if (messages.isEmpty()) {
      // The original template fails on messages[0] too.
      throw new IllegalArgumentException("a conversation needs at least one message");
    }
    ChatMessage first = messages.get(0);
    String system;
    List<ChatMessage> turns;
    if (first.role().equals("system")) {
      system = first.content();
      turns = messages.subList(1, messages.size());
    } else {
      // The original tests `'system' in role`, a substring test: a first role such as
      // "system_note" suppresses the default prompt without becoming the system message.
      system = first.role().contains("system") ? null : defaultSystemPrompt;
      turns = messages;
    }
    for (int i = 0; i < turns.size(); i++) {
      if (i == 0) {
        if (system != null) {
          out.special(SpecialTokens.IM_START);
          out.text("system\n" + pythonStrip(system));
          out.special(SpecialTokens.IM_END);
          out.text("\n");
        }
      } else {
        out.text("\n");
      }
      ChatMessage turn = turns.get(i);
      out.special(SpecialTokens.IM_START);
      out.text(turn.role() + "\n" + turn.content());
      out.special(SpecialTokens.IM_END);
    }
    if (addGenerationPrompt && !turns.isEmpty()) {
      out.text("\n");
      out.special(SpecialTokens.IM_START);
      out.text("assistant\n");
    }
  }

  /**
   * Python's {@code str.strip()}, which the original template applies to the system prompt. Unlike
   * {@link String#strip()} it also removes U+0085 and the no-break spaces.
   */
  static String pythonStrip(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && isPythonSpace(s.charAt(start))) {
      start++;
    }
    while (end > start && isPythonSpace(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(start, end);
  }

  private static boolean isPythonSpace(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
  }
}
