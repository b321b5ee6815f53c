package org.dbrxspark.jobs.tokenize;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.array_repeat;
import static org.apache.spark.sql.functions.array_sort;
import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.call_function;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_list;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.flatten;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sequence;
import static org.apache.spark.sql.functions.shiftright;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.slice;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.transform;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.types.DataTypes;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.runtime.tokenizer.SpecialTokens;

/**
 * Packs tokenized documents into fixed-length sequences, per split, without collecting tokens on
 * the driver and independently of partitioning.
 *
 * <p>Each document contributes its ids followed by EOS. The documents of a split are laid end to
 * end in a fixed global order (the seeded sort key {@link #ORDER}, then id, mix copy and ids as
 * tie-breaks: rows equal in all of these are interchangeable), and sequence s holds positions [s *
 * seqLen, (s + 1) * seqLen) of that stream. A document's start offset is a prefix sum in that
 * order, computed in two levels: the sort key's top bits name a bucket; a small aggregate gives
 * each bucket's base offset, and a window within the bucket adds the lengths before the document.
 * Buckets only spread the work: the offsets, and so the sequences, do not depend on their number.
 * Each document is then cut into one segment per sequence it touches, and the segments of a
 * sequence are grouped and concatenated in position order; the split's last sequence is padded.
 */
final class SequencePacker {
  /** The seeded 63-bit sort key that orders documents in the packed stream (long). */
  static final String ORDER = "_order";

  /** Index of the sequence within its split, from 0 (long); (split, sequence) is the key. */
  static final String SEQUENCE = "sequence";

  /** 1 for a real token, 0 for padding (array of tinyint). */
  static final String ATTENTION_MASK = "attention_mask";

  /** Position of each token within its document segment, from 0; padding counts from 0 too. */
  static final String POSITION_IDS = "position_ids";

  /** Ids of the documents with a segment in the sequence, in order (array of string). */
  static final String DOC_IDS = "doc_ids";

  /** Index in input_ids where each segment starts (array of int). */
  static final String DOC_STARTS = "doc_starts";

  /**
   * Offset of each segment's first token within its document's ids + EOS; 0: the document starts
   * here.
   */
  static final String DOC_OFFSETS = "doc_offsets";

  /** A bucket holds about this many documents, so one window task never holds many more. */
  private static final long DOCS_PER_BUCKET = 1L << 14;

  /** At most 2^18 buckets per split: the aggregate of bucket lengths stays small. */
  private static final int MAX_BUCKET_BITS = 18;

  private SequencePacker() {}

  /**
   * @param docs tokenized documents with {@code id}, {@code split}, {@code input_ids}, {@link
   *     #ORDER} and, for a mix table, {@code copy}
   * @param documents how many documents {@code docs} holds; sizes the buckets
   */
  static Dataset<Row> pack(Dataset<Row> docs, int seqLen, long documents) {
    int bits =
        Math.min(MAX_BUCKET_BITS, 64 - Long.numberOfLeadingZeros(documents / DOCS_PER_BUCKET));
    return packInBuckets(docs, seqLen, bits);
  }

  /** {@link #pack} with 2^bits buckets per split. */
  static Dataset<Row> packInBuckets(Dataset<Row> docs, int seqLen, int bits) {
    Column split = col(TokenizeJob.SPLIT);
    List<Column> order = new ArrayList<>(List.of(col(ORDER), col(Columns.ID)));
    if (Arrays.asList(docs.columns()).contains(Columns.COPY)) {
      order.add(col(Columns.COPY));
    }
    List<Column> needed = new ArrayList<>(order);
    needed.add(split);
    needed.add(col(TokenizeJob.INPUT_IDS));
    Dataset<Row> keyed =
        docs.select(needed.toArray(Column[]::new))
            .withColumn(
                "_ids", concat(col(TokenizeJob.INPUT_IDS), array(lit(SpecialTokens.ENDOFTEXT))))
            .withColumn("_len", size(col("_ids")).cast(DataTypes.LongType))
            .withColumn("_bucket", shiftright(col(ORDER), 63 - bits));

    WindowSpec buckets = Window.partitionBy(split).orderBy("_bucket");
    Dataset<Row> bases =
        keyed
            .groupBy(split, col("_bucket"))
            .agg(sum("_len").as("_bucket_len"))
            .withColumn("_base", sum("_bucket_len").over(buckets).minus(col("_bucket_len")))
            .drop("_bucket_len");

    order.add(col("_ids"));
    WindowSpec before =
        Window.partitionBy(split, col("_bucket"))
            .orderBy(order.toArray(Column[]::new))
            .rowsBetween(Window.unboundedPreceding(), Window.currentRow());
    Column offset = col("_offset");
    Dataset<Row> placed =
        keyed
            .join(broadcast(bases), new String[] {TokenizeJob.SPLIT, "_bucket"})
            .withColumn("_offset", col("_base").plus(sum("_len").over(before)).minus(col("_len")));

    // One segment per sequence a document touches: [from, to) of the document's ids + EOS.
    Column sequenceIndex = col(SEQUENCE);
    Column sequenceStart = sequenceIndex.multiply(seqLen);
    Column from = greatest(lit(0L), sequenceStart.minus(offset));
    Column to = least(col("_len"), sequenceStart.plus(seqLen).minus(offset));
    Column last = div(offset.plus(col("_len")).minus(1), seqLen);
    Dataset<Row> segments =
        placed
            .withColumn(SEQUENCE, explode(sequence(div(offset, seqLen), last)))
            .select(
                split,
                sequenceIndex,
                struct(
                        greatest(lit(0L), offset.minus(sequenceStart))
                            .cast(DataTypes.IntegerType)
                            .as("start"),
                        col(Columns.ID).as("id"),
                        from.cast(DataTypes.IntegerType).as("offset"),
                        slice(
                                col("_ids"),
                                from.plus(1).cast(DataTypes.IntegerType),
                                to.minus(from).cast(DataTypes.IntegerType))
                            .as("ids"))
                    .as("_segment"));

    // Segments start at distinct positions, so sorting the structs sorts by position.
    Dataset<Row> grouped =
        segments
            .groupBy(split, sequenceIndex)
            .agg(array_sort(collect_list(col("_segment"))).as("_segments"))
            .withColumn("_ids", flatten(transform(col("_segments"), s -> s.getField("ids"))))
            .withColumn("_pad", lit(seqLen).minus(size(col("_ids"))));
    Column segs = col("_segments");
    Column pad = col("_pad");
    Column real = size(col("_ids"));
    Column padPositions =
        when(pad.gt(0), sequence(lit(0), pad.minus(1)))
            .otherwise(array().cast(DataTypes.createArrayType(DataTypes.IntegerType)));
    return grouped.select(
        split,
        sequenceIndex,
        concat(col("_ids"), array_repeat(lit(SpecialTokens.PAD), pad)).as(TokenizeJob.INPUT_IDS),
        concat(array_repeat(lit((byte) 1), real), array_repeat(lit((byte) 0), pad))
            .as(ATTENTION_MASK),
        concat(
                flatten(transform(segs, s -> sequence(lit(0), size(s.getField("ids")).minus(1)))),
                padPositions)
            .as(POSITION_IDS),
        transform(segs, s -> s.getField("id")).as(DOC_IDS),
        transform(segs, s -> s.getField("start")).as(DOC_STARTS),
        transform(segs, s -> s.getField("offset")).as(DOC_OFFSETS),
        real.as(TokenizeJob.NUM_TOKENS));
  }

  /** Integer division of a non-negative long column. */
  private static Column div(Column dividend, long divisor) {
    return call_function("div", dividend, lit(divisor));
  }
}
