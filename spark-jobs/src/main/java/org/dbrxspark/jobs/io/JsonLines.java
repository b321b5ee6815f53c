package org.dbrxspark.jobs.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Checks one JSONL line before Spark parses it, so that a line that is not a document row is
 * rejected with a reason instead of becoming a row of nulls.
 */
final class JsonLines {
  /**
   * The reason of an object whose text field is not a string: the rest of its row is still read.
   */
  static final String TEXT_NOT_A_STRING = "text-not-a-string: ";

  /**
   * Lenient where Spark's JSON reader is by default (single quotes, NaN and Infinity), and without
   * Jackson's 20 M-character string limit: the line's size is bounded by {@code
   * --max-document-bytes} before it gets here.
   */
  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
          .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .streamReadConstraints(
              StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
          .build();

  private JsonLines() {}

  /**
   * Why {@code line} is not a document row, or null when it is one: a JSON object whose {@code
   * textField}, when present (and named: null names none), is a string or null. Reasons: {@code
   * malformed-json: } the parser's message, {@code not-an-object: } what the line holds instead,
   * and {@code text-not-a-string: } what the text field holds instead.
   */
  static String problem(String line, String textField) {
    try (JsonParser p = FACTORY.createParser(line)) {
      JsonToken first = p.nextToken();
      if (first != JsonToken.START_OBJECT) {
        return "not-an-object: " + kind(first);
      }
      String problem = null;
      for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
        boolean isText = p.currentName().equals(textField);
        JsonToken value = p.nextToken();
        if (isText && value != JsonToken.VALUE_STRING && value != JsonToken.VALUE_NULL) {
          problem = TEXT_NOT_A_STRING + kind(value);
        }
        p.skipChildren();
      }
      if (p.nextToken() != null) {
        return "malformed-json: more content after the object (column "
            + p.currentTokenLocation().getColumnNr()
            + ")";
      }
      return problem;
    } catch (JsonProcessingException e) {
      String message = e.getOriginalMessage().lines().findFirst().orElse("");
      return "malformed-json: "
          + message
          + (e.getLocation() == null ? "" : " (column " + e.getLocation().getColumnNr() + ")");
    } catch (IOException e) {
      throw new UncheckedIOException("reading a string cannot fail", e);
    }
  }

  private static String kind(JsonToken token) {
    if (token == null) {
      return "nothing";
    }
    return switch (token) {
      case START_ARRAY -> "an array";
      case START_OBJECT -> "an object";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> token.asString() == null ? token.name() : token.asString();
    };
  }
}
