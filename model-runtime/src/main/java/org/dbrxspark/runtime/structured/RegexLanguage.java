package org.dbrxspark.runtime.structured;

import dk.brics.automaton.Automaton;
import dk.brics.automaton.RegExp;

/**
 * A user's regular expression as a byte language. The whole output must match (as with Java's
 * {@code Matcher.matches}). The syntax is the common core that Java, Python and POSIX share:
 * literals, {@code .}, {@code [...]} and {@code [^...]} classes, groups {@code (...)}, {@code |}
 * and the repeats {@code ? * + {n} {n,} {n,m}}, with {@code \n \r \t \f} and backslash-escaped
 * punctuation. Anything else is refused by name rather than read differently: class escapes such as
 * {@code \d} (write {@code [0-9]}), back-references, {@code (?...)} groups, and {@code ^} or {@code
 * $} anywhere but at the very ends. Characters are those of the Basic Multilingual Plane.
 */
final class RegexLanguage {
  private RegexLanguage() {}

  static Automaton of(String pattern) {
    String brics = toBrics(pattern);
    Automaton chars;
    try {
      chars = new RegExp(brics, RegExp.NONE).toAutomaton();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "response_format regex /" + pattern + "/: " + e.getMessage(), e);
    }
    return Utf8Automata.fromChars(chars);
  }

  /**
   * Rewrites the pattern into dk.brics syntax, where {@code "} quotes and {@code \n} is a plain n.
   */
  static String toBrics(String pattern) {
    int from = pattern.startsWith("^") ? 1 : 0;
    int to = pattern.length();
    if (to > from && pattern.charAt(to - 1) == '$' && !escaped(pattern, to - 1)) {
      to--;
    }
    StringBuilder out = new StringBuilder();
    boolean inClass = false;
    for (int i = from; i < to; i++) {
      char c = pattern.charAt(i);
      if (c == '[' && !inClass) {
        inClass = true;
        out.append(c);
        // A ']' or '^]' right after '[' is a literal, as in Java.
        if (i + 1 < to && pattern.charAt(i + 1) == '^') {
          out.append(pattern.charAt(++i));
        }
        if (i + 1 < to && pattern.charAt(i + 1) == ']') {
          out.append("\\]");
          i++;
        }
      } else if (c == ']' && inClass) {
        inClass = false;
        out.append(c);
      } else if (c == '\\') {
        if (i + 1 >= to) {
          throw refuse(pattern, i, "a trailing backslash");
        }
        char e = pattern.charAt(++i);
        switch (e) {
          case 'n' -> out.append("\\\n");
          case 'r' -> out.append("\\\r");
          case 't' -> out.append("\\\t");
          case 'f' -> out.append("\\\f");
          default -> {
            if (Character.isLetterOrDigit(e)) {
              throw refuse(
                  pattern, i - 1, "the escape \\" + e + " (write a class such as [0-9] instead)");
            }
            out.append('\\').append(e);
          }
        }
      } else if (c == '"') {
        out.append("\\\"");
      } else if (inClass) {
        out.append(c);
      } else if (c == '(' && i + 1 < to && pattern.charAt(i + 1) == '?') {
        throw refuse(pattern, i, "'(?' groups (flags, lookaround, non-capturing)");
      } else if (c == '^' || c == '$') {
        throw refuse(
            pattern,
            i,
            "the anchor '" + c + "' inside the pattern (the whole output always matches)");
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static boolean escaped(String pattern, int at) {
    int backslashes = 0;
    for (int i = at - 1; i >= 0 && pattern.charAt(i) == '\\'; i--) {
      backslashes++;
    }
    return backslashes % 2 == 1;
  }

  private static IllegalArgumentException refuse(String pattern, int at, String what) {
    return new IllegalArgumentException(
        "response_format regex /" + pattern + "/ at position " + at + ": unsupported " + what);
  }
}
