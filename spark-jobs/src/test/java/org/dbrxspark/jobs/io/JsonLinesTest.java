package org.dbrxspark.jobs.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;

/**
 * The checks of a line from its bytes give what the checks of its characters give: a shortcut may
 * never call a line a row that the characters reject, nor change a reason.
 */
class JsonLinesTest {
  /** Lines that are rows, lines that are not, and lines that Jackson reads oddly from bytes. */
  private static final List<String> LINES =
      List.of(
          "{\"id\": \"a\", \"text\": \"plain\"}",
          "{\"id\": \"b\", \"text\": null, \"n\": [1, 2.5, NaN, -Infinity], \"o\": {\"x\": []}}",
          "{'id': 'single quotes', \"text\": 'caf\u00e9'}",
          "{\"id\": \"c\", \"text\": \"\\u00e9\\n\\\"\\ud83d\\ude00 \u00e9 \u4e16\u754c \ud83d\ude00\"}",
          "{\"\u00e9t\u00e9\": 1, \"text\": \"a name that is not ASCII\"}",
          "{\"id\": \"d\", \"text\": 5}",
          "{\"id\": \"e\", \"text\": [\"an\", \"array\"]}",
          "{\"id\": \"f\", \"text\": \"two objects\"} {\"id\": \"g\"}",
          "{\"id\": \"h\", \"text\": \"trailing\"} garbage",
          "{\"id\": \"i\", \"text\": \"unterminated",
          "{\"id\": \"j\", \"text\": \"a raw\ttab\"}",
          "{\"id\": \"k\", \"text\": \"\u00e9\u00e9\u00e9\u00e9 then a raw NUL \u0000\"}",
          "{\"id\": \"l\", \"text\": \"ok\"}\u0000",
          "{\"id\": \"m\", \"text\": \"ok\"}\u00a0",
          "{\"id\": \"n\", \"text\": \"ok\"}\ufeff",
          "{\u0000}\u0000",
          "{\u0000\u0000\u0000",
          "\ufeff{\"id\": \"a byte-order mark\", \"text\": \"left after the first\"}",
          " {\"id\": \"leading space\", \"text\": \"x\"}",
          "[{\"id\": \"in an array\"}]",
          "\"a bare string\"",
          "{",
          "{}",
          "{\"text\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
          "{\"text\": [{\"role\": \"user\"}, 7]}",
          "{\"id\": 1e999999, \"text\": \"a big number\"}",
          "{\"id\": 0012, \"text\": \"a leading zero\"}",
          "{\"id\": \"o\", \"text\": \"x\", \"id\": \"twice\"}");

  @Test
  void bytesAndCharactersGiveTheSameReasons() {
    for (String line : LINES) {
      assertSameProblems(line);
    }
  }

  /** Every line above with a character of JSON's syntax (or not) put in, taken out or changed. */
  @Test
  void bytesAndCharactersGiveTheSameReasonsForDamagedLines() {
    String[] pieces = {
      "{",
      "}",
      "[",
      "]",
      "\"",
      "'",
      ":",
      ",",
      "\\",
      "\\u",
      "\\ud800",
      " ",
      "\t",
      "\n",
      "\u0000",
      "\u00e9",
      "\ud83d\ude00",
      "\ufeff",
      "\u2028",
      "x",
      "1",
      "-",
      ".",
      "e",
      "null",
      "tru",
      "NaN"
    };
    Random random = new Random(7);
    for (int n = 0; n < 20_000; n++) {
      StringBuilder line = new StringBuilder(LINES.get(random.nextInt(LINES.size())));
      for (int edits = 1 + random.nextInt(3); edits > 0 && line.length() > 0; edits--) {
        int at = random.nextInt(line.length());
        switch (random.nextInt(3)) {
          case 0 -> line.insert(at, pieces[random.nextInt(pieces.length)]);
          case 1 -> line.deleteCharAt(at);
          default -> line.replace(at, at + 1, pieces[random.nextInt(pieces.length)]);
        }
      }
      // A lone surrogate is not in the lines the reader passes: they are valid UTF-8.
      String text =
          new String(line.toString().getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
      assertSameProblems(text);
    }
  }

  private static void assertSameProblems(String line) {
    byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
    for (JsonLines.Check check : JsonLines.Check.values()) {
      assertEquals(
          JsonLines.problem(line, "text", "text", check),
          JsonLines.problem(bytes, "text", "text", check),
          () -> check + " of " + Arrays.toString(bytes));
    }
    assertEquals(
        JsonLines.problem(line, null, "text", JsonLines.Check.STRING),
        JsonLines.problem(bytes, null, "text", JsonLines.Check.STRING),
        line);
  }

  @Test
  void aRowFromBytesIsARow() {
    assertNull(
        JsonLines.problem(
            LINES.get(0).getBytes(StandardCharsets.UTF_8), "text", "text", JsonLines.Check.STRING));
  }

  /**
   * A line is plain exactly when the reader's repair (invalid UTF-8 to U+FFFD, a leading byte-order
   * mark dropped) leaves its bytes as they are.
   */
  @Test
  void plainLinesAreThoseTheRepairLeavesAlone() {
    byte[][] pieces = {
      {'a'},
      {'{', '"'},
      {0},
      {(byte) 0xC3, (byte) 0xA9}, // é
      {(byte) 0xE4, (byte) 0xB8, (byte) 0x96}, // 世
      {(byte) 0xF0, (byte) 0x9F, (byte) 0x98, (byte) 0x80}, // an emoji
      {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, // a byte-order mark
      {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, // a surrogate (CESU-8)
      {(byte) 0xC0, (byte) 0x80}, // an overlong NUL
      {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // past U+10FFFF
      {(byte) 0xE9}, // é in Latin-1
      {(byte) 0x80},
      {(byte) 0xFF},
      {(byte) 0xE4, (byte) 0xB8} // cut short
    };
    Random random = new Random(11);
    List<Boolean> seen = new ArrayList<>();
    for (int n = 0; n < 20_000; n++) {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      int ascii = random.nextInt(20);
      for (int i = 0; i < ascii; i++) {
        line.write('a' + random.nextInt(26));
      }
      for (int k = random.nextInt(4); k > 0; k--) {
        line.writeBytes(pieces[random.nextInt(pieces.length)]);
        for (int i = random.nextInt(12); i > 0; i--) {
          line.write('0' + random.nextInt(10));
        }
      }
      byte[] bytes = line.toByteArray();
      String repaired =
          UTF8String.fromBytes(bytes).makeValid().toString().replaceFirst("^\ufeff", "");
      boolean unchanged = Arrays.equals(bytes, repaired.getBytes(StandardCharsets.UTF_8));
      assertEquals(unchanged, JsonLines.isPlainUtf8(bytes), () -> Arrays.toString(bytes));
      seen.add(unchanged);
    }
    assertEquals(2, seen.stream().distinct().count(), "both kinds of line were tried");
  }
}
