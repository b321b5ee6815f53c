package org.dbrxspark.runtime.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.Step;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;

/**
 * Continuous-batching generation: every step runs the decode token of each running sequence
 * together with the prompts of newly admitted ones, under a per-step token budget; sequences
 * leave as soon as they finish and waiting ones take their place.
 *
 * <p>A sequence's output depends only on its prompt and parameters (the forward pass is
 * batch-invariant and each request samples from its own seeded stream), never on its batch mates.
 */
public final class Engine {
  private final DbrxModel model;
  private final DbrxTokenizer tokenizer;
  private final EngineOptions options;
  private final boolean[] producible;

  /** Receives generated text as it becomes final, for streaming output. */
  @FunctionalInterface
  public interface TextListener {
    void onText(int requestIndex, String delta);
  }

  public Engine(DbrxModel model, DbrxTokenizer tokenizer, EngineOptions options) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.options = options;
    this.producible = tokenizer.producibleMask(model.config().vocabSize());
  }

  /** Generates for every request; results are in request order. */
  public List<GenerationResult> generate(List<GenerationRequest> requests) {
    return generate(requests, (index, delta) -> {});
  }

  /** Generates for every request, streaming each request's text to {@code listener}. */
  public List<GenerationResult> generate(List<GenerationRequest> requests, TextListener listener) {
    GenerationResult[] results = new GenerationResult[requests.size()];
    Deque<Sequence> waiting = new ArrayDeque<>();
    for (int i = 0; i < requests.size(); i++) {
      GenerationRequest request = requests.get(i);
      // Room for at least one generated token.
      String problem = InputCheck.problem(model.config(), request.prompt(), "prompt", model.config().maxSeqLen() - 1);
      if (problem != null) {
        results[i] = GenerationResult.failed(request.prompt().length, problem);
      } else {
        waiting.add(new Sequence(i, request, model.newCache(), new Sampler(request.params(), producible, request.prompt()), tokenizer));
      }
    }
    List<Sequence> running = new ArrayList<>();
    int vocab = model.config().vocabSize();
    while (!waiting.isEmpty() || !running.isEmpty()) {
      List<Step> steps = new ArrayList<>();
      List<Sequence> stepping = new ArrayList<>();
      int budget = options.maxBatchTokens();
      for (Sequence seq : running) {
        steps.add(new Step(seq.cache(), new int[] {seq.lastToken()}, false));
        stepping.add(seq);
        budget--;
      }
      while (!waiting.isEmpty() && running.size() < options.maxSequences()) {
        int promptLength = waiting.peek().request().prompt().length;
        // A prompt over the budget still runs, alone, rather than never.
        if (promptLength > budget && !steps.isEmpty()) {
          break;
        }
        Sequence admitted = waiting.poll();
        steps.add(new Step(admitted.cache(), admitted.request().prompt(), false));
        stepping.add(admitted);
        running.add(admitted);
        budget -= promptLength;
      }
      float[] hidden = model.forward(steps);
      float[] logits = new float[steps.size() * vocab];
      model.logits(hidden, steps.size(), logits);
      for (int i = 0; i < stepping.size(); i++) {
        stepping.get(i).accept(logits, i * vocab, model.config().maxSeqLen(), listener);
      }
      for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
        Sequence seq = it.next();
        if (seq.finished()) {
          results[seq.index()] = seq.result();
          it.remove();
        }
      }
    }
    return List.of(results);
  }
}
