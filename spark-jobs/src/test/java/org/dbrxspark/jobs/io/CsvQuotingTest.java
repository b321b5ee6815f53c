package org.dbrxspark.jobs.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CsvQuotingTest {
  private static CsvQuoting.Problem scan(String csv) {
    return CsvQuoting.firstProblem(
        "f.csv", new ByteArrayInputStream(csv.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void wellQuotedFilesPass() {
    assertNull(
        scan(
            "\uFEFFid,text\r\n"
                + "1,\"a field over\nthree, lines\nwith \"\"quotes\"\"\"\r\n"
                + "2,plain text with a \"quote\" inside\n"
                + "3,\"\",,\"x\"\n"
                + "4,\"\u00e9t\u00e9\""));
  }

  @Test
  void aQuoteThatIsNotDoubledIsNamedWithItsLine() {
    CsvQuoting.Problem p =
        scan("id,text\n1,\"fine\"\n2,\"has an \"unescaped\" quote\"\n3,\"after\"\n");
    assertEquals(3, p.line());
    assertEquals("a quote inside the quoted field that opens on line 3 is not doubled", p.reason());
    assertEquals(2, scan("id,text\n1,\"closed\" then text\n").line());
  }

  @Test
  void aFieldNeverClosedIsNamedWhereItOpens() {
    CsvQuoting.Problem p = scan("id,text\n1,fine\n2,\"opens\nand runs\n3,over rows\n");
    assertEquals(3, p.line());
    assertEquals("the quoted field that opens here is never closed", p.reason());
  }

  /** Random rows written with RFC 4180 quoting: none is reported, and one stray quote is. */
  @Test
  void randomWellQuotedRowsPassAndOneStrayQuoteIsFound() {
    Random random = new Random(7);
    String alphabet = "ab ,\"\n\r\u00e9";
    for (int round = 0; round < 500; round++) {
      StringBuilder csv = new StringBuilder("id,text\n");
      int rows = 1 + random.nextInt(6);
      for (int r = 0; r < rows; r++) {
        StringBuilder field = new StringBuilder();
        for (int i = random.nextInt(12); i > 0; i--) {
          field.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        String value = field.toString();
        boolean quote = random.nextBoolean() || value.matches("(?s).*[,\"\n\r].*");
        csv.append(r)
            .append(',')
            .append(quote ? "\"" + value.replace("\"", "\"\"") + "\"" : value)
            .append(random.nextBoolean() ? "\r\n" : "\n");
      }
      assertNull(scan(csv.toString()), csv.toString());
      String stray = csv + "x,\"a \"b\" c\"\n";
      assertEquals(
          "a quote inside the quoted field that opens on line "
              + (csv.chars().filter(c -> c == '\n').count() + 1)
              + " is not doubled",
          scan(stray).reason(),
          stray);
    }
  }
}
