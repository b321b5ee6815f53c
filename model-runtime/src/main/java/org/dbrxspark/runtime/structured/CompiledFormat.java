package org.dbrxspark.runtime.structured;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.State;
import dk.brics.automaton.Transition;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.dbrxspark.runtime.tokenizer.SpecialTokens;

/**
 * A {@link ResponseFormat} compiled against the DBRX vocabulary: a DFA over UTF-8 bytes and, for
 * every DFA state, the set of token ids allowed there. A text token is allowed when its bytes lead
 * the DFA to a live state (one from which the language can still be completed); an end-of-sequence
 * id only in accepting states. Immutable and thread-safe: one instance serves every sequence
 * generating with the format.
 *
 * <p>A state's set depends only on what the DFA does in the next {@link TokenTrie#maxDepth} bytes
 * (the longest token), so compiling first groups the states by that bounded behaviour (Moore's
 * partition refinement, stopped at that depth), then finds each group's set once, by walking the
 * DFA down the {@link TokenTrie} with dead subtrees skipped. The thousands of states of a long
 * bounded string share a few hundred sets. All sets are built at compile time, so decoding only
 * looks them up.
 *
 * <p>Every single byte is a token ({@link TokenTrie} checks it), so every live state has an allowed
 * token and the vocabulary can complete any prefix the masks let through; a format whose language
 * is empty is refused at compile time.
 */
public final class CompiledFormat {
  private static final int[] EOS = {SpecialTokens.ENDOFTEXT, SpecialTokens.IM_END};

  /**
   * The most token sets a format may have. Each takes about a millisecond to find; a JSON array of
   * 50 objects of two fields needs 6,654.
   */
  static final int MAX_MASK_GROUPS = 16_384;

  /**
   * Masks are kept in chunks of this many words (2,048 ids), each distinct chunk once: the masks of
   * a format differ in few places, and five strings' 5,772 masks, 72 MB as whole bit sets (12.5 KB
   * each), share 2,830 chunks: the format takes 4.5 MB in all.
   */
  private static final int CHUNK_WORDS = 32;

  private final ResponseFormat format;

  /** The class of each byte value (see {@link Transitions}). */
  private final int[] byteClass;

  private final int classes;

  /** {@code next[state * classes + byteClass[byte]]}: the next state, or -1 (dead). */
  private final int[] next;

  private final boolean[] accepting;
  private final int start;

  /** The group of each state: states of a group allow the same tokens. */
  private final int[] group;

  /** Each group's mask. */
  private final Mask[] masks;

  /** The distinct chunks of the masks, {@link #CHUNK_WORDS} words each. */
  private final long[][] chunks;

  /** Words in a whole mask. */
  private final int words;

  private final TokenTrie trie;
  private final long compileNanos;

  /**
   * Allowed ids as bits, a chunk number per {@link #CHUNK_WORDS} words, and whether any of them is
   * a text token (not an end of sequence).
   */
  private record Mask(int[] chunks, boolean text) {}

  private CompiledFormat(
      ResponseFormat format,
      Transitions transitions,
      boolean[] accepting,
      int start,
      int[] group,
      TokenTrie trie,
      long began) {
    this.format = format;
    this.byteClass = transitions.byteClass();
    this.classes = transitions.classes();
    this.next = transitions.next();
    this.accepting = accepting;
    this.start = start;
    this.group = group;
    this.trie = trie;
    this.masks = new Mask[Arrays.stream(group).max().orElse(-1) + 1];
    this.words = (trie.bytesById.length + 63) >>> 6;
    Map<LongBuffer, Integer> chunkNumbers = new HashMap<>();
    List<long[]> distinct = new ArrayList<>();
    for (int s = 0; s < group.length; s++) {
      if (masks[group[s]] == null) {
        long[] bits = walk(s);
        int[] numbers = new int[(words + CHUNK_WORDS - 1) / CHUNK_WORDS];
        for (int c = 0; c < numbers.length; c++) {
          long[] chunk = Arrays.copyOfRange(bits, c * CHUNK_WORDS, (c + 1) * CHUNK_WORDS);
          // A LongBuffer compares and hashes by its contents.
          numbers[c] =
              chunkNumbers.computeIfAbsent(
                  LongBuffer.wrap(chunk),
                  k -> {
                    distinct.add(chunk);
                    return distinct.size() - 1;
                  });
        }
        masks[group[s]] = new Mask(numbers, allowsText(bits));
      }
    }
    this.chunks = distinct.toArray(new long[0][]);
    this.compileNanos = System.nanoTime() - began;
  }

  /**
   * Parses and compiles the format written as {@code json}, with {@link ResponseFormat#parse}'s
   * errors. Its automaton is built once: parsing first, then compiling, builds it twice, since
   * {@code parse} builds it to check it.
   *
   * @throws IllegalArgumentException for a bad format, or one that no text matches
   */
  public static CompiledFormat compile(String json) {
    return compile(ResponseFormat.unbuilt(json));
  }

  /**
   * {@link #compile(String)} for a command-line option: the JSON itself, or the file holding it.
   */
  public static CompiledFormat fromArgument(String argument) {
    return compile(ResponseFormat.argumentJson(argument));
  }

  /**
   * Compiles {@code format} against the DBRX tokenizer's vocabulary.
   *
   * @throws IllegalArgumentException when no text matches the format
   */
  public static CompiledFormat compile(ResponseFormat format) {
    long began = System.nanoTime();
    // Not minimized: on long bounded strings brics' minimization costs far more than the states it
    // saves, and states that allow the same tokens share a mask anyway.
    Automaton dfa = Determinizer.determinize(format.language(), "response_format " + format.kind());
    // Empty when no accepting state can be reached: brics' isEmpty() only looks for a start
    // without transitions, and an object whose required member matches nothing has some.
    Set<State> live = dfa.getLiveStates();
    if (!live.contains(dfa.getInitialState())) {
      throw new IllegalArgumentException(
          "response_format " + format.kind() + " matches no text: " + format.json());
    }
    List<State> states = new ArrayList<>(live);
    Map<State, Integer> ids = new HashMap<>();
    for (State s : states) {
      ids.put(s, ids.size());
    }
    boolean[] accepting = new boolean[states.size()];
    for (State s : states) {
      accepting[ids.get(s)] = s.isAccept();
    }
    Transitions transitions = Transitions.of(states, ids);
    TokenTrie trie = TokenTrie.shared();
    int[] group = groups(transitions.next(), transitions.classes(), accepting, trie.maxDepth);
    if (group == null) {
      throw new IllegalArgumentException(
          "response_format "
              + format.kind()
              + ": its "
              + states.size()
              + " automaton states allow more than "
              + MAX_MASK_GROUPS
              + " different token sets, the most a format may have; simplify it: "
              + format.json());
    }
    return new CompiledFormat(
        format, transitions, accepting, ids.get(dfa.getInitialState()), group, trie, began);
  }

  /**
   * The live states' transitions over classes of bytes that lead every state to the same place: a
   * JSON string has 15 classes, so its transitions take 60 bytes a state, not a kilobyte.
   *
   * @param byteClass the class of each byte value
   * @param next {@code next[state * classes + class]}: the next state, or -1 (dead)
   */
  private record Transitions(int[] byteClass, int classes, int[] next) {
    /** Transitions to states not in {@code ids} (dead ones) are left out. */
    static Transitions of(List<State> states, Map<State, Integer> ids) {
      int n = states.size();
      // First one class per run of bytes between transitions' ends, then the runs that lead every
      // state to the same place merged.
      int[] run = new int[256];
      for (State s : states) {
        for (Transition t : s.getTransitions()) {
          run[t.getMin()] = 1;
          if (t.getMax() < 255) {
            run[t.getMax() + 1] = 1;
          }
        }
      }
      run[0] = 0;
      for (int b = 1; b < 256; b++) {
        run[b] += run[b - 1];
      }
      int runs = run[255] + 1;
      int[] byRun = new int[n * runs];
      Arrays.fill(byRun, -1);
      for (State s : states) {
        int id = ids.get(s);
        for (Transition t : s.getTransitions()) {
          Integer to = ids.get(t.getDest());
          if (to != null) {
            for (int r = run[t.getMin()]; r <= run[t.getMax()]; r++) {
              byRun[id * runs + r] = to;
            }
          }
        }
      }
      int[] classOfRun = sameColumns(byRun, n, runs);
      int classes = Arrays.stream(classOfRun).max().orElseThrow() + 1;
      int[] next = new int[n * classes];
      for (int s = 0; s < n; s++) {
        for (int r = 0; r < runs; r++) {
          next[s * classes + classOfRun[r]] = byRun[s * runs + r];
        }
      }
      int[] byteClass = new int[256];
      for (int b = 0; b < 256; b++) {
        byteClass[b] = classOfRun[run[b]];
      }
      return new Transitions(byteClass, classes, next);
    }
  }

  /**
   * Numbers the columns of {@code table} ({@code rows} by {@code columns}) so that equal columns
   * share a number, in order of first appearance.
   */
  private static int[] sameColumns(int[] table, int rows, int columns) {
    Map<IntArrayKey, Integer> numbers = new HashMap<>();
    int[] number = new int[columns];
    for (int c = 0; c < columns; c++) {
      int[] column = new int[rows];
      for (int r = 0; r < rows; r++) {
        column[r] = table[r * columns + c];
      }
      number[c] = numbers.computeIfAbsent(new IntArrayKey(column), k -> numbers.size());
    }
    return number;
  }

  /**
   * Groups states that accept the same byte strings of up to {@code depth} bytes, with the same
   * acceptance after each: round r of the refinement tells apart states that differ within r bytes.
   * Stops early once a round splits no group, and returns null once there are more than {@link
   * #MAX_MASK_GROUPS} (a round only splits groups, so there will be no fewer).
   */
  private static int[] groups(int[] next, int classes, boolean[] accepting, int depth) {
    int n = accepting.length;
    int[][] runs = new int[n][];
    for (int s = 0; s < n; s++) {
      runs[s] = runs(next, classes, s);
    }
    int[] group = new int[n];
    for (int s = 0; s < n; s++) {
      group[s] = accepting[s] ? 1 : 0;
    }
    int count = -1;
    for (int round = 0; round < depth; round++) {
      Map<IntArrayKey, Integer> ids = new HashMap<>();
      int[] refined = new int[n];
      for (int s = 0; s < n; s++) {
        refined[s] = ids.computeIfAbsent(signature(group[s], runs[s], group), k -> ids.size());
      }
      group = refined;
      if (ids.size() > MAX_MASK_GROUPS) {
        return null;
      }
      if (ids.size() == count) {
        break;
      }
      count = ids.size();
    }
    return group;
  }

  /** A state's transitions as {@code {firstClass, lastClass, target}} triples, one per run. */
  private static int[] runs(int[] next, int classes, int s) {
    int[] out = new int[24];
    int n = 0;
    for (int b = 0; b < classes; ) {
      int target = next[s * classes + b];
      int from = b;
      while (b < classes && next[s * classes + b] == target) {
        b++;
      }
      if (target >= 0) {
        if (n + 3 > out.length) {
          out = Arrays.copyOf(out, out.length * 2);
        }
        out[n++] = from;
        out[n++] = b - 1;
        out[n++] = target;
      }
    }
    return Arrays.copyOf(out, n);
  }

  /**
   * A state's group and its transition runs with their targets' groups, as a key that compares by
   * its contents.
   */
  private static IntArrayKey signature(int ownGroup, int[] runs, int[] group) {
    int[] parts = new int[runs.length + 1];
    parts[0] = ownGroup;
    for (int i = 0; i < runs.length; i += 3) {
      parts[i + 1] = runs[i];
      parts[i + 2] = runs[i + 1];
      parts[i + 3] = group[runs[i + 2]];
    }
    return new IntArrayKey(parts);
  }

  /** The allowed ids of state {@code s}: the DFA walked down the token trie. */
  private long[] walk(int s) {
    long[] bits = new long[words];
    // stack[d] is the state after a node's first d bytes.
    int[] stack = new int[trie.maxDepth + 1];
    stack[0] = s;
    for (int i = 0; i < trie.size(); ) {
      int t = next[stack[trie.depth[i] - 1] * classes + byteClass[trie.label[i] & 0xFF]];
      if (t < 0) {
        i = trie.subtreeEnd[i];
        continue;
      }
      stack[trie.depth[i]] = t;
      int token = trie.token[i];
      if (token >= 0) {
        bits[token >>> 6] |= 1L << token;
      }
      i++;
    }
    if (accepting[s]) {
      for (int eos : EOS) {
        bits[eos >>> 6] |= 1L << eos;
      }
    }
    return bits;
  }

  private static boolean allowsText(long[] bits) {
    for (int v = 0; v < SpecialTokens.ENDOFTEXT; v++) {
      if ((bits[v >>> 6] & (1L << v)) != 0) {
        return true;
      }
    }
    return false;
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
   * the tokenizer's vocabulary (a model's padding rows) are never allowed. A new array on each
   * call.
   */
  public long[] allowed(int state) {
    int[] numbers = masks[group[state]].chunks();
    long[] bits = new long[words];
    for (int c = 0; c < numbers.length; c++) {
      int from = c * CHUNK_WORDS;
      System.arraycopy(chunks[numbers[c]], 0, bits, from, Math.min(CHUNK_WORDS, words - from));
    }
    return bits;
  }

  /** The state after a text token allowed in {@code state}. */
  public int advance(int state, int token) {
    int s = state;
    for (byte b : trie.bytesById[token]) {
      s = next[s * classes + byteClass[b & 0xFF]];
    }
    return s;
  }

  /** Whether the text that led to {@code state} matches the format. */
  public boolean accepting(int state) {
    return accepting[state];
  }

  /** Whether {@code state} matches and no longer text would: generation ends here. */
  public boolean complete(int state) {
    return accepting[state] && !masks[group[state]].text();
  }

  /**
   * DFA states, their groups (distinct masks), byte classes, mask chunks, heap and the compile
   * time: for logs and benchmarks.
   */
  public String stats() {
    return String.format(
        Locale.ROOT,
        "%d DFA states in %d mask groups (%d byte classes, %d mask chunks, %.1f MB), compiled in"
            + " %d ms",
        accepting.length,
        masks.length,
        classes,
        chunks.length,
        bytes() / 1e6,
        compileNanos / 1_000_000);
  }

  /**
   * About the heap this holds: its transitions, groups and masks (the vocabulary trie is shared).
   */
  public long bytes() {
    long maskBytes =
        masks.length * (32L + 4L * ((words + CHUNK_WORDS - 1) / CHUNK_WORDS))
            + chunks.length * (16L + 8L * CHUNK_WORDS);
    return 4L * next.length
        + 4L * byteClass.length
        + accepting.length
        + 4L * group.length
        + maskBytes;
  }

  /** How long {@link #compile} took. */
  public long compileNanos() {
    return compileNanos;
  }
}
