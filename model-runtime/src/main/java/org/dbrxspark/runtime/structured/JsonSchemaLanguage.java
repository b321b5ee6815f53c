package org.dbrxspark.runtime.structured;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dk.brics.automaton.Automaton;
import dk.brics.automaton.State;
import dk.brics.automaton.Transition;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON texts a JSON Schema accepts, as a regular language over UTF-8 bytes, kept finite where
 * JSON is not: between tokens there is no whitespace or one space; integer and fraction parts have
 * at most 16 digits and exponents at most 2; object members come in the order of {@code properties}
 * (required ones always, optional ones or not); strings use no {@code \\u} escapes. Every text of
 * the language validates against the schema.
 *
 * <p>Supported: {@code type} (a name or a list of names), {@code enum}, {@code const}, {@code
 * anyOf}, {@code properties}, {@code required}, {@code additionalProperties} (true or false; only
 * the listed properties are generated), {@code items}, {@code minItems}, {@code maxItems}, {@code
 * minLength}, {@code maxLength}, and the annotations {@code title}, {@code description}, {@code
 * $schema}, {@code $id}, {@code $comment}, {@code examples} and {@code default}. Any other keyword
 * is refused with the JSON pointer of its schema node, never ignored.
 */
final class JsonSchemaLanguage {
  static final int MAX_DIGITS = 16;
  private static final int MAX_EXPONENT_DIGITS = 2;

  /**
   * The deepest a schema may nest. Building is recursive: a schema nested 900 levels deep took 46 s
   * to overflow the stack.
   */
  static final int MAX_DEPTH = 64;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> KEYWORDS =
      Set.of(
          "type",
          "enum",
          "const",
          "anyOf",
          "properties",
          "required",
          "additionalProperties",
          "items",
          "minItems",
          "maxItems",
          "minLength",
          "maxLength");
  private static final Set<String> ANNOTATIONS =
      Set.of("title", "description", "$schema", "$id", "$comment", "examples", "default");

  private static final Automaton WS = Utf8Automata.ascii(' ').optional();
  private static final Automaton DIGIT = Automaton.makeCharRange('0', '9');
  private static final Automaton INTEGER =
      Utf8Automata.ascii('-')
          .optional()
          .concatenate(
              Utf8Automata.ascii('0')
                  .union(
                      Automaton.makeCharRange('1', '9')
                          .concatenate(DIGIT.repeat(0, MAX_DIGITS - 1))));
  private static final Automaton NUMBER =
      INTEGER
          .concatenate(Utf8Automata.ascii('.').concatenate(DIGIT.repeat(1, MAX_DIGITS)).optional())
          .concatenate(
              Automaton.makeCharSet("eE")
                  .concatenate(Automaton.makeCharSet("+-").optional())
                  .concatenate(DIGIT.repeat(1, MAX_EXPONENT_DIGITS))
                  .optional());

  /**
   * One character of a JSON string: any code point but controls, quote and backslash, or a short
   * escape.
   */
  private static final Automaton STRING_CHAR =
      Utf8Automata.codePoints(0x20, 0x21)
          .union(Utf8Automata.codePoints(0x23, 0x5B))
          .union(Utf8Automata.codePoints(0x5D, 0x10FFFF))
          .union(Utf8Automata.ascii('\\').concatenate(Automaton.makeCharSet("\"\\/bfnrt")));

  private final StateBudget budget = new StateBudget();

  private JsonSchemaLanguage() {}

  /** The language of {@code schema}; the empty language when nothing can satisfy it. */
  static Automaton of(JsonNode schema) {
    return new JsonSchemaLanguage().value(schema, "", 1);
  }

  private Automaton value(JsonNode schema, String pointer, int depth) {
    if (depth > MAX_DEPTH) {
      throw error(pointer, "schemas nested deeper than " + MAX_DEPTH + " levels");
    }
    if (!schema.isObject()) {
      throw error(pointer, "a schema must be a JSON object, got " + schema);
    }
    for (Iterator<String> names = schema.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!KEYWORDS.contains(name) && !ANNOTATIONS.contains(name)) {
        throw error(pointer, "unsupported keyword '" + name + "'");
      }
    }
    // The keywords hold together, as in JSON Schema: the value is in each one's language.
    List<Automaton> all = new ArrayList<>();
    if (schema.has("const")) {
      all.add(leaf(literal(schema.get("const")), pointer + "/const"));
    }
    if (schema.has("enum")) {
      JsonNode values = schema.get("enum");
      if (!values.isArray() || values.isEmpty()) {
        throw error(pointer + "/enum", "enum must be a non-empty array");
      }
      List<Automaton> choices = new ArrayList<>();
      values.forEach(v -> choices.add(leaf(literal(v), pointer + "/enum")));
      all.add(Automaton.union(choices));
    }
    if (schema.has("anyOf")) {
      JsonNode options = schema.get("anyOf");
      if (!options.isArray() || options.isEmpty()) {
        throw error(pointer + "/anyOf", "anyOf must be a non-empty array of schemas");
      }
      List<Automaton> choices = new ArrayList<>();
      for (int i = 0; i < options.size(); i++) {
        choices.add(value(options.get(i), pointer + "/anyOf/" + i, depth + 1));
      }
      all.add(Automaton.union(choices));
    }
    if (schema.has("type")) {
      List<Automaton> choices = new ArrayList<>();
      for (String type : types(schema.get("type"), pointer + "/type")) {
        choices.add(typed(schema, type, pointer, depth));
      }
      all.add(Automaton.union(choices));
    }
    if (all.isEmpty()) {
      throw error(
          pointer,
          "a schema needs 'type', 'enum', 'const' or 'anyOf' (any JSON value is not a regular language)");
    }
    Automaton language = all.get(0);
    for (Automaton other : all.subList(1, all.size())) {
      language = budget.intersection(language, other, where(pointer));
    }
    return language;
  }

  private static Set<String> types(JsonNode type, String pointer) {
    Set<String> names = new LinkedHashSet<>();
    if (type.isTextual()) {
      names.add(type.textValue());
    } else if (type.isArray() && !type.isEmpty()) {
      type.forEach(t -> names.add(t.isTextual() ? t.textValue() : ""));
    }
    if (names.isEmpty() || names.contains("")) {
      throw error(pointer, "type must be a type name or a non-empty array of them, got " + type);
    }
    return names;
  }

  private Automaton typed(JsonNode schema, String type, String pointer, int depth) {
    return switch (type) {
      case "string" -> string(schema, pointer);
      case "integer" -> leaf(INTEGER, pointer);
      case "number" -> leaf(NUMBER, pointer);
      case "boolean" ->
          leaf(Utf8Automata.literal("true").union(Utf8Automata.literal("false")), pointer);
      case "null" -> leaf(Utf8Automata.literal("null"), pointer);
      case "object" -> object(schema, pointer, depth);
      case "array" -> array(schema, pointer, depth);
      default -> throw error(pointer + "/type", "unknown type '" + type + "'");
    };
  }

  private Automaton string(JsonNode schema, String pointer) {
    int min = count(schema, "minLength", pointer, 0);
    Automaton quote = Utf8Automata.ascii('"');
    int max = schema.has("maxLength") ? count(schema, "maxLength", pointer, 0) : -1;
    if (max >= 0 && max < min) {
      return Automaton.makeEmpty();
    }
    budget.chargeCopies(
        STRING_CHAR.getNumberOfStates(),
        max < 0 ? min + 1L : max + 1L,
        where(pointer + (max < 0 ? "/minLength" : "/maxLength")));
    Automaton chars = Utf8Automata.repeatPrefixFree(STRING_CHAR, min, max);
    return quote.concatenate(chars).concatenate(quote);
  }

  private Automaton object(JsonNode schema, String pointer, int depth) {
    JsonNode additional = schema.get("additionalProperties");
    if (additional != null && !additional.isBoolean()) {
      throw error(
          pointer + "/additionalProperties",
          "only true or false is supported (only the listed properties are generated)");
    }
    JsonNode properties =
        schema.has("properties") ? schema.get("properties") : JSON.createObjectNode();
    if (!properties.isObject()) {
      throw error(pointer + "/properties", "properties must be an object");
    }
    Set<String> required = new LinkedHashSet<>();
    if (schema.has("required")) {
      JsonNode names = schema.get("required");
      if (!names.isArray()) {
        throw error(pointer + "/required", "required must be an array of property names");
      }
      for (JsonNode name : names) {
        if (!name.isTextual() || !properties.has(name.textValue())) {
          throw error(
              pointer + "/required", "required names " + name + ", which is not in properties");
        }
        required.add(name.textValue());
      }
    }
    List<Automaton> members = new ArrayList<>();
    List<Boolean> optional = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> p = it.next();
      String at = pointer + "/properties/" + escape(p.getKey());
      Automaton value = value(p.getValue(), at, depth + 1);
      members.add(
          leaf(literal(JSON.getNodeFactory().textNode(p.getKey())), at)
              .concatenate(WS)
              .concatenate(Utf8Automata.ascii(':'))
              .concatenate(WS)
              .concatenate(value));
      optional.add(!required.contains(p.getKey()));
    }
    Automaton open = Utf8Automata.ascii('{').concatenate(WS);
    Automaton close = Utf8Automata.ascii('}');
    Automaton filled =
        members.isEmpty()
            ? Automaton.makeEmpty()
            : open.concatenate(members(members, optional, pointer))
                .concatenate(WS)
                .concatenate(close);
    return required.isEmpty() ? filled.union(open.concatenate(close)) : filled;
  }

  /**
   * One or more members in order, comma-separated; optional ones may be absent. Built without
   * copies: after member k (and at the start), the states that may follow lead into each member the
   * object may have next, up to the next required one. Building one alternative per possible first
   * member copied the later members each time, and an object of 300 optional properties took
   * minutes. Those ways in are charged to the budget as states: with every member optional there
   * are about n^2 of them.
   */
  private Automaton members(List<Automaton> members, List<Boolean> optional, String pointer) {
    int n = members.size();
    String where = where(pointer + "/properties");
    State start = new State();
    enter(start, 0, members, optional, where);
    // after[k]: a member ended, and the next one present is k or later.
    State[] after = new State[n + 1];
    for (int k = n; k >= 0; k--) {
      after[k] = new State();
      after[k].setAccept(k == n || (optional.get(k) && after[k + 1].isAccept()));
      if (k < n) {
        State space = new State();
        State comma = new State();
        State commaSpace = new State();
        after[k].addTransition(new Transition(' ', space));
        after[k].addTransition(new Transition(',', comma));
        space.addTransition(new Transition(',', comma));
        comma.addTransition(new Transition(' ', commaSpace));
        enter(comma, k, members, optional, where);
        enter(commaSpace, k, members, optional, where);
      }
    }
    for (int k = 0; k < n; k++) {
      for (State end : members.get(k).getAcceptStates()) {
        end.setAccept(after[k + 1].isAccept());
        for (Transition t : after[k + 1].getTransitions()) {
          end.addTransition(new Transition(t.getMin(), t.getMax(), t.getDest()));
        }
      }
    }
    Automaton a = new Automaton();
    a.setInitialState(start);
    a.setDeterministic(false);
    return a;
  }

  /** Gives {@code from} the ways into member {@code k} and each later one up to a required one. */
  private void enter(
      State from, int k, List<Automaton> members, List<Boolean> optional, String where) {
    for (int j = k; j < members.size(); j++) {
      for (Transition t : members.get(j).getInitialState().getTransitions()) {
        budget.charge(1, where);
        from.addTransition(new Transition(t.getMin(), t.getMax(), t.getDest()));
      }
      if (!optional.get(j)) {
        break;
      }
    }
  }

  private Automaton array(JsonNode schema, String pointer, int depth) {
    if (!schema.has("items")) {
      throw error(
          pointer, "an array schema needs 'items' (any JSON value is not a regular language)");
    }
    Automaton item = value(schema.get("items"), pointer + "/items", depth + 1);
    int min = count(schema, "minItems", pointer, 0);
    Integer max = schema.has("maxItems") ? count(schema, "maxItems", pointer, 0) : null;
    Automaton open = Utf8Automata.ascii('[').concatenate(WS);
    Automaton close = Utf8Automata.ascii(']');
    Automaton more = WS.concatenate(Utf8Automata.ascii(',')).concatenate(WS).concatenate(item);
    budget.chargeCopies(
        more.getNumberOfStates(),
        max == null ? min : Math.max(min, max),
        where(pointer + (max == null ? "/minItems" : "/maxItems")));
    Automaton rest =
        max == null
            ? more.repeat(Math.max(0, min - 1))
            : more.repeat(Math.max(0, min - 1), max - 1);
    Automaton filled =
        max != null && max == 0
            ? Automaton.makeEmpty()
            : open.concatenate(item).concatenate(rest).concatenate(WS).concatenate(close);
    return min == 0 ? filled.union(open.concatenate(close)) : filled;
  }

  private static int count(JsonNode schema, String keyword, String pointer, int least) {
    JsonNode v = schema.get(keyword);
    if (v == null) {
      return least;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
      throw error(pointer + "/" + keyword, keyword + " must be a non-negative integer, got " + v);
    }
    return v.intValue();
  }

  /** A value written as compact JSON, exactly. */
  private static Automaton literal(JsonNode value) {
    try {
      return Utf8Automata.literal(JSON.writeValueAsString(value));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A property name as a JSON pointer token (RFC 6901). */
  private static String escape(String name) {
    return name.replace("~", "~0").replace("/", "~1");
  }

  /** Charges a leaf's states to the format's budget. */
  private Automaton leaf(Automaton part, String pointer) {
    return budget.leaf(part, where(pointer));
  }

  /** The schema node at {@code pointer}, as errors name it. */
  private static String where(String pointer) {
    return "response_format schema at " + (pointer.isEmpty() ? "/" : pointer);
  }

  private static IllegalArgumentException error(String pointer, String message) {
    return new IllegalArgumentException(where(pointer) + ": " + message);
  }
}
