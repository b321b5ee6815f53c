package org.dbrxspark.jobs.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One {@code --name value} option: its name, default, description, how its text is parsed and which
 * values it allows. The parser, the validation of values given in code ({@link OptionValues}) and
 * {@code --help} all read the same definitions.
 *
 * @param <T> the parsed value's type
 */
public final class OptionSpec<T> {
  private final String name;
  private final String metavar;
  private final String defaultText;
  private final String description;
  private final Function<String, T> parser;
  private final Consumer<T> check;
  private final List<String> choices;

  private OptionSpec(
      String name,
      String metavar,
      String defaultText,
      String description,
      Function<String, T> parser,
      Consumer<T> check,
      List<String> choices) {
    this.name = Objects.requireNonNull(name);
    this.metavar = metavar;
    this.defaultText = defaultText;
    this.description = Objects.requireNonNull(description);
    this.parser = Objects.requireNonNull(parser);
    this.check = Objects.requireNonNull(check);
    this.choices = List.copyOf(choices);
  }

  /** An option whose every value of type {@code T} is valid. */
  private static <T> OptionSpec<T> unchecked(
      String name,
      String metavar,
      String defaultText,
      String description,
      Function<String, T> parser) {
    return new OptionSpec<>(name, metavar, defaultText, description, parser, v -> {}, List.of());
  }

  /** A free-text option; {@code defaultText == null} makes it required. */
  public static OptionSpec<String> string(String name, String defaultText, String description) {
    return unchecked(name, "TEXT", defaultText, description, s -> s);
  }

  /** A path option; {@code defaultText == null} makes it required. */
  public static OptionSpec<String> path(String name, String defaultText, String description) {
    return unchecked(name, "PATH", defaultText, description, s -> s);
  }

  /** An integer option with an inclusive lower bound. */
  public static OptionSpec<Integer> integer(
      String name, int defaultValue, int min, String description) {
    return new OptionSpec<>(
        name,
        "INT",
        Integer.toString(defaultValue),
        description,
        s -> whole(s, Integer::parseInt),
        v -> atLeast(v, min),
        List.of());
  }

  /** A long option with an inclusive lower bound; {@code defaultText} may be null (required). */
  public static OptionSpec<Long> longValue(
      String name, String defaultText, long min, String description) {
    return new OptionSpec<>(
        name,
        "INT",
        defaultText,
        description,
        s -> whole(s, Long::parseLong),
        v -> atLeast(v, min),
        List.of());
  }

  /** A number in {@code [min, max]}. */
  public static OptionSpec<Double> decimal(
      String name, double defaultValue, double min, double max, String description) {
    return new OptionSpec<>(
        name,
        "NUM",
        format(defaultValue),
        description,
        OptionSpec::number,
        v -> within(v, min, max),
        List.of());
  }

  /** A number in {@code [min, max]} or {@code off}, which disables what the option governs. */
  public static OptionSpec<Optional<Double>> threshold(
      String name, Double defaultValue, double min, double max, String description) {
    String def = defaultValue == null ? "off" : format(defaultValue);
    return new OptionSpec<>(
        name,
        "NUM|off",
        def,
        description,
        s -> "off".equalsIgnoreCase(s.trim()) ? Optional.empty() : Optional.of(number(s)),
        v -> v.ifPresent(d -> within(d, min, max)),
        List.of());
  }

  /** {@code true} or {@code false}. */
  public static OptionSpec<Boolean> bool(String name, boolean defaultValue, String description) {
    return unchecked(
        name,
        "true|false",
        Boolean.toString(defaultValue),
        description,
        s -> {
          String v = s.trim().toLowerCase(Locale.ROOT);
          if (v.equals("true") || v.equals("false")) {
            return Boolean.parseBoolean(v);
          }
          throw new IllegalArgumentException("expected true or false, got '" + s + "'");
        });
  }

  /** A comma-separated list; an empty default means an empty list. */
  public static OptionSpec<List<String>> list(String name, String defaultText, String description) {
    return unchecked(
        name,
        "A,B,...",
        defaultText,
        description,
        s -> {
          List<String> out = new ArrayList<>();
          for (String part : s.split(",")) {
            if (!part.isBlank()) {
              out.add(part.trim());
            }
          }
          return List.copyOf(out);
        });
  }

  /** One of a fixed set of lower-case words. */
  public static OptionSpec<String> choice(
      String name, String defaultText, String description, String... values) {
    List<String> allowed = Arrays.asList(values);
    return new OptionSpec<>(
        name,
        String.join("|", values),
        defaultText,
        description,
        s -> s.trim().toLowerCase(Locale.ROOT),
        v -> {
          if (!allowed.contains(v)) {
            throw new IllegalArgumentException("expected one of " + allowed + ", got '" + v + "'");
          }
        },
        allowed);
  }

  /** A flag: {@code --name} turns it on; {@code --name=false} spells out that it is off. */
  public static OptionSpec<Boolean> flag(String name, String description) {
    return unchecked(name, null, "false", description, Boolean::parseBoolean);
  }

  private static <N> N whole(String s, Function<String, N> parse) {
    try {
      return parse.apply(s.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("expected an integer, got '" + s + "'");
    }
  }

  private static void atLeast(long v, long min) {
    if (v < min) {
      throw new IllegalArgumentException("must be >= " + min + ", got " + v);
    }
  }

  private static double number(String s) {
    try {
      return Double.parseDouble(s.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("expected a number, got '" + s + "'");
    }
  }

  private static void within(double v, double min, double max) {
    if (!(v >= min && v <= max)) {
      throw new IllegalArgumentException(
          "must be in [" + format(min) + ", " + format(max) + "], got " + format(v));
    }
  }

  private static String format(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }

  public String name() {
    return name;
  }

  /** What a value looks like in {@code --help}; null for a flag. */
  public String metavar() {
    return metavar;
  }

  /** The default as text; null when the option is required. */
  public String defaultText() {
    return defaultText;
  }

  public String description() {
    return description;
  }

  /** The values a choice option allows (what shell completion offers); empty for any other. */
  public List<String> choices() {
    return choices;
  }

  public boolean required() {
    return defaultText == null;
  }

  public boolean isFlag() {
    return metavar == null;
  }

  /** Parses {@code text}; an {@link IllegalArgumentException} says what was wrong with it. */
  T parse(String text) {
    return check(parser.apply(text));
  }

  /**
   * Checks a value given as a {@code T} (bounds, choices) as {@link #parse} checks a parsed one; an
   * {@link IllegalArgumentException} says what was wrong with it.
   */
  T check(T value) {
    check.accept(Objects.requireNonNull(value, () -> "no value for --" + name));
    return value;
  }
}
