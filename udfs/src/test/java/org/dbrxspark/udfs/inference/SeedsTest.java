package org.dbrxspark.udfs.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Per-row seeds against values computed outside Java (Python's hashlib and struct). */
class SeedsTest {
  @Test
  void matchesTheDocumentedDigest() {
    // python3: struct.unpack('>q', hashlib.sha256(struct.pack('>q', seed) +
    // row_id.encode()).digest()[:8])[0]
    assertEquals(-8136451190607402189L, Seeds.forRow("0", 42));
    assertEquals(-6102308245326252292L, Seeds.forRow("row-17", 0));
    assertEquals(1343108722416799325L, Seeds.forRow("", -1));
    assertEquals(8443110636062451965L, Seeds.forRow("\u65e5\u672c", 7));
  }
}
