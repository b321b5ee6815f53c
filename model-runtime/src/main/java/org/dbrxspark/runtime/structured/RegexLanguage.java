package org.dbrxspark.runtime.structured;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.BasicOperations;
import java.util.ArrayList;
import java.util.List;

/**
 * A user's regular expression as a byte language. The whole output must match (as with Java's
 * {@code Matcher.matches}). The syntax is the common core that Java, Python and POSIX share:
 * literals, {@code .}, {@code [...]} and {@code [^...]} classes, groups {@code (...)}, {@code |}
 * and the repeats {@code ? * + {n} {n,} {n,m}}, with {@code \n \r \t \f} and backslash-escaped
 * punctuation. Anything else is refused by name rather than read differently: class escapes such as
 * {@code \d} (write {@code [0-9]}), back-references, {@code (?...)} groups, and {@code ^} or {@code
 * $} anywhere but at the very ends. Characters are those of the Basic Multilingual Plane.
 *
 * <p>The pattern is parsed here and built with brics' operations, which leave it nondeterministic;
 * brics' own {@code RegExp} determinizes every union and concatenation as it builds them, with no
 * bound on the states, so a pattern such as {@code (a|b)*a(a|b){20}} would run the JVM out of
 * memory instead of being refused by {@link Determinizer}.
 */
final class RegexLanguage {
  /** The deepest groups may nest: parsing is recursive, and 5,000 overflowed the stack. */
  static final int MAX_GROUP_DEPTH = 100;

  private final String pattern;
  private final int end;
  private int at;
  private int depth;
  private final StateBudget budget = new StateBudget();

  private RegexLanguage(String pattern) {
    this.pattern = pattern;
    // The whole output always matches: a leading ^ and a trailing $ say nothing more.
    this.at = pattern.startsWith("^") ? 1 : 0;
    int to = pattern.length();
    this.end = to > at && pattern.charAt(to - 1) == '$' && !escaped(pattern, to - 1) ? to - 1 : to;
  }

  static Automaton of(String pattern) {
    RegexLanguage parser = new RegexLanguage(pattern);
    Automaton chars = parser.alternation();
    if (parser.at < parser.end) {
      throw parser.refuse(parser.at, "an unmatched ')'");
    }
    return Utf8Automata.fromChars(chars, "response_format regex /" + pattern + "/", parser.budget);
  }

  private Automaton alternation() {
    List<Automaton> branches = new ArrayList<>();
    branches.add(concatenation());
    while (at < end && pattern.charAt(at) == '|') {
      at++;
      branches.add(concatenation());
    }
    return branches.size() == 1 ? branches.get(0) : BasicOperations.union(branches);
  }

  private Automaton concatenation() {
    List<Automaton> items = new ArrayList<>();
    while (at < end && pattern.charAt(at) != '|' && pattern.charAt(at) != ')') {
      items.add(repeat());
    }
    return items.isEmpty() ? Automaton.makeEmptyString() : BasicOperations.concatenate(items);
  }

  private Automaton repeat() {
    Automaton a = atom();
    while (at < end) {
      char c = pattern.charAt(at);
      if (c == '?') {
        a = a.optional();
      } else if (c == '*') {
        a = a.repeat();
      } else if (c == '+') {
        a = a.repeat(1);
      } else if (c == '{') {
        int open = at++;
        int min = count(open);
        int max = min;
        if (at < end && pattern.charAt(at) == ',') {
          at++;
          max = at < end && pattern.charAt(at) == '}' ? -1 : count(open);
        }
        if (at >= end || pattern.charAt(at) != '}') {
          throw refuse(open, "a '{' that does not end a repeat {n}, {n,} or {n,m} with '}'");
        }
        budget.chargeCopies(a.getNumberOfStates(), Math.max(min, max), where(open));
        a = max < 0 ? a.repeat(min) : a.repeat(min, max);
      } else {
        return a;
      }
      at++;
    }
    return a;
  }

  /** The ASCII digits of a repeat count at {@link #at} (Java takes no other digits there). */
  private int count(int open) {
    int from = at;
    while (at < end && isDigit(pattern.charAt(at)) && at - from < 7) {
      at++;
    }
    if (at == from || (at < end && isDigit(pattern.charAt(at)))) {
      throw refuse(open, "a repeat count that is not a number of up to 7 digits");
    }
    return Integer.parseInt(pattern, from, at, 10);
  }

  private Automaton atom() {
    int start = at;
    char c = pattern.charAt(at++);
    switch (c) {
      case '(' -> {
        if (at < end && pattern.charAt(at) == '?') {
          throw refuse(start, "'(?' groups (flags, lookaround, non-capturing)");
        }
        if (++depth > MAX_GROUP_DEPTH) {
          throw refuse(start, "groups nested deeper than " + MAX_GROUP_DEPTH);
        }
        Automaton group = alternation();
        depth--;
        if (at >= end || pattern.charAt(at) != ')') {
          throw new IllegalArgumentException(
              "response_format regex /" + pattern + "/: expected ')' at position " + at);
        }
        at++;
        return group;
      }
      case '[' -> {
        return budget.leaf(characterClass(start), where(start));
      }
      case '.' -> {
        return budget.leaf(Automaton.makeAnyChar(), where(start));
      }
      case '\\' -> {
        return budget.leaf(Automaton.makeChar(escape(start)), where(start));
      }
      case '^', '$' ->
          throw refuse(
              start, "the anchor '" + c + "' inside the pattern (the whole output always matches)");
      case '*', '+', '?', '{' -> throw refuse(start, "a repeat '" + c + "' with nothing to repeat");
      default -> {
        return budget.leaf(Automaton.makeChar(c), where(start));
      }
    }
  }

  /** {@code [...]} or {@code [^...]}, from just after its '['; a ']' first is a literal. */
  private Automaton characterClass(int open) {
    boolean negated = at < end && pattern.charAt(at) == '^';
    if (negated) {
      at++;
    }
    boolean[] in = new boolean[Character.MAX_VALUE + 1];
    boolean first = true;
    while (true) {
      if (at >= end) {
        throw refuse(open, "a class '[' with no closing ']'");
      }
      if (pattern.charAt(at) == ']' && !first) {
        at++;
        break;
      }
      first = false;
      char lo = classChar();
      char hi = lo;
      if (at + 1 < end && pattern.charAt(at) == '-' && pattern.charAt(at + 1) != ']') {
        at++;
        hi = classChar();
      }
      for (int ch = lo; ch <= hi; ch++) {
        in[ch] = true;
      }
    }
    List<Automaton> ranges = new ArrayList<>();
    for (int ch = 0; ch <= Character.MAX_VALUE; ) {
      if (in[ch] == negated) {
        ch++;
        continue;
      }
      int from = ch;
      while (ch <= Character.MAX_VALUE && in[ch] != negated) {
        ch++;
      }
      ranges.add(Automaton.makeCharRange((char) from, (char) (ch - 1)));
    }
    return ranges.isEmpty() ? Automaton.makeEmpty() : BasicOperations.union(ranges);
  }

  private char classChar() {
    int start = at;
    char c = pattern.charAt(at++);
    return c == '\\' ? escape(start) : c;
  }

  /** The character a backslash at {@code start} escapes: a control escape or punctuation. */
  private char escape(int start) {
    if (at >= end) {
      throw refuse(start, "a trailing backslash");
    }
    char e = pattern.charAt(at++);
    return switch (e) {
      case 'n' -> '\n';
      case 'r' -> '\r';
      case 't' -> '\t';
      case 'f' -> '\f';
      default -> {
        if (Character.isLetterOrDigit(e)) {
          throw refuse(start, "the escape \\" + e + " (write a class such as [0-9] instead)");
        }
        yield e;
      }
    };
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean escaped(String pattern, int at) {
    int backslashes = 0;
    for (int i = at - 1; i >= 0 && pattern.charAt(i) == '\\'; i--) {
      backslashes++;
    }
    return backslashes % 2 == 1;
  }

  /** The pattern and a position in it, as errors name them. */
  private String where(int position) {
    return "response_format regex /" + pattern + "/ at position " + position;
  }

  private IllegalArgumentException refuse(int position, String what) {
    return new IllegalArgumentException(where(position) + ": unsupported " + what);
  }
}
