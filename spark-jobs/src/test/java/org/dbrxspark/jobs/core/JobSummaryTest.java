package org.dbrxspark.jobs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JobSummaryTest {
  @Test
  void theJsonCarriesWhatThePrintedSummaryShows() throws Exception {
    JobSummary summary =
        new JobSummary("job in")
            .put("input documents", 10L)
            .put("rate", 2.5)
            .put("by source", Map.of("a", 3L))
            .put("output", "/tmp/out")
            .reconcile("input = kept + rejected", 10, 7, 2);
    JsonNode json = new ObjectMapper().readTree(summary.toJson());
    assertEquals("job in", json.get("title").asText());
    assertEquals(10, json.at("/entries/input documents").asLong());
    assertEquals(2.5, json.at("/entries/rate").asDouble());
    assertEquals(3, json.at("/entries/by source/a").asLong());
    assertEquals("/tmp/out", json.at("/entries/output").asText());
    assertEquals("[7,2]", json.at("/checks/0/parts").toString());
    assertFalse(json.at("/checks/0/ok").asBoolean());
    assertFalse(json.get("balanced").asBoolean());
    assertFalse(summary.balanced());
    assertTrue(
        summary.toString().contains("input = kept + rejected: 10 = 7 + 2  [MISMATCH: 9]"),
        summary.toString());
  }

  @Test
  void filtersHistogramsTimingsAndPartsGoToTheJson() throws Exception {
    JobSummary stage = new JobSummary("stage").put("kept", 3L);
    JobSummary summary =
        new JobSummary("job")
            .put("reasons", new java.util.LinkedHashMap<>(Map.of("short", 2L)))
            .filter("min-words", 5, 2)
            .histogram("words", Map.of("min", 0.0, "before", new long[] {4, 3}))
            .timing("wall", 1.5)
            .part("curate", stage);
    JsonNode json = new ObjectMapper().readTree(summary.toJson());
    assertEquals(5, json.at("/filters/min-words/kept").asLong());
    assertEquals(2, json.at("/filters/min-words/rejected").asLong());
    assertEquals("[4,3]", json.at("/histograms/words/before").toString());
    assertEquals(1.5, json.at("/timings/wall").asDouble());
    assertEquals(3, json.at("/parts/curate/entries/kept").asLong());
    String printed = summary.toString();
    assertTrue(printed.contains("  reasons    short=2\n"), printed);
    assertTrue(printed.contains("  wall time  1.5 s\n"), printed);
    assertFalse(printed.contains("min-words"), "filters are in the JSON only: " + printed);
  }
}
