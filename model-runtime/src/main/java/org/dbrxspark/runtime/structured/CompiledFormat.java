package org.dbrxspark.runtime.structured;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.State;
import dk.brics.automaton.Transition;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.dbrxspark.runtime.tokenizer.SpecialTokens;

/**
 * A {@link ResponseFormat} compiled against the DBRX vocabulary: a minimal DFA over UTF-8 bytes
 * and, for every DFA state that tokens can reach from the start, the set of token ids allowed
 * there. A text token is allowed when its bytes lead the DFA to a state from which the language
 * can still be completed; an end-of-sequence id only in accepting states. Immutable and
 * thread-safe: one instance serves every sequence generating with the format.
 *
 * <p>The index is built eagerly, so that compiling also proves the vocabulary can satisfy the
 * format: every reachable state is accepting or has an allowed token. Each state's set is found by
 * walking the DFA down the {@link TokenTrie} (dead subtrees skipped), and equal sets are stored
 * once.
 */
public final class CompiledFormat {
  private static final int[] EOS = {SpecialTokens.ENDOFTEXT, SpecialTokens.IM_END};

  private final ResponseFormat format;
  /** {@code next[state * 256 + byte]}: the next state, or -1 (dead). */
  private final int[] next;
  private final boolean[] accepting;
  private final int start;
  /** Allowed ids per state, as bits; null for states no token sequence reaches. */
  private final long[][] allowed;
  /** Accepting states no text token can extend: generation ends there. */
  private final boolean[] complete;
  private final byte[][] bytesById;
  private final int reachableStates;
  private final int distinctMasks;
  private final long compileNanos;

  private CompiledFormat(ResponseFormat format, int[] next, boolean[] accepting, int start, long[][] allowed,
      boolean[] complete, byte[][] bytesById, int reachableStates, int distinctMasks, long compileNanos) {
    this.format = format;
    this.next = next;
    this.accepting = accepting;
    this.start = start;
    this.allowed = allowed;
    this.complete = complete;
    this.bytesById = bytesById;
    this.reachableStates = reachableStates;
    this.distinctMasks = distinctMasks;
    this.compileNanos = compileNanos;
  }

  /**
   * Compiles {@code format} against the DBRX tokenizer's vocabulary.
   *
   * @throws IllegalArgumentException when no text matches the format, or when the vocabulary
   *     cannot complete it from some reachable prefix (the message shows that prefix)
   */
  public static CompiledFormat compile(ResponseFormat format) {
    long began = System.nanoTime();
    Automaton dfa = format.language();
    dfa.minimize();
    if (dfa.isEmpty()) {
      throw new IllegalArgumentException("response_format " + format.kind() + " matches no text: " + format.json());
    }
    List<State> states = List.copyOf(dfa.getStates());
    Map<State, Integer> ids = new HashMap<>();
    for (State s : states) {
      ids.put(s, ids.size());
    }
    int n = states.size();
    int[] next = new int[n * 256];
    Arrays.fill(next, -1);
    boolean[] accepting = new boolean[n];
    for (State s : states) {
      int id = ids.get(s);
      accepting[id] = s.isAccept();
      for (Transition t : s.getTransitions()) {
        Arrays.fill(next, id * 256 + t.getMin(), id * 256 + t.getMax() + 1, ids.get(t.getDest()));
      }
    }
    TokenTrie trie = TokenTrie.shared();
    return new Indexer(format, next, accepting, ids.get(dfa.getInitialState()), trie).build(began);
  }

  /** Builds the token index breadth-first from the start state. */
  private static final class Indexer {
    private final ResponseFormat format;
    private final int[] next;
    private final boolean[] accepting;
    private final int start;
    private final TokenTrie trie;
    private final int words;

    Indexer(ResponseFormat format, int[] next, boolean[] accepting, int start, TokenTrie trie) {
      this.format = format;
      this.next = next;
      this.accepting = accepting;
      this.start = start;
      this.trie = trie;
      this.words = (trie.bytesById.length + 63) >>> 6;
    }

    CompiledFormat build(long began) {
      int n = accepting.length;
      long[][] allowed = new long[n][];
      int[][] successors = new int[n][];
      int[] parent = new int[n];
      int[] parentToken = new int[n];
      Arrays.fill(parent, -1);
      boolean[] complete = new boolean[n];
      Map<Masks, long[]> distinct = new HashMap<>();
      ArrayDeque<Integer> queue = new ArrayDeque<>(List.of(start));
      boolean[] queued = new boolean[n];
      queued[start] = true;
      int[] stack = new int[trie.maxDepth + 1];
      int[] seenStamp = new int[n];
      int stamp = 0;
      while (!queue.isEmpty()) {
        int s = queue.poll();
        long[] bits = new long[words];
        int[] found = new int[8];
        int count = 0;
        stamp++;
        // Walk the trie with the DFA: stack[d] is the state after a node's first d bytes.
        stack[0] = s;
        boolean anyText = false;
        for (int i = 0; i < trie.size(); ) {
          int t = next[stack[trie.depth[i] - 1] * 256 + (trie.label[i] & 0xFF)];
          if (t < 0) {
            i = trie.subtreeEnd[i];
            continue;
          }
          stack[trie.depth[i]] = t;
          int token = trie.token[i];
          if (token >= 0) {
            bits[token >>> 6] |= 1L << token;
            anyText = true;
            if (seenStamp[t] != stamp) {
              seenStamp[t] = stamp;
              if (count == found.length) {
                found = Arrays.copyOf(found, count * 2);
              }
              found[count++] = t;
            }
            if (!queued[t]) {
              queued[t] = true;
              parent[t] = s;
              parentToken[t] = token;
              queue.add(t);
            }
          }
          i++;
        }
        if (accepting[s]) {
          for (int eos : EOS) {
            bits[eos >>> 6] |= 1L << eos;
          }
        }
        complete[s] = accepting[s] && !anyText;
        if (!accepting[s] && !anyText) {
          throw new IllegalArgumentException("response_format " + format.kind() + ": no token can continue the text "
              + prefix(s, parent, parentToken) + ", and it does not match yet");
        }
        successors[s] = Arrays.copyOf(found, count);
        allowed[s] = distinct.computeIfAbsent(new Masks(bits), m -> m.bits);
      }
      requireCompletable(successors, parent, parentToken);
      int reachable = 0;
      for (long[] a : allowed) {
        reachable += a == null ? 0 : 1;
      }
      return new CompiledFormat(format, next, accepting, start, allowed, complete, trie.bytesById, reachable,
          distinct.size(), System.nanoTime() - began);
    }

    /**
     * Every reachable state must lead to an accepting one through tokens; the byte DFA is trimmed,
     * but a vocabulary may lack the bytes a path needs.
     */
    private void requireCompletable(int[][] successors, int[] parent, int[] parentToken) {
      boolean[] live = accepting.clone();
      boolean changed = true;
      while (changed) {
        changed = false;
        for (int s = 0; s < successors.length; s++) {
          if (successors[s] != null && !live[s]) {
            for (int t : successors[s]) {
              if (live[t]) {
                live[s] = true;
                changed = true;
                break;
              }
            }
          }
        }
      }
      for (int s = 0; s < successors.length; s++) {
        if (successors[s] != null && !live[s]) {
          throw new IllegalArgumentException("response_format " + format.kind()
              + ": the vocabulary cannot complete the text " + prefix(s, parent, parentToken));
        }
      }
    }

    /** The text of the first token path found to {@code state}, quoted. */
    private String prefix(int state, int[] parent, int[] parentToken) {
      ArrayDeque<Integer> path = new ArrayDeque<>();
      for (int s = state; s != start; s = parent[s]) {
        path.push(parentToken[s]);
      }
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      path.forEach(token -> bytes.writeBytes(trie.bytesById[token]));
      return '"' + bytes.toString(StandardCharsets.UTF_8) + '"';
    }
  }

  /** Bit sets compared by content, to store equal masks once. */
  private record Masks(long[] bits) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Masks m && Arrays.equals(bits, m.bits);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bits);
    }
  }

  /** The format this was compiled from. */
  public ResponseFormat format() {
    return format;
  }

  /** The state before any token. */
  public int start() {
    return start;
  }

  /**
   * The ids allowed in {@code state}, as bits ({@code (mask[id >>> 6] >>> id & 1) == 1}); ids past
   * the tokenizer's vocabulary (a model's padding rows) are never allowed. Callers must not modify it.
   */
  public long[] allowed(int state) {
    return allowed[state];
  }

  /** The state after a text token allowed in {@code state}. */
  public int advance(int state, int token) {
    int s = state;
    for (byte b : bytesById[token]) {
      s = next[s * 256 + (b & 0xFF)];
    }
    return s;
  }

  /** Whether the text that led to {@code state} matches the format. */
  public boolean accepting(int state) {
    return accepting[state];
  }

  /** Whether {@code state} matches and no longer text would: generation ends here. */
  public boolean complete(int state) {
    return complete[state];
  }

  /** DFA states, reachable ones, and distinct token masks: for logs and benchmarks. */
  public String stats() {
    return accepting.length + " DFA states, " + reachableStates + " reachable by tokens, " + distinctMasks
        + " distinct token masks, compiled in " + compileNanos / 1_000_000 + " ms";
  }

  /** How long {@link #compile} took. */
  public long compileNanos() {
    return compileNanos;
  }
}
