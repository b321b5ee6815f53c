package org.dbrxspark.udfs.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.dbrxspark.runtime.structured.CompiledFormat;
import org.dbrxspark.runtime.structured.ResponseFormat;
import org.junit.jupiter.api.Test;

/**
 * Formats from a params column can be a new one every row: the registry keeps the most recently
 * used within its budget of heap, and compiles a dropped one again when a row needs it.
 */
class FormatRegistryTest {
  /** Formats of the same size, one per letter. */
  private static String regex(char letter) {
    return "{\"type\":\"regex\",\"regex\":\"" + letter + "{1,20}\"}";
  }

  private static long bytes(String json) {
    return CompiledFormat.compile(ResponseFormat.parse(json)).bytes();
  }

  @Test
  void theLeastRecentlyUsedFormatsAreDroppedPastTheBudgetAndCompiledAgain() {
    String a = regex('a');
    String b = regex('b');
    String c = regex('c');
    String d = regex('d');
    // Room for two of them, not for three.
    FormatRegistry registry = new FormatRegistry(bytes(a) * 5 / 2);
    CompiledFormat first = registry.get(a);
    registry.get(b);
    assertEquals(List.of(a, b), registry.kept());
    registry.get(c);
    assertEquals(List.of(b, c), registry.kept());
    assertSame(registry.get(b), registry.get(b), "kept: not compiled again");
    registry.get(d);
    assertEquals(List.of(b, d), registry.kept(), "c, used longer ago than b, is dropped");
    CompiledFormat again = registry.get(a);
    assertNotSame(first, again);
    assertEquals(first.stats().split(",")[0], again.stats().split(",")[0]);
    assertEquals(List.of(d, a), registry.kept());
  }

  @Test
  void aFormatLargerThanTheBudgetIsKeptUntilTheNextOne() {
    FormatRegistry registry = new FormatRegistry(1);
    registry.get(regex('a'));
    assertEquals(List.of(regex('a')), registry.kept());
    registry.get(regex('b'));
    assertEquals(List.of(regex('b')), registry.kept());
  }

  @Test
  void aFormatThatFailsToCompileIsNotKept() {
    FormatRegistry registry = new FormatRegistry(1L << 30);
    String bad = "{\"type\":\"regex\",\"regex\":\"a{3,1}\"}";
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> registry.get(bad));
    assertTrue(e.getMessage().startsWith("response_format regex matches no text"), e.getMessage());
    assertEquals(List.of(), registry.kept());
  }
}
