package org.dbrxspark.jobs.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Checks one JSONL line before Spark parses it, so that a line that is not a document row is
 * rejected with a reason instead of becoming a row of nulls.
 */
final class JsonLines {
  /** The reason of a line that is not JSON: the rest of the line is not read. */
  static final String MALFORMED_JSON = "malformed-json: ";

  /** The reason of a line that is JSON but not an object: the rest of the line is not read. */
  static final String NOT_AN_OBJECT = "not-an-object: ";

  /** What the checked field of a line must hold for the line to be a row. */
  enum Check {
    /** A string (or null). */
    STRING,
    /** A chat: an array of objects whose {@code role} and {@code content} are strings (or null). */
    CHAT
  }

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

  /** Eight bytes of a byte array as one long. */
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

  private JsonLines() {}

  /**
   * Why {@code line} is not a row, or null when it is one: a JSON object whose {@code field}, when
   * present (and named: null names none), holds what {@code check} asks for, or null. Reasons:
   * {@code malformed-json: } the parser's message, {@code not-an-object: } what the line holds
   * instead, and for the field {@code <name>-not-a-string: } what it holds instead, or {@code
   * <name>-not-a-chat: } what is wrong with the chat; the rest of such an object's row is still
   * read.
   *
   * @param name what the reason calls the field: {@code text} for a document's text, whatever its
   *     column, so that the reasons of every document job are the same; the column otherwise
   */
  static String problem(String line, String field, String name, Check check) {
    try (JsonParser p = FACTORY.createParser(line)) {
      return problem(p, field, name, check);
    } catch (JsonProcessingException e) {
      String message = e.getOriginalMessage().lines().findFirst().orElse("");
      return MALFORMED_JSON
          + message
          + (e.getLocation() == null ? "" : " (column " + e.getLocation().getColumnNr() + ")");
    } catch (IOException e) {
      throw new UncheckedIOException("reading a string cannot fail", e);
    }
  }

  /**
   * {@link #problem(String, String, String, Check)} of the line whose UTF-8 bytes are {@code line},
   * which must be valid UTF-8. Parsing the bytes costs about a quarter of decoding and parsing the
   * characters, so a line is parsed from its bytes first; only a line found wanting there is parsed
   * again from its characters, whose reason is the one given (the byte parser's messages differ,
   * and its columns count bytes).
   */
  static String problem(byte[] line, String field, String name, Check check) {
    // On bytes that start with '{' and a byte that is not 0, Jackson reads UTF-8 (zero bytes
    // there would make it guess UTF-16 or UTF-32): the same characters as the decoded line.
    if (line.length > 1 && line[0] == '{' && line[1] != 0) {
      try (JsonParser p = FACTORY.createParser(line)) {
        if (problem(p, field, name, check) == null) {
          return null;
        }
      } catch (IOException e) {
        // Malformed: the reason comes from the characters, below.
      }
    }
    return problem(new String(line, StandardCharsets.UTF_8), field, name, check);
  }

  private static String problem(JsonParser p, String field, String name, Check check)
      throws IOException {
    JsonToken first = p.nextToken();
    if (first != JsonToken.START_OBJECT) {
      return NOT_AN_OBJECT + kind(first);
    }
    String problem = null;
    for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
      boolean checked = p.currentName().equals(field);
      JsonToken value = p.nextToken();
      if (checked && check == Check.CHAT) {
        problem = chatProblem(p, name + "-not-a-chat: ");
      } else if (checked && value != JsonToken.VALUE_STRING && value != JsonToken.VALUE_NULL) {
        problem = name + "-not-a-string: " + kind(value);
      }
      p.skipChildren();
    }
    if (p.nextToken() != null) {
      return MALFORMED_JSON
          + "more content after the object (column "
          + p.currentTokenLocation().getColumnNr()
          + ")";
    }
    return problem;
  }

  /**
   * Whether {@code line} is valid UTF-8 that does not start with a byte-order mark: the bytes of
   * the line that {@link DocumentReader} reads from it, unchanged. Most lines are ASCII, which is
   * checked eight bytes at a time; the others are checked by Spark, which repairs them.
   */
  static boolean isPlainUtf8(byte[] line) {
    int i = 0;
    for (; i + Long.BYTES <= line.length; i += Long.BYTES) {
      if (((long) LONGS.get(line, i) & 0x8080808080808080L) != 0) {
        return isRepairedUnchanged(line);
      }
    }
    for (; i < line.length; i++) {
      if (line[i] < 0) {
        return isRepairedUnchanged(line);
      }
    }
    return true;
  }

  private static boolean isRepairedUnchanged(byte[] line) {
    boolean bom =
        line.length >= 3
            && line[0] == (byte) 0xEF
            && line[1] == (byte) 0xBB
            && line[2] == (byte) 0xBF;
    return !bom && UTF8String.fromBytes(line).isValid();
  }

  /**
   * What is wrong with the chat value at the parser's current token, or null: reads the value to
   * its end (an array's end, or the value itself).
   */
  private static String chatProblem(JsonParser p, String reason) throws IOException {
    JsonToken value = p.currentToken();
    if (value == JsonToken.VALUE_NULL) {
      return null;
    }
    if (value != JsonToken.START_ARRAY) {
      return reason + kind(value);
    }
    String problem = null;
    int i = 0;
    for (JsonToken m = p.nextToken(); m != null && m != JsonToken.END_ARRAY; m = p.nextToken()) {
      String found = m == JsonToken.START_OBJECT ? messageProblem(p) : "is " + kind(m);
      p.skipChildren();
      if (problem == null && found != null) {
        problem = reason + "message " + i + " " + found;
      }
      i++;
    }
    return problem;
  }

  /**
   * What is wrong with the message object that the parser has just entered, or null: reads it to
   * its end.
   */
  private static String messageProblem(JsonParser p) throws IOException {
    String problem = null;
    boolean role = false;
    boolean content = false;
    for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
      String name = p.currentName();
      JsonToken value = p.nextToken();
      if (name.equals("role") || name.equals("content")) {
        role |= name.equals("role");
        content |= name.equals("content");
        if (value != JsonToken.VALUE_STRING && problem == null) {
          problem = "has a " + name + " that is " + kind(value);
        }
      }
      p.skipChildren();
    }
    if (problem == null && !(role && content)) {
      problem = "has no " + (role ? "content" : "role");
    }
    return problem;
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
