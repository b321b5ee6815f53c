package org.dbrxspark.jobs.io;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.input_file_block_start;
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.sum;

import java.util.Iterator;
import java.util.Objects;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.hadoop.io.compress.SplittableCompressionCodec;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Text files read one line per row, each with its file and its line number in that file (from 1,
 * blank lines counted), so that a line that cannot be read is named as an editor would show it.
 *
 * <p>Spark splits a large file into parts read by different tasks. A line's number is its place in
 * its part plus the lines of the file's earlier parts, which one extra pass counts (a count per
 * part, no parsing); only the parts after the first of a file are looked up, in a broadcast table.
 * Inputs whose files are all compressed without splitting (gzip, the usual corpus format) are read
 * whole by one task each, so they skip that pass and its second decompression.
 */
final class NumberedLines {
  /** The line, as the text reader gives it: bytes not yet checked as UTF-8. */
  static final String VALUE = "value";

  /** The file's URI, as {@code input_file_name()} gives it. */
  static final String FILE = "_file";

  /** The line's number in its file, from 1. */
  static final String LINE_NUMBER = "_line_number";

  private static final String START = "_part_start";
  private static final String INDEX = "_index_in_part";
  private static final String BEFORE = "_lines_before";

  private NumberedLines() {}

  /**
   * Every line of the text files of {@code files}: {@link #VALUE}, {@link #FILE}, {@link
   * #LINE_NUMBER}, and the part columns that {@link #position()} orders by.
   */
  static Dataset<Row> read(SparkSession spark, InputFiles files) {
    Dataset<Row> text = files.reader(spark).text(files.input());
    Dataset<Row> scanned =
        text.select(
            // Binary while numbered: a Java string would repair invalid UTF-8 its own way.
            col(VALUE).cast(DataTypes.BinaryType),
            input_file_name().as(FILE),
            input_file_block_start().as(START));
    StructType indexedSchema = scanned.schema().add(INDEX, DataTypes.LongType, false);
    Dataset<Row> indexed =
        scanned.mapPartitions(
            (MapPartitionsFunction<Row, Row>) NumberedLines::indexInPart,
            Encoders.row(indexedSchema));
    if (!anySplittable(spark, text.inputFiles())) {
      return indexed
          .withColumn(LINE_NUMBER, col(INDEX).plus(1))
          .withColumn(VALUE, col(VALUE).cast(DataTypes.StringType));
    }
    WindowSpec earlier =
        Window.partitionBy(FILE).orderBy(START).rowsBetween(Window.unboundedPreceding(), -1);
    Dataset<Row> laterParts =
        scanned
            .groupBy(FILE, START)
            .agg(count(lit(1)).as("n"))
            .withColumn(BEFORE, sum(col("n")).over(earlier))
            .where(col(START).gt(0))
            .select(FILE, START, BEFORE);
    return indexed
        .join(broadcast(laterParts), new String[] {FILE, START}, "left")
        .withColumn(LINE_NUMBER, coalesce(col(BEFORE), lit(0L)).plus(col(INDEX)).plus(1))
        .withColumn(VALUE, col(VALUE).cast(DataTypes.StringType))
        .drop(BEFORE);
  }

  /** Whether Spark may read any of {@code files} in several parts: plain text, or bzip2. */
  private static boolean anySplittable(SparkSession spark, String[] files) {
    CompressionCodecFactory codecs =
        new CompressionCodecFactory(spark.sparkContext().hadoopConfiguration());
    for (String file : files) {
      CompressionCodec codec = codecs.getCodec(new Path(file));
      if (codec == null || codec instanceof SplittableCompressionCodec) {
        return true;
      }
    }
    return false;
  }

  /**
   * The order of the lines in the input (file, then place in it), which does not depend on how the
   * rows are spread later.
   */
  static Column position() {
    return struct(col(FILE), col(START), col(INDEX));
  }

  /** Numbers the rows of each part (file, start) of one task's rows, in their order. */
  private static Iterator<Row> indexInPart(Iterator<Row> rows) {
    return new Iterator<>() {
      private String file;
      private long start = -1;
      private long index;

      @Override
      public boolean hasNext() {
        return rows.hasNext();
      }

      @Override
      public Row next() {
        Row r = rows.next();
        String f = r.getString(1);
        long s = r.getLong(2);
        if (s != start || !Objects.equals(f, file)) {
          file = f;
          start = s;
          index = 0;
        }
        return RowFactory.create(r.get(0), f, s, index++);
      }
    };
  }
}
