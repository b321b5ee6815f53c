package org.dbrxspark.runtime.structured;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dk.brics.automaton.Automaton;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.dbrxspark.runtime.tokenizer.SpecialTokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parsing, languages, masks and the errors of bad formats. */
class ResponseFormatTest {

  /** Runs a byte language over the UTF-8 of {@code text}. */
  private static boolean matches(Automaton bytes, String text) {
    return bytes.run(
        new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1));
  }

  /** A bad format's error, the same whether it is parsed and then compiled or compiled at once. */
  private static String error(String json) {
    String parsed =
        assertThrows(
                IllegalArgumentException.class,
                () -> CompiledFormat.compile(ResponseFormat.parse(json)))
            .getMessage();
    assertEquals(
        parsed,
        assertThrows(IllegalArgumentException.class, () -> CompiledFormat.compile(json))
            .getMessage());
    return parsed;
  }

  private static String schemaError(String schema) {
    return assertThrows(IllegalArgumentException.class, () -> ResponseFormat.jsonSchema(schema))
        .getMessage();
  }

  @Test
  void codePointRangesBecomeExactlyTheirUtf8Encodings() {
    int[][] ranges = {
      {0x20, 0x10FFFF}, {0x7A, 0x801}, {0xFFF0, 0x10010}, {0x3B1, 0x3C9}, {0xD7F0, 0xE010}
    };
    SplittableRandom random = new SplittableRandom(3);
    for (int[] range : ranges) {
      Automaton a = Utf8Automata.codePoints(range[0], range[1]);
      for (int i = 0; i < 20_000; i++) {
        int cp = random.nextInt(0, 0x110000);
        if (cp >= 0xD800 && cp <= 0xDFFF) {
          continue;
        }
        assertEquals(
            cp >= range[0] && cp <= range[1],
            matches(a, Character.toString(cp)),
            Integer.toHexString(cp));
      }
      assertTrue(matches(a, Character.toString(range[0])));
      assertTrue(matches(a, Character.toString(range[1])));
    }
  }

  @Test
  void theJsonLanguageBoundsWhitespaceAndDigits() {
    Automaton object =
        ResponseFormat.jsonSchema(
                "{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"number\"}}}")
            .language();
    assertTrue(matches(object, "{\"a\":1}"));
    assertTrue(matches(object, "{ \"a\" : -12 , \"b\" : 1.5e+10 }"));
    assertFalse(matches(object, "{\"a\":1,\"b\":2,\"a\":3}"));
    assertFalse(matches(object, "{\"b\":2,\"a\":1}"), "members come in the order of properties");
    assertFalse(matches(object, "{  \"a\":1}"), "at most one space between tokens");
    assertFalse(matches(object, "{\"a\":01}"));
    assertTrue(matches(object, "{\"a\":" + "9".repeat(16) + "}"));
    assertFalse(matches(object, "{\"a\":" + "9".repeat(17) + "}"), "at most 16 digits");
    assertFalse(matches(object, "{\"b\":1}"), "a is required");
    Automaton string =
        ResponseFormat.jsonSchema("{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}")
            .language();
    assertTrue(matches(string, "\"é✓\""), "maxLength counts code points, not bytes");
    assertTrue(matches(string, "\"\\n😀x\""));
    assertFalse(matches(string, "\"abcd\""));
    assertFalse(matches(string, "\"a\""));
    assertFalse(matches(string, "\"a\"b\""));
  }

  @Test
  void keywordsOfOneSchemaHoldTogether() {
    Automaton strings =
        ResponseFormat.jsonSchema(
                "{\"type\": \"string\", \"maxLength\": 2, \"enum\": [\"ab\", \"abc\", 1]}")
            .language();
    assertTrue(matches(strings, "\"ab\""));
    assertFalse(matches(strings, "\"abc\""), "maxLength holds for enum values too");
    assertFalse(matches(strings, "1"), "so does type");
    assertTrue(
        error(
                "{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{\"type\":\"integer\",\"const\":\"x\"}}}")
            .startsWith("response_format json_schema matches no text"));
  }

  @Test
  void masksAllowPartialCharactersOnlyWhereTheyCanComplete() {
    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    CompiledFormat greek = CompiledFormat.compile(ResponseFormat.regex("[α-ω]{1,3}"));
    int[] ids = tokenizer.encode("αβγ");
    int state = greek.start();
    for (int id : ids) {
      assertTrue(allows(greek, state, id), "token " + id);
      state = greek.advance(state, id);
    }
    assertTrue(greek.complete(state));
    // The first byte of 'α' (0xCE) alone is a token; allowed, since it can continue to 'α'.
    int leadByte = byteToken(tokenizer, (byte) 0xCE);
    assertTrue(allows(greek, greek.start(), leadByte));
    int afterLead = greek.advance(greek.start(), leadByte);
    assertFalse(greek.accepting(afterLead));
    assertFalse(allows(greek, afterLead, tokenizer.encode("a")[0]));
    // The lead byte of 'ж' (0xD0) cannot start a Greek letter.
    assertFalse(allows(greek, greek.start(), byteToken(tokenizer, (byte) 0xD0)));
    assertFalse(
        allows(greek, greek.start(), SpecialTokens.IM_END), "no end of sequence before a match");
    CompiledFormat optional = CompiledFormat.compile(ResponseFormat.regex("ab(c)?"));
    int ab =
        optional.advance(
            optional.advance(optional.start(), tokenizer.encode("a")[0]), tokenizer.encode("b")[0]);
    assertTrue(optional.accepting(ab));
    assertFalse(optional.complete(ab));
    assertTrue(
        allows(optional, ab, SpecialTokens.IM_END)
            && allows(optional, ab, SpecialTokens.ENDOFTEXT));
  }

  private static boolean allows(CompiledFormat format, int state, int id) {
    return (format.allowed(state)[id >>> 6] & (1L << id)) != 0;
  }

  private static int byteToken(DbrxTokenizer tokenizer, byte b) {
    for (int id = 0; id < 256; id++) {
      byte[] bytes = tokenizer.tokenBytes(id);
      if (bytes.length == 1 && bytes[0] == b) {
        return id;
      }
    }
    throw new AssertionError("no single-byte token " + b);
  }

  @Test
  void everySingleByteIsATokenBelow256() {
    boolean[] seen = new boolean[256];
    for (int id = 0; id < 256; id++) {
      byte[] bytes = DbrxTokenizer.shared().tokenBytes(id);
      assertEquals(1, bytes.length);
      seen[bytes[0] & 0xFF] = true;
    }
    for (boolean b : seen) {
      assertTrue(b);
    }
  }

  @Test
  void theRegexSyntaxIsTheCommonCore() {
    assertTrue(matches(ResponseFormat.regex("^a\\.b\\n\"c\"[^x]$").language(), "a.b\n\"c\"y"));
    assertTrue(matches(ResponseFormat.regex("[]a]{2}").language(), "]a"));
    assertTrue(
        matches(ResponseFormat.regex("a&b~c@#<1-2>").language(), "a&b~c@#<1-2>"),
        "brics operators are plain characters");
    assertTrue(
        ResponseFormat.regex("x")
            .equals(ResponseFormat.parse("{\"type\":\"regex\",\"regex\":\"x\"}")));
    Automaton repeats = ResponseFormat.regex("(ab|c)+d?|x{2,}|y{1,2}z{2}|").language();
    for (String text : new String[] {"abcab", "cd", "xx", "xxxx", "yzz", "yyzz", ""}) {
      assertTrue(matches(repeats, text), text);
    }
    for (String text : new String[] {"d", "x", "yyyzz", "yz", "abd d"}) {
      assertFalse(matches(repeats, text), text);
    }
    Automaton classes = ResponseFormat.regex("[^a-c\\]][-x][a-]\\(.").language();
    assertTrue(matches(classes, "d--(\n"));
    assertTrue(matches(classes, "éxa(ω"));
    assertFalse(matches(classes, "b--(x"));
    assertFalse(matches(classes, "]--(x"));
  }

  @Test
  void badSchemasNameThePartAtFault() {
    assertEquals(
        "response_format schema at /properties/age: unsupported keyword 'minimum'",
        schemaError(
            "{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\",\"minimum\":0}}}"));
    assertEquals(
        "response_format schema at /properties/a~1b/items: unsupported keyword 'pattern'",
        schemaError(
            "{\"type\":\"object\",\"properties\":{\"a/b\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"pattern\":\"x\"}}}}"));
    assertEquals(
        "response_format schema at /type: unknown type 'text'", schemaError("{\"type\":\"text\"}"));
    assertEquals(
        "response_format schema at /maxLength: maxLength must be a non-negative integer, got -1",
        schemaError("{\"type\":\"string\",\"maxLength\":-1}"));
    assertTrue(
        schemaError(
                "{\"type\":\"object\",\"required\":[\"b\"],\"properties\":{\"a\":{\"type\":\"null\"}}}")
            .startsWith(
                "response_format schema at /required: required names \"b\", which is not in properties"));
    assertTrue(
        schemaError("{\"type\":\"object\",\"properties\":{\"a\":{}}}")
            .startsWith("response_format schema at /properties/a: a schema needs"));
    assertTrue(
        schemaError("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}")
            .startsWith("response_format schema at /additionalProperties: only true or false"));
    assertTrue(
        schemaError("{\"type\":\"array\"}")
            .startsWith("response_format schema at /: an array schema needs 'items'"));
    assertTrue(schemaError("{\"type\":").startsWith("response_format schema is not valid JSON"));
  }

  @Test
  void badRegexesAndFormatsAreRefusedByName() {
    assertEquals(
        "response_format regex /[0-9]+\\d/ at position 6: unsupported the escape \\d (write a class such as [0-9] instead)",
        error("{\"type\":\"regex\",\"regex\":\"[0-9]+\\\\d\"}"));
    assertTrue(
        error("{\"type\":\"regex\",\"regex\":\"(ab\"}")
            .startsWith("response_format regex /(ab/: expected ')'"));
    assertTrue(
        error("{\"type\":\"regex\",\"regex\":\"(?i)ab\"}").contains("unsupported '(?' groups"));
    assertTrue(
        error("{\"type\":\"regex\",\"regex\":\"a{\u0663}\"}")
            .contains("at position 1: unsupported a repeat count that is not a number"),
        "an Arabic-Indic three is not a count");
    assertTrue(
        error("{\"type\":\"regex\",\"regex\":\"a^b\"}")
            .contains("at position 1: unsupported the anchor '^'"));
    assertEquals(
        "response_format: unknown key 'schema' (known: json_schema, type)",
        error("{\"type\":\"json_schema\",\"schema\":{\"type\":\"string\"}}"));
    assertEquals(
        "response_format json_schema: unknown key 'strictly' (known: description, name, schema, strict)",
        error(
            "{\"type\":\"json_schema\",\"json_schema\":{\"strictly\":true,\"schema\":{\"type\":\"string\"}}}"));
    assertTrue(
        error("{\"type\":\"grammar\"}")
            .startsWith(
                "response_format needs \"type\": \"json_schema\", \"regex\" or \"choice\""));
    assertTrue(error("{\"type\":\"choice\",\"choice\":[]}").contains("non-empty array of strings"));
  }

  @Test
  void formatsTooLargeToCompileAreRefusedBeforeTheyFillTheMemory() {
    // 2^21 states: brics' determinization ran a 2 GB JVM out of memory on it after three minutes.
    assertTrue(
        error("{\"type\":\"regex\",\"regex\":\"(a|b)*a(a|b){20}\"}")
            .startsWith(
                "response_format regex /(a|b)*a(a|b){20}/: its automaton needs more than 250000"
                    + " states"));
    assertEquals(
        "response_format regex /(a{1000}){1001}/ at position 9: 1001 copies of 1001 automaton"
            + " states would take the format past the 1000000 it may build; long repeat counts,"
            + " maxLength or maxItems add up: simplify the format",
        error("{\"type\":\"regex\",\"regex\":\"(a{1000}){1001}\"}"));
    // Counts of a billion are refused before their copies are built.
    assertTrue(
        schemaError("{\"type\":\"string\",\"maxLength\":1000000000}")
            .startsWith("response_format schema at /maxLength: 1000000001 copies of "),
        schemaError("{\"type\":\"string\",\"maxLength\":1000000000}"));
    assertTrue(
        schemaError("{\"type\":\"array\",\"items\":{\"type\":\"null\"},\"minItems\":1000000000}")
            .startsWith("response_format schema at /minItems: 1000000000 copies of "));
    // 32,768 states, each allowing different tokens: past the 16,384 sets a format may have.
    assertTrue(
        error("{\"type\":\"regex\",\"regex\":\"(a|b)*a(a|b){14}\"}")
            .contains("automaton states allow more than 16384 different token sets"));
  }

  @Test
  void theStatesAFormatBuildsAreCountedAcrossItsParts() {
    // Each part alone is under the bound; eight strings of maxLength 41,000 ran a 2 GB JVM out of
    // memory when only each part was bounded. Constants of 400,000 characters build fast.
    String big = "\"" + "x".repeat(400_000) + "\"";
    String three =
        "{\"type\":\"object\",\"properties\":{\"a\":{\"const\":"
            + big
            + "},\"b\":{\"const\":"
            + big
            + "},\"c\":{\"const\":"
            + big
            + "}}}";
    assertTrue(
        schemaError(three)
            .startsWith(
                "response_format schema at /properties/c/const: the format would build more than"
                    + " 1000000 automaton states"));
    // An intersection's product is charged pair by pair as it is made (brics' own is unbounded).
    StateBudget nearlySpent = new StateBudget();
    nearlySpent.charge(StateBudget.MAX_STATES - 10, "earlier parts");
    Automaton word = Automaton.makeString("abcdefghijklmnopqrstuvwxyz");
    Automaton letters = Automaton.makeCharRange('a', 'z').repeat();
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> nearlySpent.intersection(word, letters, "schema at /"))
            .getMessage()
            .startsWith("schema at /: the format would build more than 1000000 automaton states"));
    // 1,000 optional members: each may follow each earlier one.
    StringBuilder many = new StringBuilder("{\"type\":\"object\",\"properties\":{");
    for (int i = 0; i < 1000; i++) {
      many.append(i == 0 ? "" : ",").append("\"p").append(i).append("\":{\"type\":\"null\"}");
    }
    assertTrue(
        schemaError(many.append("}}").toString())
            .startsWith(
                "response_format schema at /properties: the format would build more than 1000000"));
    // A character of '.' is two states but eleven as UTF-8 bytes: the bytes count too.
    assertTrue(
        error("{\"type\":\"regex\",\"regex\":\"(.{1000}){150}\"}")
            .startsWith(
                "response_format regex /(.{1000}){150}/: the format would build more than 1000000"));
    // Regexes count theirs too: each repeat alone fits.
    assertTrue(
        error("{\"type\":\"regex\",\"regex\":\"(a{500}){1000}(b{500}){1000}\"}")
            .startsWith(
                "response_format regex /(a{500}){1000}(b{500}){1000}/ at position 22: 1000 copies"));
  }

  @Test
  void objectMembersComeInOrderAndOnlyOptionalOnesMayBeAbsent() {
    // a and c optional, b required, d optional; d's value is a number, whose end has ways out.
    Automaton object =
        ResponseFormat.jsonSchema(
                "{\"type\":\"object\",\"required\":[\"b\"],\"properties\":{\"a\":{\"type\":\"null\"},"
                    + "\"b\":{\"type\":\"boolean\"},\"c\":{\"type\":\"null\"},\"d\":{\"type\":\"integer\"}}}")
            .language();
    String[] members = {"\"a\":null", "\"b\":true", "\"c\":null", "\"d\":12"};
    for (int subset = 0; subset < 16; subset++) {
      StringBuilder text = new StringBuilder("{");
      for (int k = 0; k < 4; k++) {
        if ((subset & (1 << k)) != 0) {
          text.append(text.length() > 1 ? (k % 2 == 0 ? " , " : ",") : "").append(members[k]);
        }
      }
      String json = text.append(subset % 3 == 0 ? " }" : "}").toString();
      assertEquals((subset & 2) != 0, matches(object, json), json);
    }
    assertFalse(matches(object, "{\"b\":true,,\"c\":null}"));
    assertFalse(matches(object, "{,\"b\":true}"));
    assertFalse(matches(object, "{\"b\":true,}"));
    assertFalse(matches(object, "{\"c\":null,\"b\":true}"));
    assertTrue(matches(object, "{\"b\":false,\"d\":-3}"));
    Automaton optional =
        ResponseFormat.jsonSchema(
                "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"null\"},\"y\":{\"type\":\"null\"}}}")
            .language();
    for (String json :
        new String[] {"{}", "{ }", "{\"x\":null}", "{\"y\":null}", "{\"x\":null, \"y\":null}"}) {
      assertTrue(matches(optional, json), json);
    }
    assertFalse(matches(optional, "{\"y\":null,\"x\":null}"));
  }

  @Test
  void theBoundedIntersectionIsTheIntersection() {
    String[][] pairs = {
      {"(ab|a)*c?", "a*b*c"},
      {"[a-m]{2,5}", "[h-z]+"},
      {"(a|b)*a(a|b){3}", "(b|a)*b(a|b){2}"},
      {"x*", "y+"},
      {"\u00e9+|a", "[\u00e0-\u00ff]{1,3}"}
    };
    for (String[] pair : pairs) {
      Automaton a = new dk.brics.automaton.RegExp(pair[0]).toAutomaton(false);
      Automaton b = new dk.brics.automaton.RegExp(pair[1]).toAutomaton(false);
      assertEquals(
          a.intersection(b),
          new StateBudget().intersection(a, b, "test"),
          String.join(" & ", pair));
    }
  }

  @Test
  void formatsNestedTooDeepToBuildAreRefusedByName() {
    String schema = "{\"type\":\"string\"}";
    for (int level = 2; level <= 64; level++) {
      schema = "{\"type\":\"array\",\"maxItems\":1,\"items\":" + schema + "}";
    }
    assertTrue(
        matches(ResponseFormat.jsonSchema(schema).language(), "[".repeat(63) + "]".repeat(63)));
    String deeper = "{\"type\":\"array\",\"items\":" + schema + "}";
    assertTrue(
        schemaError(deeper)
            .startsWith(
                "response_format schema at /"
                    + "items/".repeat(63)
                    + "items: schemas nested deeper than 64 levels"),
        schemaError(deeper));
    assertTrue(
        matches(ResponseFormat.regex("(".repeat(100) + "a" + ")".repeat(100)).language(), "a"));
    assertEquals(
        "response_format regex /"
            + "(".repeat(101)
            + "a"
            + ")".repeat(101)
            + "/ at position 100: unsupported groups nested deeper than 100",
        error(
            "{\"type\":\"regex\",\"regex\":\"" + "(".repeat(101) + "a" + ")".repeat(101) + "\"}"));
  }

  @Test
  void aFormatNothingSatisfiesIsRefusedAtCompileTime() {
    assertTrue(
        error(
                "{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{\"type\":\"array\",\"items\":{\"type\":\"null\"},"
                    + "\"minItems\":3,\"maxItems\":2}}}")
            .startsWith("response_format json_schema matches no text"));
    assertTrue(
        error("{\"type\":\"regex\",\"regex\":\"a{3,1}\"}")
            .startsWith("response_format regex matches no text"));
    // A required member nothing satisfies (an object that is one of three numbers).
    assertTrue(
        error(
                "{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{\"type\":\"object\",\"required\":[\"a\",\"b\"],"
                    + "\"properties\":{\"a\":{\"type\":\"null\"},\"b\":{\"type\":\"object\",\"enum\":[1,2,3]}}}}}")
            .startsWith("response_format json_schema matches no text"));
    // Surrogate code units are not characters the vocabulary can write.
    assertTrue(
        error("{\"type\":\"regex\",\"regex\":\"[\\ud800-\\udbff]\"}")
            .startsWith("response_format regex matches no text"));
  }

  @Test
  void aFormatKeepsItsTransitionsPerClassOfBytesAndItsMasksInSharedChunks() {
    // 45,003 states and 1,146 masks: 46 MB of transitions over all 256 bytes and 14.4 MB of whole
    // masks (60.7 MB in all); 2.7 MB over the string's 15 classes of bytes, and shared chunks.
    CompiledFormat string =
        CompiledFormat.compile(
            ResponseFormat.jsonSchema("{\"type\":\"string\",\"maxLength\":5000}"));
    assertTrue(string.bytes() < 5_000_000, string.stats() + ": " + string.bytes() + " bytes");
    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    int quote = tokenizer.encode("\"")[0];
    int a = tokenizer.encode("a")[0];
    int state = string.advance(string.start(), quote);
    for (int i = 0; i < 5000; i++) {
      assertTrue(allows(string, state, quote));
      state = string.advance(state, a);
    }
    assertFalse(allows(string, state, a), "5,000 characters are the most");
    assertTrue(allows(string, state, quote));
  }

  @Test
  void aFormatCompiledFromItsJsonIsTheFormatParsedThenCompiled(@TempDir Path tempDir)
      throws IOException {
    String json =
        "{\"json_schema\":{\"schema\":{\"type\":\"object\",\"required\":[\"a\"],"
            + "\"properties\":{\"a\":{\"type\":\"string\",\"maxLength\":20},\"b\":{\"type\":\"integer\"}}}},"
            + "\"type\":\"json_schema\"}";
    CompiledFormat parsed = CompiledFormat.compile(ResponseFormat.parse(json));
    CompiledFormat direct = CompiledFormat.compile(json);
    assertEquals(parsed.format(), direct.format(), "the same canonical JSON");
    assertEquals(withoutTime(parsed.stats()), withoutTime(direct.stats()));
    DbrxTokenizer tokenizer = DbrxTokenizer.shared();
    for (String text : List.of("{\"a\":\"xyz\",\"b\":-12}", "{\"a\":\"\"}", "{\"b\":1}")) {
      int p = parsed.start();
      int d = direct.start();
      for (int token : tokenizer.encode(text)) {
        assertEquals(allows(parsed, p, token), allows(direct, d, token), text);
        if (!allows(parsed, p, token)) {
          break;
        }
        p = parsed.advance(p, token);
        d = direct.advance(d, token);
      }
      assertEquals(parsed.complete(p), direct.complete(d), text);
    }
    Path file = tempDir.resolve("format.json");
    Files.writeString(file, json);
    assertEquals(
        withoutTime(direct.stats()),
        withoutTime(CompiledFormat.fromArgument(file.toString()).stats()));
  }

  private static String withoutTime(String stats) {
    return stats.replaceAll(", compiled in \\d+ ms$", "");
  }

  @Test
  void compilingIsCheapEnoughToTime() {
    for (String schema : StructuredGenerationTest.SCHEMAS) {
      CompiledFormat format = CompiledFormat.compile(ResponseFormat.jsonSchema(schema));
      assertTrue(format.compileNanos() > 0);
      System.out.println(format.stats());
    }
    System.out.println(
        CompiledFormat.compile(
                ResponseFormat.jsonSchema(
                    "{\"type\":\"object\",\"required\":[\"summary\"],\"properties\":{\"summary\":{\"type\":\"string\",\"maxLength\":500}}}"))
            .stats());
  }
}
