package org.dbrxspark.runtime.structured;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.State;
import dk.brics.automaton.Transition;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * The automaton states one format may build before it is determinized, counted across the whole
 * format. A bound per part was not enough: an object of eight strings of up to 41,000 characters,
 * each part under it, ran a 2 GB JVM out of memory after two minutes. States are charged where they
 * are made: leaves, the copies a repeat makes, the ways into an object's optional members, the
 * states between a character's UTF-8 bytes, and the pairs of an intersection. Joining parts that
 * are used once makes nothing new.
 */
final class StateBudget {
  /** The most states a format may build: a JSON string of up to 20,000 characters takes 480,024. */
  static final int MAX_STATES = 1_000_000;

  private long used;

  /**
   * Charges {@code states} made for {@code where}.
   *
   * @param where the part of the format, for the error
   * @throws IllegalArgumentException past {@link #MAX_STATES} in all
   */
  void charge(long states, String where) {
    used += states;
    if (used > MAX_STATES) {
      throw refuse(where, "the format would build more than " + MAX_STATES + " automaton states");
    }
  }

  /** Charges {@code copies} copies of a part of {@code states} states, before they are made. */
  void chargeCopies(long states, long copies, String where) {
    // Compared by division: two counts of a billion overflow a long when multiplied.
    if (copies > 0 && states > (MAX_STATES - used) / copies) {
      throw refuse(
          where,
          copies
              + " copies of "
              + states
              + " automaton states would take the format past the "
              + MAX_STATES
              + " it may build");
    }
    used += states * copies;
  }

  /** Charges a part's own states (a leaf: a literal, a character class) and returns it. */
  Automaton leaf(Automaton part, String where) {
    charge(part.getNumberOfStates(), where);
    return part;
  }

  /**
   * The words in the languages of both {@code a} and {@code b}: the product of the two automata,
   * charged a state per reachable pair as it is made. brics' own intersection has no bound, and two
   * long strings' product is built before the DFA's bound could refuse it.
   */
  Automaton intersection(Automaton a, Automaton b, String where) {
    Map<Pair, State> made = new HashMap<>();
    Deque<Pair> pending = new ArrayDeque<>();
    Pair start = new Pair(a.getInitialState(), b.getInitialState());
    State initial = new State();
    made.put(start, initial);
    pending.push(start);
    while (!pending.isEmpty()) {
      Pair pair = pending.pop();
      State from = made.get(pair);
      from.setAccept(pair.a.isAccept() && pair.b.isAccept());
      for (Transition ta : pair.a.getTransitions()) {
        for (Transition tb : pair.b.getTransitions()) {
          char lo = (char) Math.max(ta.getMin(), tb.getMin());
          char hi = (char) Math.min(ta.getMax(), tb.getMax());
          if (lo > hi) {
            continue;
          }
          Pair next = new Pair(ta.getDest(), tb.getDest());
          State to = made.get(next);
          if (to == null) {
            charge(1, where);
            to = new State();
            made.put(next, to);
            pending.push(next);
          }
          from.addTransition(new Transition(lo, hi, to));
        }
      }
    }
    Automaton product = new Automaton();
    product.setInitialState(initial);
    product.setDeterministic(a.isDeterministic() && b.isDeterministic());
    product.removeDeadTransitions();
    return product;
  }

  private static IllegalArgumentException refuse(String where, String what) {
    return new IllegalArgumentException(
        where
            + ": "
            + what
            + "; long repeat counts, maxLength or maxItems add up: simplify the format");
  }

  /** A state of each operand; brics' states are equal only to themselves. */
  private record Pair(State a, State b) {}
}
