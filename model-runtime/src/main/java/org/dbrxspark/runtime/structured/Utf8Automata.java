package org.dbrxspark.runtime.structured;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.State;
import dk.brics.automaton.Transition;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Automata over UTF-8 bytes, written as brics automata whose "characters" are the byte values
 * 0-255: code point ranges, literal strings, and the byte form of a character automaton.
 */
final class Utf8Automata {
  private static final int SURROGATE_MIN = 0xD800;
  private static final int SURROGATE_MAX = 0xDFFF;

  /** Last code point of each UTF-8 length (1 to 4 bytes). */
  private static final int[] LENGTH_ENDS = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};

  private Utf8Automata() {}

  /** The UTF-8 bytes of {@code text}. */
  static Automaton literal(String text) {
    return Automaton.makeString(
        new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
  }

  /** One byte. */
  static Automaton ascii(char c) {
    return Automaton.makeChar(c);
  }

  /** The UTF-8 encodings of the code points in [lo, hi], surrogates excluded. */
  static Automaton codePoints(int lo, int hi) {
    State start = new State();
    State end = new State();
    end.setAccept(true);
    for (int[][] path : byteRanges(lo, hi)) {
      addPath(start, path, end);
    }
    Automaton a = new Automaton();
    a.setInitialState(start);
    a.setDeterministic(false);
    return a;
  }

  /**
   * The byte form of an automaton over UTF-16 characters: each transition's characters become their
   * UTF-8 sequences. Surrogate code units are dropped, so only characters of the Basic Multilingual
   * Plane are kept. The result is deterministic.
   *
   * @param what the format, for the error when the DFA would have over {@link
   *     Determinizer#MAX_STATES} states, or the byte sequences' states pass the budget
   * @param budget charged the states between a sequence's bytes: a character of {@code .} takes
   *     eleven byte states against its two, and {@code (.{1000}){400}} ran a 512 MB JVM out of
   *     memory
   */
  static Automaton fromChars(Automaton chars, String what, StateBudget budget) {
    Map<State, State> copy = new HashMap<>();
    for (State s : chars.getStates()) {
      State b = new State();
      b.setAccept(s.isAccept());
      copy.put(s, b);
    }
    for (State s : chars.getStates()) {
      for (Transition t : s.getTransitions()) {
        for (int[][] path : byteRanges(t.getMin(), t.getMax())) {
          budget.charge(path.length - 1, what);
          addPath(copy.get(s), path, copy.get(t.getDest()));
        }
      }
    }
    Automaton a = new Automaton();
    a.setInitialState(copy.get(chars.getInitialState()));
    a.setDeterministic(false);
    // Not minimized, as in CompiledFormat: brics' minimization took 50 s on a DFA of 131,072
    // states, and states that allow the same tokens share a mask anyway.
    return Determinizer.determinize(a, what);
  }

  /**
   * {@code unit} repeated {@code min} to {@code max} times ({@code max < 0}: unbounded), built as a
   * DFA directly: brics' own bounded repeat makes each optional copy an epsilon branch, and
   * determinizing that is quadratic in {@code max}. Needs a prefix-free unit (no word of it is a
   * prefix of another, as for one character), whose minimal DFA has one accepting state with no way
   * out; each repeat is then a layer whose accepting state is the next layer's start.
   */
  static Automaton repeatPrefixFree(Automaton unit, int min, int max) {
    Automaton dfa = unit.clone();
    dfa.minimize();
    List<State> states = new ArrayList<>(dfa.getStates());
    State end = dfa.getAcceptStates().stream().findFirst().orElseThrow();
    if (dfa.getAcceptStates().size() != 1
        || !end.getTransitions().isEmpty()
        || end == dfa.getInitialState()) {
      throw new IllegalStateException("not a prefix-free unit");
    }
    states.remove(end);
    int layers = max < 0 ? min + 1 : max + 1;
    List<Map<State, State>> copies = new ArrayList<>();
    for (int k = 0; k < layers; k++) {
      Map<State, State> copy = new HashMap<>();
      for (State s : states) {
        copy.put(s, new State());
      }
      copy.get(dfa.getInitialState()).setAccept(k >= min);
      copies.add(copy);
    }
    for (int k = 0; k < layers; k++) {
      boolean last = k == layers - 1;
      if (last && max >= 0) {
        break; // the last layer is only its start: max repeats done
      }
      // Unbounded: the last layer loops on itself.
      State nextStart = copies.get(last ? k : k + 1).get(dfa.getInitialState());
      for (State s : states) {
        for (Transition t : s.getTransitions()) {
          State to = t.getDest() == end ? nextStart : copies.get(k).get(t.getDest());
          copies.get(k).get(s).addTransition(new Transition(t.getMin(), t.getMax(), to));
        }
      }
    }
    Automaton a = new Automaton();
    a.setInitialState(copies.get(0).get(dfa.getInitialState()));
    a.setDeterministic(true);
    return a;
  }

  private static void addPath(State from, int[][] path, State to) {
    State at = from;
    for (int i = 0; i < path.length; i++) {
      State next = i == path.length - 1 ? to : new State();
      at.addTransition(new Transition((char) path[i][0], (char) path[i][1], next));
      at = next;
    }
  }

  /**
   * The code points [lo, hi] (surrogates left out) as byte-range paths: each path is one {@code
   * {min, max}} range per byte, and a byte string matches the range set exactly when it is the
   * UTF-8 encoding of one of the code points.
   */
  static List<int[][]> byteRanges(int lo, int hi) {
    List<int[][]> out = new ArrayList<>();
    int from = lo;
    for (int end : LENGTH_ENDS) {
      int to = Math.min(hi, end);
      if (from <= to) {
        if (from <= SURROGATE_MAX && to >= SURROGATE_MIN) {
          split(from, SURROGATE_MIN - 1, out);
          split(SURROGATE_MAX + 1, to, out);
        } else {
          split(from, to, out);
        }
        from = to + 1;
      }
    }
    return out;
  }

  /**
   * Splits [lo, hi] (one UTF-8 length, no surrogates) until each piece's encodings form a product
   * of byte ranges: at every continuation position, either lo and hi agree on the higher bits, or
   * the piece covers all 64 values below them.
   */
  private static void split(int lo, int hi, List<int[][]> out) {
    if (lo > hi) {
      return;
    }
    int length = utf8(lo).length;
    for (int i = 1; i < length; i++) {
      int low = (1 << (6 * i)) - 1;
      if ((lo & ~low) != (hi & ~low)) {
        if ((lo & low) != 0) {
          split(lo, lo | low, out);
          split((lo | low) + 1, hi, out);
          return;
        }
        if ((hi & low) != low) {
          split(lo, (hi & ~low) - 1, out);
          split(hi & ~low, hi, out);
          return;
        }
      }
    }
    byte[] a = utf8(lo);
    byte[] b = utf8(hi);
    int[][] path = new int[length][];
    for (int k = 0; k < length; k++) {
      path[k] = new int[] {a[k] & 0xFF, b[k] & 0xFF};
    }
    out.add(path);
  }

  private static byte[] utf8(int codePoint) {
    return new String(Character.toChars(codePoint)).getBytes(StandardCharsets.UTF_8);
  }
}
