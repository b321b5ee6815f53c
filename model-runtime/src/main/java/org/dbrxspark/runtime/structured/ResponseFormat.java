package org.dbrxspark.runtime.structured;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dk.brics.automaton.Automaton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * What a generation's text must be: a JSON document valid against a JSON Schema, a match of a
 * regular expression, or one of a list of choices. Written as JSON, in one of three forms:
 *
 * <pre>
 * {"type": "json_schema", "json_schema": {"name": "...", "schema": {...}}}   (OpenAI's form; name and strict optional)
 * {"type": "regex", "regex": "[A-Z][a-z]+"}
 * {"type": "choice", "choice": ["yes", "no"]}
 * </pre>
 *
 * <p>Unknown keys are refused by name. Two formats are equal when their canonical JSON is, which is
 * what compiled formats are cached by.
 *
 * @param kind json_schema, regex or choice
 * @param json the canonical JSON of the whole format
 */
public record ResponseFormat(String kind, String json) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Parses and checks the JSON form (the schema, regex or choices included). */
  public static ResponseFormat parse(String json) {
    ResponseFormat format = unbuilt(json);
    format.language(); // every error now, not when the first row is sampled
    return format;
  }

  /**
   * Parses the JSON form, checking all but the schema, regex or choices: those are checked when the
   * language is built, which {@link CompiledFormat#compile(String)} then does once.
   */
  static ResponseFormat unbuilt(String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "response_format is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("response_format must be a JSON object, got: " + json);
    }
    JsonNode type = root.get("type");
    String kind = type == null || !type.isTextual() ? null : type.textValue();
    if (kind == null || !Set.of("json_schema", "regex", "choice").contains(kind)) {
      throw new IllegalArgumentException(
          "response_format needs \"type\": \"json_schema\", \"regex\" or \"choice\", got " + type);
    }
    onlyKeys(root, "response_format", Set.of("type", kind));
    if (!root.has(kind)) {
      throw new IllegalArgumentException(
          "response_format of type " + kind + " needs the key \"" + kind + "\"");
    }
    return new ResponseFormat(kind, root.toString());
  }

  /**
   * The format a command-line option gives: inline JSON when it starts with <code>{</code>,
   * otherwise the path of a file holding it.
   */
  public static ResponseFormat fromArgument(String argument) {
    return parse(argumentJson(argument));
  }

  /** The JSON text of a command-line option: itself, or the file it names. */
  static String argumentJson(String argument) {
    if (argument.strip().startsWith("{")) {
      return argument;
    }
    try {
      return Files.readString(Path.of(argument));
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "response_format: cannot read the file " + argument + ": " + e, e);
    }
  }

  /** A JSON Schema format. */
  public static ResponseFormat jsonSchema(String schemaJson) {
    try {
      ObjectNode wrapper = JSON.createObjectNode();
      wrapper.putObject("json_schema").set("schema", JSON.readTree(schemaJson));
      return parse(wrapper.put("type", "json_schema").toString());
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "response_format schema is not valid JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** A regular-expression format (see {@link RegexLanguage} for the syntax). */
  public static ResponseFormat regex(String pattern) {
    return parse(JSON.createObjectNode().put("type", "regex").put("regex", pattern).toString());
  }

  /** A format whose text is exactly one of {@code choices}. */
  public static ResponseFormat choice(List<String> choices) {
    ObjectNode root = JSON.createObjectNode().put("type", "choice");
    choices.forEach(root.putArray("choice")::add);
    return parse(root.toString());
  }

  /** The language of this format over UTF-8 bytes (a new automaton on each call). */
  Automaton language() {
    JsonNode root = tree();
    JsonNode spec = root.get(kind);
    // brics automata built from shared constants are not safe to combine concurrently.
    synchronized (ResponseFormat.class) {
      return switch (kind) {
        case "json_schema" -> JsonSchemaLanguage.of(schema(spec));
        case "regex" -> {
          if (!spec.isTextual()) {
            throw new IllegalArgumentException(
                "response_format regex must be a string, got " + spec);
          }
          yield RegexLanguage.of(spec.textValue());
        }
        default -> choices(spec);
      };
    }
  }

  private JsonNode tree() {
    try {
      return JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode schema(JsonNode spec) {
    if (!spec.isObject()) {
      throw new IllegalArgumentException(
          "response_format json_schema must be an object holding \"schema\", got " + spec);
    }
    onlyKeys(
        spec, "response_format json_schema", Set.of("name", "description", "strict", "schema"));
    if (!spec.has("schema")) {
      throw new IllegalArgumentException("response_format json_schema needs the key \"schema\"");
    }
    return spec.get("schema");
  }

  private static Automaton choices(JsonNode spec) {
    if (!spec.isArray() || spec.isEmpty()) {
      throw new IllegalArgumentException(
          "response_format choice must be a non-empty array of strings, got " + spec);
    }
    List<Automaton> options = new ArrayList<>();
    for (JsonNode option : spec) {
      if (!option.isTextual() || option.textValue().isEmpty()) {
        throw new IllegalArgumentException(
            "response_format choice must hold non-empty strings, got " + option);
      }
      options.add(Utf8Automata.literal(option.textValue()));
    }
    return Automaton.union(options);
  }

  private static void onlyKeys(JsonNode node, String where, Set<String> known) {
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!known.contains(name)) {
        throw new IllegalArgumentException(
            where
                + ": unknown key '"
                + name
                + "' (known: "
                + String.join(", ", known.stream().sorted().toList())
                + ")");
      }
    }
  }
}
