package org.dbrxspark.jobs.rag;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.GenerationResult;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.tokenizer.ChatMessage;
import org.dbrxspark.runtime.tokenizer.ChatTemplate;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/**
 * Answers questions from retrieved chunks: a ChatML prompt with the chunks numbered by their ids,
 * generated with the runtime's engine, and the chunk ids the answer cites.
 */
final class RagAnswerer {
  /** The system turn: answer from the passages, cite them by id. */
  static final String SYSTEM_PROMPT =
      "You answer questions using only the context passages given with them. "
          + "Each passage starts with its id in square brackets. Cite every passage you use by writing its id in "
          + "square brackets, for example [doc-1#0]. If the passages do not contain the answer, say that you do "
          + "not know.";

  private static final Pattern CITATION = Pattern.compile("\\[([^\\[\\]\\n]{1,500})\\]");

  /**
   * A rendered prompt.
   *
   * @param text the ChatML prompt
   * @param tokens its token ids
   * @param context the chunks it includes, best first
   */
  record Prompt(String text, int[] tokens, List<IndexedChunk> context) {}

  /**
   * One answer.
   *
   * @param text the generated answer
   * @param citations ids of the chunks given as context, in prompt order
   * @param cited the ids among them that the answer mentions in square brackets
   * @param promptTokens tokens of the prompt
   * @param completionTokens tokens generated
   * @param finishReason why generation stopped
   * @param prompt the prompt
   * @param error why there is no answer, or null
   */
  record Answer(
      String text,
      List<String> citations,
      List<String> cited,
      int promptTokens,
      int completionTokens,
      String finishReason,
      String prompt,
      String error) {
    static Answer failed(String error) {
      return new Answer(null, List.of(), List.of(), 0, 0, null, null, error);
    }
  }

  private RagAnswerer() {}

  /**
   * The prompt for {@code question} with as many of {@code hits} (best first) as fit in {@code
   * maxPromptTokens}.
   *
   * @throws IllegalArgumentException when the question alone does not fit
   */
  static Prompt prompt(
      DbrxTokenizer tokenizer, String question, List<Hit> hits, int maxPromptTokens) {
    List<IndexedChunk> context = new ArrayList<>();
    hits.forEach(h -> context.add(h.chunk()));
    while (true) {
      List<ChatMessage> messages =
          List.of(ChatMessage.system(SYSTEM_PROMPT), ChatMessage.user(userTurn(question, context)));
      int[] tokens = ChatTemplate.dbrx().encode(tokenizer, messages, true);
      if (tokens.length <= maxPromptTokens) {
        return new Prompt(ChatTemplate.dbrx().render(messages, true), tokens, List.copyOf(context));
      }
      if (context.isEmpty()) {
        throw new IllegalArgumentException(
            "the question alone takes "
                + tokens.length
                + " prompt tokens; at most "
                + maxPromptTokens
                + " fit");
      }
      context.remove(context.size() - 1); // the lowest-ranked chunk goes first
    }
  }

  private static String userTurn(String question, List<IndexedChunk> context) {
    StringBuilder sb = new StringBuilder("Context:\n");
    for (IndexedChunk c : context) {
      sb.append('[').append(c.chunkId()).append("] ").append(c.text()).append("\n\n");
    }
    return sb.append("Question: ").append(question).toString();
  }

  /**
   * Answers each question from its hits in one batch on the engine.
   *
   * @param params sampling parameters; each request's seed comes from {@code seeds}
   */
  static List<Answer> answer(
      DbrxRuntime runtime,
      List<String> questions,
      List<List<Hit>> hits,
      SamplingParams params,
      List<Long> seeds) {
    int maxPrompt = runtime.config().maxSeqLen() - params.maxNewTokens();
    Answer[] answers = new Answer[questions.size()];
    List<GenerationRequest> requests = new ArrayList<>();
    List<Prompt> prompts = new ArrayList<>();
    List<Integer> owners = new ArrayList<>();
    for (int i = 0; i < questions.size(); i++) {
      try {
        Prompt p = prompt(runtime.tokenizer(), questions.get(i), hits.get(i), maxPrompt);
        requests.add(
            new GenerationRequest(p.tokens(), params.toBuilder().seed(seeds.get(i)).build()));
        prompts.add(p);
        owners.add(i);
      } catch (IllegalArgumentException e) {
        answers[i] = Answer.failed(e.getMessage());
      }
    }
    List<GenerationResult> results =
        requests.isEmpty() ? List.of() : runtime.engine().generate(requests);
    for (int j = 0; j < results.size(); j++) {
      GenerationResult r = results.get(j);
      Prompt p = prompts.get(j);
      List<String> ids = p.context().stream().map(IndexedChunk::chunkId).toList();
      answers[owners.get(j)] =
          r.error() != null
              ? Answer.failed(r.error())
              : new Answer(
                  r.text(),
                  ids,
                  cited(r.text(), ids),
                  r.promptTokens(),
                  r.completionTokens(),
                  r.finishReason().name().toLowerCase(),
                  p.text(),
                  null);
    }
    return List.of(answers);
  }

  /**
   * The ids among {@code context} that {@code answer} mentions as {@code [id]}, in order of first
   * mention.
   */
  static List<String> cited(String answer, List<String> context) {
    Set<String> known = Set.copyOf(context);
    Set<String> cited = new LinkedHashSet<>();
    Matcher m = CITATION.matcher(answer);
    while (m.find()) {
      if (known.contains(m.group(1).strip())) {
        cited.add(m.group(1).strip());
      }
    }
    return List.copyOf(cited);
  }
}
