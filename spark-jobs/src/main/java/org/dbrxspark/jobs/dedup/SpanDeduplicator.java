package org.dbrxspark.jobs.dedup;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.array_sort;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.collect_set;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.core.Rejects;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.text.Spans;
import org.dbrxspark.jobs.text.Words;
import scala.collection.Seq;

/**
 * Removes spans of {@code spanUnits} consecutive sentences (or single paragraphs) that occur in an
 * earlier document, as C4 and datatrove's sentence deduplication do: every span is hashed, spans
 * are grouped by hash, and the first document holding a span (the smallest by id, then by a hash of
 * its text) keeps it while every other document loses it. Grouping and joining are Spark shuffles;
 * no set of spans is collected to the driver. The order does not depend on how the rows are
 * partitioned, so neither does the output.
 *
 * <p>A document with fewer units than a span has no span and is kept as it is. A document that
 * loses spans and keeps no word is rejected as {@link #EMPTIED}; one that keeps fewer than {@code
 * minWords} words is rejected as {@link #TOO_SHORT}.
 *
 * @param unit sentences or paragraphs
 * @param spanUnits units per span
 * @param minWords fewest words a document that lost spans must keep
 */
public record SpanDeduplicator(Spans.Unit unit, int spanUnits, int minWords)
    implements Serializable {
  /** The reason of a document that lost every word to span removal. */
  public static final String EMPTIED = "spans-emptied";

  /** The reason of a document left with fewer than {@code minWords} words. */
  public static final String TOO_SHORT = "spans-too-short";

  /** Columns of the removed-spans table: the span's first unit and the document that keeps it. */
  public static final String POSITION = "span_position";

  public static final String FIRST_ID = "first_id";

  /** Per-document results, in the {@link Result#documents} table. */
  static final String SPANS_REMOVED = "spans_removed";

  static final String CHARS_REMOVED = "chars_removed";
  static final String WORDS_LEFT = "words_left";

  private static final String ORDER = "_order";

  /**
   * What a run produced.
   *
   * @param documents every document with its new text and {@code spans_removed}, {@code
   *     chars_removed}, {@code words_left} and {@code reasons} (empty for a kept one); to be
   *     persisted by the caller, who counts it several times
   * @param removedSpans {@code (id, span_position, first_id)} of every span removed
   */
  public record Result(Dataset<Row> documents, Dataset<Row> removedSpans) {
    /** The documents kept, with their new text, in the input's columns. */
    public Dataset<Row> kept(String[] inputColumns) {
      return documents.where(Rejects.kept()).select(named(inputColumns));
    }

    /** The documents rejected, with their original text, the input's columns and their reasons. */
    public Dataset<Row> rejected(String[] inputColumns) {
      List<Column> cols = new ArrayList<>(List.of(named(inputColumns)));
      cols.add(col(Rejects.REASONS));
      return documents
          .where(Rejects.rejected())
          .withColumn(Columns.TEXT, col("_original"))
          .select(cols.toArray(Column[]::new));
    }

    private static Column[] named(String[] names) {
      Column[] out = new Column[names.length];
      for (int i = 0; i < names.length; i++) {
        out[i] = Columns.named(names[i]);
      }
      return out;
    }
  }

  private static StructType windowType() {
    return DataTypes.createStructType(
        List.of(
            DataTypes.createStructField("pos", DataTypes.IntegerType, false),
            DataTypes.createStructField("hi", DataTypes.LongType, false),
            DataTypes.createStructField("lo", DataTypes.LongType, false)));
  }

  private static StructType removalType() {
    return DataTypes.createStructType(
        List.of(
            DataTypes.createStructField(Columns.TEXT, DataTypes.StringType, false),
            DataTypes.createStructField(SPANS_REMOVED, DataTypes.IntegerType, false),
            DataTypes.createStructField(CHARS_REMOVED, DataTypes.IntegerType, false),
            DataTypes.createStructField(WORDS_LEFT, DataTypes.IntegerType, false)));
  }

  /** Every span of {@code text}: the position of its first unit and its 128-bit hash. */
  Row[] windows(String text) {
    Spans spans = Spans.of(text, unit);
    int n = Math.max(0, spans.count() - spanUnits + 1);
    Row[] out = new Row[n];
    for (int p = 0; p < n; p++) {
      long[] h = spans.spanHash(p, spanUnits);
      out[p] = RowFactory.create(p, h[0], h[1]);
    }
    return out;
  }

  /** {@code text} without the spans starting at {@code positions}, and what that removed. */
  Row remove(String text, Seq<Integer> positions) {
    Spans spans = Spans.of(text, unit);
    boolean[] removed = new boolean[spans.count()];
    scala.collection.Iterator<Integer> it = positions.iterator();
    while (it.hasNext()) {
      int p = it.next();
      for (int i = p; i < p + spanUnits; i++) {
        removed[i] = true;
      }
    }
    String left = spans.without(removed);
    return RowFactory.create(
        left, positions.size(), text.length() - left.length(), Words.of(left).count());
  }

  /** Removes repeated spans from {@code docs} (id, text, ...; no null text). */
  public Result run(Dataset<Row> docs) {
    Dataset<Row> ordered =
        docs.withColumn(ORDER, struct(col(Columns.ID), xxhash64(col(Columns.TEXT))));
    // Non-deterministic only so the optimiser runs the UDFs once per row, not once per field.
    UserDefinedFunction spansOf =
        udf((UDF1<String, Row[]>) this::windows, DataTypes.createArrayType(windowType(), false))
            .asNondeterministic();
    Dataset<Row> windows =
        ordered
            .select(col(ORDER), explode(spansOf.apply(col(Columns.TEXT))).as("w"))
            .select(col(ORDER), col("w.pos").as("pos"), col("w.hi").as("hi"), col("w.lo").as("lo"));
    // Checkpointed: both the removed-spans table and the per-document removal read it.
    Dataset<Row> repeats =
        windows
            .withColumn("_first", min(col(ORDER)).over(Window.partitionBy("hi", "lo")))
            .where(col(ORDER).notEqual(col("_first")))
            .localCheckpoint();
    Dataset<Row> removedSpans =
        repeats.select(
            col(ORDER + "." + Columns.ID).as(Columns.ID),
            col("pos").as(POSITION),
            col("_first." + Columns.ID).as(FIRST_ID));
    Dataset<Row> perDocument =
        repeats.groupBy(col(ORDER)).agg(array_sort(collect_set(col("pos"))).as("_positions"));

    UserDefinedFunction removeFrom =
        udf((UDF2<String, Seq<Integer>, Row>) this::remove, removalType()).asNondeterministic();
    Column result = col("_result");
    Column wordsLeft = result.getField(WORDS_LEFT);
    Column reasons =
        when(result.isNull(), array().cast("array<string>"))
            .when(wordsLeft.equalTo(0), array(lit(EMPTIED)))
            .when(wordsLeft.lt(minWords), array(lit(TOO_SHORT)))
            .otherwise(array().cast("array<string>"));
    Dataset<Row> documents =
        ordered
            .join(perDocument, ORDER, "left")
            .withColumn(
                "_result",
                when(
                    col("_positions").isNotNull(),
                    removeFrom.apply(col(Columns.TEXT), col("_positions"))))
            .withColumn("_original", col(Columns.TEXT))
            .withColumn(
                Columns.TEXT,
                when(result.isNull(), col(Columns.TEXT)).otherwise(result.getField(Columns.TEXT)))
            .withColumn(
                SPANS_REMOVED, when(result.isNull(), 0).otherwise(result.getField(SPANS_REMOVED)))
            .withColumn(
                CHARS_REMOVED, when(result.isNull(), 0).otherwise(result.getField(CHARS_REMOVED)))
            .withColumn(WORDS_LEFT, wordsLeft)
            .withColumn(Rejects.REASONS, reasons)
            .drop(ORDER, "_positions", "_result");
    return new Result(documents, removedSpans);
  }
}
