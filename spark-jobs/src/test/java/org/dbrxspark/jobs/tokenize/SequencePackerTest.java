package org.dbrxspark.jobs.tokenize;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
import org.dbrxspark.runtime.tokenizer.SpecialTokens;
import org.junit.jupiter.api.Test;

/** The packing itself, on synthetic ids (document i holds i * 1000, i * 1000 + 1, ...). */
class SequencePackerTest {
    private static final StructType SCHEMA = new StructType()
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
            String split = validationEvery > 0 && i % validationEvery == 0 ? TokenizeJob.VALIDATION : TokenizeJob.TRAIN;
            rows.add(RowFactory.create(String.format("d%03d", i), split, ids));
        }
        return spark.createDataFrame(rows, SCHEMA).withColumn(SequencePacker.ORDER, SeededHash.sortKey(7, col("id")));
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
        Map<String, Map<String, List<List<Integer>>>> rebuilt = PackedSequences.documents(packed, seqLen);

        Map<String, List<String>> order = new TreeMap<>();
        Map<String, Long> slots = new TreeMap<>();
        for (Row r : docs.orderBy(SequencePacker.ORDER, "id").collectAsList()) {
            String split = r.getAs(TokenizeJob.SPLIT);
            order.computeIfAbsent(split, k -> new ArrayList<>()).add(r.getAs("id"));
            slots.merge(split, (long) r.getList(2).size() + 1, Long::sum);
        }
        assertEquals(order.keySet(), rebuilt.keySet());
        for (String split : order.keySet()) {
            assertEquals(order.get(split), new ArrayList<>(rebuilt.get(split).keySet()), "documents in sort-key order");
            for (Map.Entry<String, List<List<Integer>>> doc : rebuilt.get(split).entrySet()) {
                int length = lengths[Integer.parseInt(doc.getKey().substring(1))];
                assertEquals(List.of(expected(doc.getKey(), length)), doc.getValue(), doc.getKey());
            }
            long sequences = packed.stream().filter(r -> r.getAs(TokenizeJob.SPLIT).equals(split)).count();
            assertEquals((slots.get(split) + seqLen - 1) / seqLen, sequences, split + ": no sequence is wasted");
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
        List<Row> exact = PackedSequences.ordered(SequencePacker.packInBuckets(docs(new int[] {15, 15}, 0), 16, 0));
        assertEquals(2, exact.size());
        exact.forEach(r -> assertEquals(16, (int) r.<Integer>getAs(TokenizeJob.NUM_TOKENS)));

        List<Row> spanning = PackedSequences.ordered(SequencePacker.packInBuckets(docs(new int[] {40}, 0), 16, 0));
        assertEquals(List.of(16, 16, 9), spanning.stream().map(r -> r.<Integer>getAs(TokenizeJob.NUM_TOKENS))
            .collect(Collectors.toList()));
        assertEquals(List.of(List.of(0), List.of(16), List.of(32)), spanning.stream()
            .map(r -> r.getList(r.fieldIndex(SequencePacker.DOC_OFFSETS))).collect(Collectors.toList()));
        assertEquals(List.of(expected("d000", 40)),
            PackedSequences.documents(spanning, 16).get(TokenizeJob.TRAIN).get("d000"));
    }

    private static List<String> strings(Dataset<Row> packed) {
        return PackedSequences.ordered(packed).stream().map(Row::toString).collect(Collectors.toList());
    }
}
