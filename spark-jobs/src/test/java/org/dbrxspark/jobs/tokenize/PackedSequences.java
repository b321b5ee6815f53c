package org.dbrxspark.jobs.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.dbrxspark.runtime.tokenizer.SpecialTokens;

/**
 * Checks the invariants of a packed table and rebuilds each document from its segments, the way a
 * training loader would read the boundary columns.
 */
final class PackedSequences {
  private PackedSequences() {}

  /** The table's rows ordered by (split, sequence). */
  static List<Row> ordered(Dataset<Row> packed) {
    List<Row> rows = new ArrayList<>(packed.collectAsList());
    rows.sort(
        Comparator.comparing((Row r) -> r.<String>getAs(TokenizeJob.SPLIT))
            .thenComparing(r -> r.<Long>getAs(SequencePacker.SEQUENCE)));
    return rows;
  }

  /**
   * Asserts the layout of every sequence (length, masks, padding only at the end of a split's last
   * sequence, positions restarting at each segment) and returns, per split, each document's ids
   * with their trailing EOS, rebuilt from the boundary columns, in packing order (one list per
   * occurrence: a mix table can hold copies of a document).
   */
  static Map<String, Map<String, List<List<Integer>>>> documents(List<Row> ordered, int seqLen) {
    Map<String, Map<String, List<List<Integer>>>> out = new TreeMap<>();
    Map<String, Long> lastSequence = new TreeMap<>();
    for (Row r : ordered) {
      lastSequence.put(r.getAs(TokenizeJob.SPLIT), r.getAs(SequencePacker.SEQUENCE));
    }
    Map<String, Long> expectedSequence = new TreeMap<>();
    for (Row r : ordered) {
      String split = r.getAs(TokenizeJob.SPLIT);
      long sequence = r.<Long>getAs(SequencePacker.SEQUENCE);
      assertEquals(
          expectedSequence.getOrDefault(split, 0L),
          sequence,
          "sequences are numbered from 0 without gaps");
      expectedSequence.put(split, sequence + 1);
      List<Integer> ids = r.getList(r.fieldIndex(TokenizeJob.INPUT_IDS));
      List<Byte> mask = r.getList(r.fieldIndex(SequencePacker.ATTENTION_MASK));
      List<Integer> positions = r.getList(r.fieldIndex(SequencePacker.POSITION_IDS));
      List<String> docIds = r.getList(r.fieldIndex(SequencePacker.DOC_IDS));
      List<Integer> starts = r.getList(r.fieldIndex(SequencePacker.DOC_STARTS));
      List<Integer> offsets = r.getList(r.fieldIndex(SequencePacker.DOC_OFFSETS));
      int real = r.<Integer>getAs(TokenizeJob.NUM_TOKENS);
      assertEquals(seqLen, ids.size());
      assertEquals(seqLen, mask.size());
      assertEquals(seqLen, positions.size());
      if (sequence < lastSequence.get(split)) {
        assertEquals(seqLen, real, "only a split's last sequence is padded");
      }
      for (int i = 0; i < seqLen; i++) {
        assertEquals(i < real ? 1 : 0, (int) mask.get(i), "mask at " + i);
        if (i >= real) {
          assertEquals(SpecialTokens.PAD, (int) ids.get(i), "padding is <|pad|>");
          assertEquals(i - real, (int) positions.get(i), "padding positions count from 0");
        }
      }
      assertEquals(0, (int) starts.get(0), "the first segment starts the sequence");
      assertEquals(docIds.size(), starts.size());
      assertEquals(docIds.size(), offsets.size());
      for (int s = 0; s < starts.size(); s++) {
        int from = starts.get(s);
        int to = s + 1 < starts.size() ? starts.get(s + 1) : real;
        assertTrue(to > from, "segments are not empty");
        for (int i = from; i < to; i++) {
          assertEquals(i - from, (int) positions.get(i), "position_ids restart at each segment");
        }
        if (s + 1 < starts.size()) {
          assertEquals(
              SpecialTokens.ENDOFTEXT,
              (int) ids.get(to - 1),
              "a segment followed by another ends in EOS");
        }
        List<List<Integer>> copies =
            out.computeIfAbsent(split, k -> new LinkedHashMap<>())
                .computeIfAbsent(docIds.get(s), k -> new ArrayList<>());
        if (offsets.get(s) == 0) {
          copies.add(new ArrayList<>());
        }
        List<Integer> doc = copies.get(copies.size() - 1);
        assertEquals(
            doc.size(), (int) offsets.get(s), "segments of " + docIds.get(s) + " are contiguous");
        doc.addAll(ids.subList(from, to));
      }
    }
    return out;
  }
}
