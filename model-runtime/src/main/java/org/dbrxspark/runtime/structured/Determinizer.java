package org.dbrxspark.runtime.structured;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.State;
import dk.brics.automaton.Transition;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The subset construction over bytes, with a bound on the states it makes. brics' own has none: a
 * pattern such as {@code (a|b)*a(a|b){20}} needs 2^21 states, and a JVM compiling it ran out of
 * memory after three minutes instead of refusing it. A format comes from a request, so it is
 * refused by name instead, before it can take an executor down with its other rows.
 */
final class Determinizer {
  /**
   * The most DFA states a format may need. Each takes 4 bytes per class of bytes in a {@link
   * CompiledFormat} (a JSON string's take 60); a JSON string of up to 20,000 characters needs
   * 180,003.
   */
  static final int MAX_STATES = 250_000;

  private final String what;

  /** By subset of NFA states: sorted state numbers, compared by contents. */
  private final Map<IntArrayKey, State> states = new HashMap<>();

  private final Deque<IntArrayKey> pending = new ArrayDeque<>();

  private Determinizer(String what) {
    this.what = what;
  }

  /**
   * A deterministic automaton for the language of {@code nfa}, whose characters are bytes.
   *
   * @param what the format, for the error
   * @throws IllegalArgumentException when it would need more than {@link #MAX_STATES} states
   */
  static Automaton determinize(Automaton nfa, String what) {
    if (nfa.isDeterministic()) {
      return nfa;
    }
    List<State> nfaStates = new ArrayList<>(nfa.getStates());
    Map<State, Integer> index = new HashMap<>();
    for (State s : nfaStates) {
      index.put(s, index.size());
    }
    Determinizer d = new Determinizer(what);
    State initial = d.stateOf(new IntArrayKey(new int[] {index.get(nfa.getInitialState())}));
    // The NFA states each byte leads to from any state of a subset, as lists with repeats.
    int[][] targets = new int[256][4];
    int[] sizes = new int[256];
    while (!d.pending.isEmpty()) {
      IntArrayKey subset = d.pending.pop();
      State from = d.states.get(subset);
      Arrays.fill(sizes, 0);
      for (int i : subset.values()) {
        State s = nfaStates.get(i);
        from.setAccept(from.isAccept() || s.isAccept());
        for (Transition t : s.getTransitions()) {
          int to = index.get(t.getDest());
          for (int b = t.getMin(); b <= t.getMax(); b++) {
            if (sizes[b] == targets[b].length) {
              targets[b] = Arrays.copyOf(targets[b], sizes[b] * 2);
            }
            targets[b][sizes[b]++] = to;
          }
        }
      }
      // One transition per run of bytes that lead to the same subset.
      IntArrayKey run = null;
      int runStart = 0;
      for (int b = 0; b <= 256; b++) {
        IntArrayKey target = b < 256 && sizes[b] > 0 ? subset(targets[b], sizes[b]) : null;
        if (!Objects.equals(target, run)) {
          if (run != null) {
            from.addTransition(new Transition((char) runStart, (char) (b - 1), d.stateOf(run)));
          }
          run = target;
          runStart = b;
        }
      }
    }
    Automaton dfa = new Automaton();
    dfa.setInitialState(initial);
    dfa.setDeterministic(true);
    return dfa;
  }

  /** The DFA state of {@code subset}, made and queued if it is new. */
  private State stateOf(IntArrayKey subset) {
    State state = states.get(subset);
    if (state == null) {
      if (states.size() == MAX_STATES) {
        throw new IllegalArgumentException(
            what
                + ": its automaton needs more than "
                + MAX_STATES
                + " states; a long maxLength or maxItems, or a repeat after an open-ended part"
                + " (as in (a|b)*a(a|b){20}), makes many: simplify it");
      }
      state = new State();
      states.put(subset, state);
      pending.push(subset);
    }
    return state;
  }

  /** The set of the first {@code size} of {@code members}, sorted. */
  private static IntArrayKey subset(int[] members, int size) {
    int[] sorted = Arrays.copyOf(members, size);
    Arrays.sort(sorted);
    int n = 0;
    for (int i = 0; i < sorted.length; i++) {
      if (n == 0 || sorted[n - 1] != sorted[i]) {
        sorted[n++] = sorted[i];
      }
    }
    return new IntArrayKey(Arrays.copyOf(sorted, n));
  }
}
