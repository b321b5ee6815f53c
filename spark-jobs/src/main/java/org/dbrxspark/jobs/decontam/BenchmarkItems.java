package org.dbrxspark.jobs.decontam;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.filter;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.substring;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.io.DocumentReader;
import org.dbrxspark.jobs.io.InputFormat;

/**
 * Benchmark sets read as items: one row per benchmark row, its texts the values of the chosen
 * columns, an array of strings (a list of choices) giving one text per element. N-grams are taken
 * within each text, never across two, so the columns' order does not matter (JSONL columns come in
 * alphabetical order). Items are numbered in the order of (benchmark as given, item id, texts),
 * whatever the files' partitioning.
 *
 * @param paths the benchmark files, folders or globs, as given to {@code --benchmarks}
 * @param format their format, or {@link InputFormat#AUTO} to tell each from its path
 * @param textCols the columns that make an item's text; empty: every string or array-of-string
 *     column but the id column
 * @param idCol the column naming items; a benchmark without it names each item by the first 16 hex
 *     digits of the SHA-256 of its texts joined by newlines
 */
record BenchmarkItems(List<String> paths, InputFormat format, List<String> textCols, String idCol) {
  /** Which benchmark (the path as given). */
  static final String BENCHMARK = "benchmark";

  /** The item's id in its benchmark. */
  static final String ITEM_ID = "item_id";

  /** The item's number, {@link Matcher}'s item. */
  static final String ITEM = Matcher.ITEM;

  /** The item's texts (array of string). */
  static final String TEXTS = "texts";

  /** (item, benchmark, item_id, texts), numbered as the class comment says. */
  Dataset<Row> read(SparkSession spark) {
    Dataset<Row> all = null;
    for (int ordinal = 0; ordinal < paths.size(); ordinal++) {
      Dataset<Row> one = readOne(spark, paths.get(ordinal)).withColumn("_ordinal", lit(ordinal));
      all = all == null ? one : all.unionByName(one);
    }
    Dataset<Row> sorted = all.orderBy(col("_ordinal"), col(ITEM_ID), col(TEXTS));
    StructType schema =
        new StructType()
            .add(ITEM, DataTypes.IntegerType, false)
            .add(BENCHMARK, DataTypes.StringType, false)
            .add(ITEM_ID, DataTypes.StringType)
            .add(TEXTS, DataTypes.createArrayType(DataTypes.StringType, false), false);
    return spark.createDataFrame(
        sorted
            .select(BENCHMARK, ITEM_ID, TEXTS)
            .javaRDD()
            .zipWithIndex()
            .map(
                t ->
                    RowFactory.create(
                        Math.toIntExact(t._2()),
                        t._1().getString(0),
                        t._1().getString(1),
                        t._1().<String>getList(2).toArray(String[]::new))),
        schema);
  }

  private Dataset<Row> readOne(SparkSession spark, String path) {
    String where = "--benchmarks " + path;
    if (!exists(spark, path)) {
      throw new IllegalArgumentException(where + ": no such file or folder");
    }
    InputFormat resolved =
        format == InputFormat.AUTO
            ? InputFormat.detect(
                path,
                spark.sparkContext().hadoopConfiguration(),
                "--benchmarks",
                "--benchmark-format")
            : format;
    Dataset<Row> read = DocumentReader.readTable(spark, path, resolved, null);
    Column error = col(DocumentReader.READ_ERROR);
    // An item skipped would be contamination missed: a line that is not an item stops the job.
    List<Row> unreadable = read.where(error.isNotNull()).select(error).limit(1).collectAsList();
    if (!unreadable.isEmpty()) {
      throw new IllegalArgumentException(
          where + ": cannot read an item: " + unreadable.get(0).getString(0));
    }
    Dataset<Row> raw = read.drop(DocumentReader.READ_ERROR);
    if (raw.columns().length == 0 || raw.isEmpty()) {
      throw new IllegalArgumentException(
          where + " is empty: a benchmark set needs at least one item");
    }
    List<Column> parts = new ArrayList<>();
    StructType schema = raw.schema();
    for (String name : textColumns(schema, where)) {
      Column c = col(quote(name));
      parts.add(
          schema.apply(name).dataType() instanceof ArrayType ? coalesce(c, array()) : array(c));
    }
    Column texts = filter(concat(parts.toArray(Column[]::new)), Column::isNotNull);
    Column id =
        Arrays.asList(raw.columns()).contains(idCol)
            ? col(quote(idCol)).cast(DataTypes.StringType)
            : null;
    Column contentId = substring(sha2(concat_ws("\n", texts), 256), 1, 16);
    return raw.select(
        lit(path).as(BENCHMARK),
        (id == null ? contentId : coalesce(id, contentId)).as(ITEM_ID),
        texts.as(TEXTS));
  }

  /**
   * The text columns of a benchmark with {@code schema}: the named ones, each checked, or every
   * textual one.
   */
  private List<String> textColumns(StructType schema, String where) {
    List<String> names = Arrays.asList(schema.fieldNames());
    if (textCols.isEmpty()) {
      List<String> found = new ArrayList<>();
      for (StructField f : schema.fields()) {
        if (!f.name().equals(idCol) && textual(f.dataType())) {
          found.add(f.name());
        }
      }
      if (found.isEmpty()) {
        throw new IllegalArgumentException(
            where
                + " has no text column (a string or an array of strings; "
                + "columns: "
                + schema.simpleString()
                + ")");
      }
      return found;
    }
    for (String name : textCols) {
      if (!names.contains(name)) {
        throw new IllegalArgumentException(
            where
                + " has no column '"
                + name
                + "' named by --benchmark-cols "
                + "(columns: "
                + String.join(", ", names)
                + ")");
      }
      if (!textual(schema.apply(name).dataType())) {
        throw new IllegalArgumentException(
            where
                + ": column '"
                + name
                + "' named by --benchmark-cols is "
                + schema.apply(name).dataType().simpleString()
                + ", not a string or an array of strings");
      }
    }
    return textCols;
  }

  private static boolean textual(DataType type) {
    return type.equals(DataTypes.StringType)
        || type instanceof ArrayType array && array.elementType().equals(DataTypes.StringType);
  }

  private static boolean exists(SparkSession spark, String path) {
    try {
      Path p = new Path(path);
      FileStatus[] matches =
          p.getFileSystem(spark.sparkContext().hadoopConfiguration()).globStatus(p);
      return matches != null && matches.length > 0;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot inspect --benchmarks " + path, e);
    }
  }

  private static String quote(String name) {
    return "`" + name.replace("`", "``") + "`";
  }
}
