package org.dbrxspark.jobs.tokenize;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.core.SeededHash;
import org.dbrxspark.jobs.mix.MixJob;
import org.dbrxspark.runtime.tokenizer.SpecialTokens;
import org.junit.jupiter.api.Test;

/**
 * The packing itself, on synthetic ids (document i holds i * 1000, i * 1000 + 1, ...), and on the
 * job's annotation of a mix table.
 */
class SequencePackerTest {
  private static final StructType SCHEMA =
      new StructType()
          .add("id", DataTypes.StringType)
          .add(TokenizeJob.SPLIT, DataTypes.StringType)
          .add(TokenizeJob.INPUT_IDS, DataTypes.createArrayType(DataTypes.IntegerType, false));

  private final SparkSession spark = SharedSpark.get();

  private Dataset<Row> docs(int[] lengths, int validationEvery) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < lengths.length; i++) {
      int[] ids = new int[lengths[i]];
      for (int j = 0; j < ids.length; j++) {
        ids[j] = i * 1000 + j;
      }
      String split =
          validationEvery > 0 && i % validationEvery == 0
              ? TokenizeJob.VALIDATION
              : TokenizeJob.TRAIN;
      rows.add(RowFactory.create(String.format("d%03d", i), split, ids));
    }
    return spark
        .createDataFrame(rows, SCHEMA)
        .withColumn(SequencePacker.ORDER, SeededHash.sortKey(7, col("id")));
  }

  private static List<Integer> expected(String id, int length) {
    int i = Integer.parseInt(id.substring(1));
    List<Integer> ids = new ArrayList<>();
    for (int j = 0; j < length; j++) {
      ids.add(i * 1000 + j);
    }
    ids.add(SpecialTokens.ENDOFTEXT);
    return ids;
  }

  @Test
  void everyDocumentIsRebuiltFromItsSegmentsInSortKeyOrder() {
    int[] lengths = new int[61];
    for (int i = 0; i < 60; i++) {
      lengths[i] = (i * 37) % 50; // 0 to 49 ids: one document is EOS alone
    }
    lengths[60] = 300; // spans ten sequences
    Dataset<Row> docs = docs(lengths, 5);
    int seqLen = 32;
    List<Row> packed = PackedSequences.ordered(SequencePacker.packInBuckets(docs, seqLen, 0));
    Map<String, Map<String, List<List<Integer>>>> rebuilt =
        PackedSequences.documents(packed, seqLen);

    Map<String, List<String>> order = new TreeMap<>();
    Map<String, Long> slots = new TreeMap<>();
    for (Row r : docs.orderBy(SequencePacker.ORDER, "id").collectAsList()) {
      String split = r.getAs(TokenizeJob.SPLIT);
      order.computeIfAbsent(split, k -> new ArrayList<>()).add(r.getAs("id"));
      slots.merge(split, (long) r.getList(2).size() + 1, Long::sum);
    }
    assertEquals(order.keySet(), rebuilt.keySet());
    for (String split : order.keySet()) {
      assertEquals(
          order.get(split),
          new ArrayList<>(rebuilt.get(split).keySet()),
          "documents in sort-key order");
      for (Map.Entry<String, List<List<Integer>>> doc : rebuilt.get(split).entrySet()) {
        int length = lengths[Integer.parseInt(doc.getKey().substring(1))];
        assertEquals(List.of(expected(doc.getKey(), length)), doc.getValue(), doc.getKey());
      }
      long sequences =
          packed.stream().filter(r -> r.getAs(TokenizeJob.SPLIT).equals(split)).count();
      assertEquals(
          (slots.get(split) + seqLen - 1) / seqLen, sequences, split + ": no sequence is wasted");
    }
  }

  @Test
  void sequencesDoNotDependOnBucketsOrPartitions() {
    int[] lengths = new int[200];
    for (int i = 0; i < lengths.length; i++) {
      lengths[i] = 1 + (i * 53) % 90;
    }
    Dataset<Row> docs = docs(lengths, 4);
    List<String> one = strings(SequencePacker.packInBuckets(docs.coalesce(1), 48, 0));
    assertEquals(one, strings(SequencePacker.packInBuckets(docs.repartition(5), 48, 3)));
    assertEquals(one, strings(SequencePacker.packInBuckets(docs.repartition(3), 48, 7)));
  }

  @Test
  void anExactFitIsNotPaddedAndALongDocumentContinuesAcrossSequences() {
    List<Row> exact =
        PackedSequences.ordered(SequencePacker.packInBuckets(docs(new int[] {15, 15}, 0), 16, 0));
    assertEquals(2, exact.size());
    exact.forEach(r -> assertEquals(16, (int) r.<Integer>getAs(TokenizeJob.NUM_TOKENS)));

    List<Row> spanning =
        PackedSequences.ordered(SequencePacker.packInBuckets(docs(new int[] {40}, 0), 16, 0));
    assertEquals(
        List.of(16, 16, 9),
        spanning.stream()
            .map(r -> r.<Integer>getAs(TokenizeJob.NUM_TOKENS))
            .collect(Collectors.toList()));
    assertEquals(
        List.of(List.of(0), List.of(16), List.of(32)),
        spanning.stream()
            .map(r -> r.getList(r.fieldIndex(SequencePacker.DOC_OFFSETS)))
            .collect(Collectors.toList()));
    assertEquals(
        List.of(expected("d000", 40)),
        PackedSequences.documents(spanning, 16).get(TokenizeJob.TRAIN).get("d000"));
  }

  @Test
  void copiesOfAMixedDocumentArePackedApart() {
    Dataset<Row> mixed =
        spark
            .range(40)
            .select(
                col("id").cast("string").as("id"),
                lit("web").as("source"),
                concat(lit("Document "), col("id"), lit(" says something.")).as("text"))
            .crossJoin(spark.range(3).select(col("id").cast("int").as(MixJob.COPY)));
    Dataset<Row> tokenized = TokenizeJob.annotate(mixed, 42, 0);
    List<Row> packed = PackedSequences.ordered(SequencePacker.pack(tokenized, 32, 120));
    Map<String, List<List<Integer>>> docs =
        PackedSequences.documents(packed, 32).get(TokenizeJob.TRAIN);
    assertEquals(40, docs.size());
    docs.forEach((id, copies) -> assertEquals(3, copies.size(), id));
    long adjacent = 0;
    String previous = null;
    for (Row r : packed) {
      List<String> ids = r.getList(r.fieldIndex(SequencePacker.DOC_IDS));
      List<Integer> offsets = r.getList(r.fieldIndex(SequencePacker.DOC_OFFSETS));
      for (int s = 0; s < ids.size(); s++) {
        if (offsets.get(s) == 0) { // a document (copy) starts here
          adjacent += ids.get(s).equals(previous) ? 1 : 0;
          previous = ids.get(s);
        }
      }
    }
    assertTrue(adjacent < 10, "copies are spread by the sort key, not kept together: " + adjacent);
  }

  private static List<String> strings(Dataset<Row> packed) {
    return PackedSequences.ordered(packed).stream().map(Row::toString).collect(Collectors.toList());
  }
}
