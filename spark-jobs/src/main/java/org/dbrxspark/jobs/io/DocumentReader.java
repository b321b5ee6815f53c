package org.dbrxspark.jobs.io;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.input_file_block_start;
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.locate;
import static org.apache.spark.sql.functions.make_valid_utf8;
import static org.apache.spark.sql.functions.monotonically_increasing_id;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.octet_length;
import static org.apache.spark.sql.functions.raise_error;
import static org.apache.spark.sql.functions.regexp_replace;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.substring;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.trim;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads JSONL (plain or compressed), Parquet, CSV, Delta or plain-text files into a document table
 * whose first columns are {@code id}, {@code source} and {@code text} (strings), followed by the
 * input's other columns unchanged.
 *
 * <p>Ids come from the id column when the input has one. Otherwise they are derived from the
 * content alone, so they do not depend on file order or partitioning: the first 128 bits of SHA-256
 * over source and text, in hex; rows with equal source and text get {@code -2}, {@code -3}, ... in
 * the order of their remaining columns. Plain-text files use the file path relative to the input
 * folder as id. A null in the id column is replaced by the content hash.
 *
 * <p>JSONL is read one line per row, whatever the line holds: invalid UTF-8 bytes become U+FFFD (as
 * in the other formats' text), and a line that is not a document row (malformed JSON, not an
 * object, a text field that is not a string, longer than {@code --max-document-bytes}) keeps its
 * line as text and gets its reason in {@link #READ_ERROR}, which ends with the file and line number
 * ({@code ... at file:///data/in.jsonl line 7}).
 */
public final class DocumentReader {
  /** Why a row could not be read as a document (string), null when it could. */
  public static final String READ_ERROR = "_read_error";

  private static final String LINE = "_line";

  /** The reason of a line longer than {@code --max-document-bytes}, which is not parsed. */
  private static final String TOO_LARGE = "too-large: ";

  /** The type of a chat column whose lines do not all hold chats. */
  private static final ArrayType CHAT =
      DataTypes.createArrayType(
          new StructType().add("role", DataTypes.StringType).add("content", DataTypes.StringType));

  /** Where a row was in the input (file, block, row), the order that makes one row "first". */
  private static final String POSITION = "_position";

  private DocumentReader() {}

  /**
   * Reads the documents described by {@code options}, for a job without a rejects table: a row that
   * could not be read fails the job with its id and reason.
   */
  public static Documents read(SparkSession spark, ReaderOptions options) {
    Column error = col(READ_ERROR);
    Column fail =
        raise_error(
            concat(
                lit("--input " + options.input() + ": cannot read the row with id "),
                col(Columns.ID),
                lit(": "),
                error));
    Documents docs = readWithErrors(spark, options);
    return docs.withRows(docs.rows().where(error.isNull().or(fail.isNull())).drop(READ_ERROR));
  }

  /**
   * Reads the documents described by {@code options} with {@link #READ_ERROR} as their last column,
   * for a job that puts the rows it cannot read in its rejects table. Ids from an id column that
   * are on more than one row are handled as {@code --on-duplicate-id} says, before any job writes:
   * it counts them (one pass over the ids) and, unless it fails, makes them unique.
   */
  public static Documents readWithErrors(SparkSession spark, ReaderOptions options) {
    return readWithErrors(spark, options, Columns.TEXT);
  }

  /**
   * Reads rows whose text is not a document's (rag-query's queries) as {@link #readWithErrors}
   * reads documents, with {@code textName} in the reason of a text that is not a string ({@code
   * query-not-a-string: a number}).
   */
  public static Documents readWithErrors(
      SparkSession spark, ReaderOptions options, String textName) {
    InputFiles files = files(spark, options.input());
    InputFormat format =
        options.format() == InputFormat.AUTO ? InputFormat.detect(files) : options.format();
    Dataset<Row> raw =
        format == InputFormat.JSONL
            ? jsonLines(
                spark,
                files,
                options.textCol(),
                textName,
                JsonLines.Check.STRING,
                options.maxDocumentBytes())
            : load(spark, files, format)
                .withColumn(POSITION, position())
                .withColumn(READ_ERROR, lit(null).cast(DataTypes.StringType));
    Dataset<Row> docs = shape(raw, options, format);
    return hasColumn(raw, options.idCol())
        ? withUniqueIds(docs, options)
        : new Documents(docs.drop(POSITION), 0, 0, List.of(), options.onDuplicateId());
  }

  /**
   * The input position of each row, taken at the scan so that it does not depend on how rows are
   * spread later: file, start of the file split, and the row's place in that split.
   */
  private static Column position() {
    return struct(input_file_name(), input_file_block_start(), monotonically_increasing_id());
  }

  /**
   * Applies {@code --on-duplicate-id} to rows that share an id: fails naming the first few ids, or
   * keeps only the first row of each id in input order, or renames the later rows {@code id-2},
   * {@code id-3}, ... The copies of one document in a mix (its {@code copy} column) are one
   * document, not duplicates.
   */
  private static Documents withUniqueIds(Dataset<Row> docs, ReaderOptions options) {
    boolean copies = hasColumn(docs, Columns.COPY);
    Column[] key =
        copies ? new Column[] {col(Columns.ID), col(Columns.COPY)} : new Column[] {col(Columns.ID)};
    Dataset<Row> repeated = docs.groupBy(key).count().where(col("count").gt(1));
    // One query in the usual case, no repeated id; the ids named below group the input once more.
    // Keyed on the id alone, every row of repeated has an id of its own, which needs no distinct.
    Column repeatedIds = copies ? countDistinct(col(Columns.ID)) : count(lit(1));
    Row totals = repeated.agg(repeatedIds, sum(col("count").minus(1))).first();
    long ids = totals.getLong(0);
    String policy = options.onDuplicateId();
    if (ids == 0) {
      return new Documents(docs.drop(POSITION), 0, 0, List.of(), policy);
    }
    List<String> first =
        repeated
            .select(Columns.ID)
            .distinct()
            .orderBy(Columns.ID)
            .limit(5)
            .as(Encoders.STRING())
            .collectAsList();
    if (policy.equals("fail")) {
      throw new IllegalArgumentException(
          "--input "
              + options.input()
              + ": ids on more than one row: "
              + ids
              + " (first: "
              + String.join(", ", first)
              + "); the id is the key of every later join: fix the input, "
              + "or pass --on-duplicate-id keep-first or rename");
    }
    Column n = row_number().over(Window.partitionBy(key).orderBy(col(POSITION)));
    Dataset<Row> numbered = docs.withColumn("_n", n);
    Dataset<Row> unique =
        policy.equals("keep-first")
            ? numbered.where(col("_n").equalTo(1))
            : numbered.withColumn(
                Columns.ID,
                when(col("_n").equalTo(1), col(Columns.ID))
                    .otherwise(concat(col(Columns.ID), lit("-"), col("_n"))));
    return new Documents(unique.drop("_n", POSITION), ids, totals.getLong(1), first, policy);
  }

  /**
   * One row per non-blank line, parsed with the schema Spark infers from the lines that are
   * objects; the others keep their reason, which names the file and line, in {@link #READ_ERROR}.
   * The checked column has one type whatever its lines hold: a string column keeps a rejected
   * line's text (the line), and a chat column is null where the line's value is not a chat.
   *
   * @param checkedCol the column that must hold what {@code check} says (or null) for the line to
   *     be a row; null: none
   * @param checkedName what the reasons call the checked column
   * @param limit the longest line read, in bytes
   */
  private static Dataset<Row> jsonLines(
      SparkSession spark,
      InputFiles files,
      String checkedCol,
      String checkedName,
      JsonLines.Check kind,
      long limit) {
    UserDefinedFunction check =
        udf(
            (UDF1<byte[], String>) line -> JsonLines.problem(line, checkedCol, checkedName, kind),
            DataTypes.StringType);
    UserDefinedFunction plain =
        udf((UDF1<byte[], Boolean>) JsonLines::isPlainUtf8, DataTypes.BooleanType);
    Column value = col(NumberedLines.VALUE);
    Column bytes = octet_length(value);
    // Invalid UTF-8 becomes U+FFFD, and a file may start with a byte-order mark, which is not JSON;
    // most lines have neither, which is cheaper to tell than to repair.
    Column line =
        when(plain.apply(value.cast(DataTypes.BinaryType)), value)
            .otherwise(regexp_replace(make_valid_utf8(value), "^\\x{FEFF}", ""));
    Column problem =
        when(
                bytes.gt(limit),
                concat(lit(TOO_LARGE), bytes, lit(" bytes > --max-document-bytes " + limit)))
            .otherwise(check.apply(line.cast(DataTypes.BinaryType)));
    // Not length(...) > 0: counting a line's characters reads every byte, comparing to "" does not.
    Column nonBlank = trim(col(NumberedLines.VALUE)).notEqual(lit(""));
    Dataset<Row> lines =
        NumberedLines.read(spark, files)
            .where(nonBlank)
            .select(
                line.as(LINE),
                NumberedLines.position().as(POSITION),
                concat(
                        problem,
                        lit(" at "),
                        col(NumberedLines.FILE),
                        lit(" line "),
                        col(NumberedLines.LINE_NUMBER))
                    .as(READ_ERROR));
    Column error = col(READ_ERROR);
    Column object = isObject(error);
    // Jackson's string limit is in characters, never more than the line's bytes.
    Map<String, String> json =
        Map.of("maxStringLen", Long.toString(Math.min(limit, Integer.MAX_VALUE)));
    // Inferred from the plain lines: the schema needs no line numbers, which cost a pass.
    StructType inferred =
        spark
            .read()
            .options(json)
            .json(
                files
                    .reader(spark)
                    .text(files.input())
                    .where(nonBlank.and(isObject(problem)))
                    .select(line)
                    .as(Encoders.STRING()))
            .schema();
    boolean checked =
        checkedCol != null && Arrays.asList(inferred.fieldNames()).contains(checkedCol);
    // The checked column is parsed as its JSON text, whatever a line holds, and typed below.
    StructType schema = checked ? withType(inferred, checkedCol, DataTypes.StringType) : inferred;
    Dataset<Row> parsed =
        lines
            .select(
                when(object, from_json(col(LINE), schema, json)).as("j"),
                col(LINE),
                col(POSITION),
                error)
            .select(col("j.*"), col(LINE), col(POSITION), error);
    if (checked && kind == JsonLines.Check.STRING) {
      // A rejected line is its own evidence: it goes to the rejects table as the row's text.
      parsed =
          parsed.withColumn(
              checkedCol, when(error.isNull(), Columns.named(checkedCol)).otherwise(col(LINE)));
    } else if (checked) {
      parsed =
          parsed.withColumn(
              checkedCol,
              when(
                  error.isNull(),
                  from_json(Columns.named(checkedCol), chatType(inferred.apply(checkedCol)))));
    }
    return parsed.drop(LINE);
  }

  /** {@code schema} with the field {@code name} of type {@code type}. */
  private static StructType withType(StructType schema, String name, DataType type) {
    StructField[] fields = schema.fields().clone();
    int i = schema.fieldIndex(name);
    fields[i] = fields[i].copy(fields[i].name(), type, true, fields[i].metadata());
    return new StructType(fields);
  }

  /**
   * The type of a chat column: as inferred when every line's value is a chat (the messages' other
   * fields kept), else {@link #CHAT}.
   */
  private static DataType chatType(StructField inferred) {
    if (inferred.dataType() instanceof ArrayType array
        && array.elementType() instanceof StructType message
        && hasField(message, "role", DataTypes.StringType)
        && hasField(message, "content", DataTypes.StringType)) {
      return array;
    }
    return CHAT;
  }

  private static boolean hasField(StructType struct, String name, DataType type) {
    return Arrays.asList(struct.fieldNames()).contains(name)
        && struct.apply(name).dataType().equals(type);
  }

  /**
   * True for a row whose columns were read from its line: a readable row, or an object whose
   * checked column has the wrong type (its id and other columns are still read). False for a line
   * that is not a row (malformed JSON, not an object, too large), whose columns are all null but
   * its text, the line.
   */
  public static Column columnsRead() {
    return isObject(col(READ_ERROR));
  }

  /**
   * Whether a line with this read error is parsed: a row, or an object whose checked field does not
   * hold what it should, parsed so that its row keeps its id. Told by the reasons of the lines that
   * are not parsed, which do not depend on the checked column's name.
   */
  private static Column isObject(Column error) {
    return error
        .isNull()
        .or(
            not(
                error
                    .startsWith(JsonLines.MALFORMED_JSON)
                    .or(error.startsWith(JsonLines.NOT_AN_OBJECT))
                    .or(error.startsWith(TOO_LARGE))));
  }

  /**
   * Shapes rows already loaded from {@code options.input()} (a Delta snapshot at some version, a
   * change feed) into the document table, as {@link #read} does.
   */
  public static Dataset<Row> documents(Dataset<Row> raw, ReaderOptions options) {
    return shape(raw, options, InputFormat.DELTA);
  }

  /** The input position and read error, when {@code raw} has them, come last. */
  private static Dataset<Row> shape(Dataset<Row> raw, ReaderOptions options, InputFormat format) {
    String textCol = format == InputFormat.TEXT ? Columns.TEXT : options.textCol();
    if (!hasColumn(raw, textCol)) {
      throw new IllegalArgumentException(
          "input has no text column '"
              + textCol
              + "' (columns: "
              + Arrays.toString(raw.columns())
              + "); pass --text-col");
    }
    Column source = sourceColumn(raw, options);
    Column text = textColumn(raw, textCol, options.input());
    boolean hasId = hasColumn(raw, options.idCol());
    if (!hasId && !options.idCol().equals(Columns.ID)) {
      throw new IllegalArgumentException(
          "input has no id column '"
              + options.idCol()
              + "' (columns: "
              + Arrays.toString(raw.columns())
              + ")");
    }
    List<Column> rest = new ArrayList<>();
    for (String c : raw.columns()) {
      if (!c.equals(textCol)
          && !c.equals(options.idCol())
          && !c.equals(Columns.SOURCE)
          && !c.equals(Columns.TEXT)
          && !c.equals(Columns.ID)
          && !c.equals(options.sourceCol())
          && !c.equals(READ_ERROR)
          && !c.equals(POSITION)) {
        rest.add(Columns.named(c));
      }
    }
    List<Column> cols = new ArrayList<>();
    // A row whose id is null gets the content hash, so that no later join can lose it.
    cols.add(
        hasId
            ? coalesce(
                    Columns.named(options.idCol()).cast(DataTypes.StringType),
                    contentHash(source, text))
                .as(Columns.ID)
            : lit(null).cast(DataTypes.StringType).as(Columns.ID));
    cols.add(source.as(Columns.SOURCE));
    cols.add(text.as(Columns.TEXT));
    cols.addAll(rest);
    for (String c : List.of(POSITION, READ_ERROR)) {
      if (hasColumn(raw, c)) {
        cols.add(col(c));
      }
    }
    Dataset<Row> docs = raw.select(cols.toArray(Column[]::new));
    return hasId ? docs : withDerivedIds(docs);
  }

  /**
   * The text column as strings: a string column as it is, a binary one as UTF-8 (invalid bytes
   * become U+FFFD, as in JSONL). Any other type is refused: cast to a string, a number or an array
   * would be tokenized and trained on as if it were a document.
   */
  private static Column textColumn(Dataset<Row> raw, String textCol, String input) {
    DataType type = raw.schema().apply(textCol).dataType();
    if (type instanceof StringType) {
      return col(textCol);
    }
    if (type instanceof BinaryType) {
      return make_valid_utf8(col(textCol).cast(DataTypes.StringType));
    }
    throw new IllegalArgumentException(
        "--input "
            + input
            + ": its text column '"
            + textCol
            + "' holds "
            + type.simpleString()
            + " values, not text; pass the column that holds the documents' text with"
            + " --text-col (a string column, or binary holding UTF-8)");
  }

  /**
   * Reads {@code input} with its columns as they are and {@link #READ_ERROR} last, for tables whose
   * rows are not documents (prompts, benchmark items). JSONL is read as documents are (see the
   * class comment), with {@code stringCol} in the place of the text column, named in its reason
   * ({@code prompt-not-a-string: a number}). Plain-text files give {@code id} (the relative path)
   * and {@code text}.
   *
   * @param stringCol a column that must hold a string (or null) for a JSONL line to be a row; null:
   *     none
   */
  public static Dataset<Row> readTable(
      SparkSession spark, String input, InputFormat format, String stringCol) {
    return readTable(spark, input, format, stringCol, JsonLines.Check.STRING);
  }

  /**
   * Reads {@code input} as {@link #readTable} does, with {@code chatCol} as the JSONL column that
   * must hold a chat for a line to be a row: an array of objects whose {@code role} and {@code
   * content} are strings. A line whose value is not one keeps its other columns, a null chat, and
   * its reason ({@code <chatCol>-not-a-chat: } what is wrong, file and line) in {@link
   * #READ_ERROR}.
   */
  public static Dataset<Row> readChats(
      SparkSession spark, String input, InputFormat format, String chatCol) {
    return readTable(spark, input, format, chatCol, JsonLines.Check.CHAT);
  }

  private static Dataset<Row> readTable(
      SparkSession spark,
      String input,
      InputFormat format,
      String checkedCol,
      JsonLines.Check check) {
    InputFiles files = files(spark, input);
    InputFormat resolved = format == InputFormat.AUTO ? InputFormat.detect(files) : format;
    if (resolved != InputFormat.JSONL) {
      return load(spark, files, resolved)
          .withColumn(READ_ERROR, lit(null).cast(DataTypes.StringType));
    }
    long limit = Long.parseLong(ReaderOptions.MAX_DOCUMENT_BYTES.defaultText());
    return jsonLines(spark, files, checkedCol, checkedCol, check, limit).drop(POSITION);
  }

  private static InputFiles files(SparkSession spark, String input) {
    return InputFiles.of(input, spark.sparkContext().hadoopConfiguration()).warnOfHidden();
  }

  /** Fills {@code id} from source and text, as described in the class comment. */
  static Dataset<Row> withDerivedIds(Dataset<Row> docs) {
    Column base = contentHash(col(Columns.SOURCE), col(Columns.TEXT));
    List<Column> others = new ArrayList<>();
    for (String c : docs.columns()) {
      if (!c.equals(Columns.ID) && !c.equals(POSITION)) {
        others.add(Columns.named(c));
      }
    }
    Column tieBreak = to_json(struct(others.toArray(Column[]::new)));
    Column n = row_number().over(Window.partitionBy(base).orderBy(tieBreak));
    return docs.withColumn(
        Columns.ID, when(n.equalTo(1), base).otherwise(concat(base, lit("-"), n)));
  }

  /** The first 128 bits of SHA-256 over source, NUL, text, in hex. */
  private static Column contentHash(Column source, Column text) {
    return substring(sha2(concat_ws("\u0000", source, text), 256), 1, 32);
  }

  private static Dataset<Row> load(SparkSession spark, InputFiles files, InputFormat format) {
    String input = files.input();
    return switch (format) {
      case JSONL -> throw new IllegalStateException("JSONL is read line by line, by jsonLines");
      case PARQUET -> files.reader(spark).parquet(input);
      case CSV -> {
        Dataset<Row> csv =
            files
                .reader(spark)
                .option("header", true)
                .option("multiLine", true)
                .option("escape", "\"")
                .csv(input);
        refuseMisquoted(CsvQuoting.check(spark, csv.inputFiles()), input);
        yield csv;
      }
      case DELTA -> spark.read().format("delta").load(input);
      case TEXT -> {
        String root = rootUri(spark, input);
        Column path = col("_metadata.file_path");
        // Spark writes file:/x where Hadoop qualifies to file:///x: match on the path part only.
        Column at = locate(root, path);
        Column relative =
            when(at.gt(0), path.substr(at.plus(root.length()), lit(Integer.MAX_VALUE)))
                .otherwise(path);
        yield files
            .reader(spark)
            .option("wholetext", true)
            .text(input)
            .select(relative.as(Columns.ID), col("value").as(Columns.TEXT));
      }
      case AUTO -> throw new IllegalStateException("format must be resolved first");
    };
  }

  /** Fails naming the misquoted CSV files, whose records Spark would join without an error. */
  private static void refuseMisquoted(List<CsvQuoting.Problem> problems, String input) {
    if (problems.isEmpty()) {
      return;
    }
    List<String> named = new ArrayList<>();
    for (CsvQuoting.Problem p : problems.subList(0, Math.min(5, problems.size()))) {
      named.add(p.file() + " line " + p.line() + ": " + p.reason());
    }
    throw new IllegalArgumentException(
        "--input "
            + input
            + ": "
            + problems.size()
            + " CSV file(s) are misquoted, and Spark would join the records after the first"
            + " misquoted place into one field without an error: "
            + String.join("; ", named)
            + (problems.size() > named.size() ? "; ..." : "")
            + ". A quote inside a quoted field is written twice (\"\")");
  }

  /** The folder that plain-text ids are relative to, as a path ending in '/'. */
  private static String rootUri(SparkSession spark, String input) {
    try {
      Path path = new Path(input);
      FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
      Path fixed = path;
      while (fixed != null && hasGlob(fixed.getName())) {
        fixed = fixed.getParent();
      }
      if (fixed == null) {
        return "";
      }
      FileStatus status = fs.exists(fixed) ? fs.getFileStatus(fixed) : null;
      Path dir = status != null && status.isDirectory() ? fixed : fixed.getParent();
      String root = fs.makeQualified(dir).toUri().getPath();
      return root.endsWith("/") ? root : root + "/";
    } catch (IOException e) {
      throw new UncheckedIOException("cannot inspect --input " + input, e);
    }
  }

  private static boolean hasGlob(String name) {
    return name.chars().anyMatch(c -> "*?[]{}".indexOf(c) >= 0);
  }

  private static Column sourceColumn(Dataset<Row> raw, ReaderOptions options) {
    if (!options.source().isBlank()) {
      return lit(options.source());
    }
    if (hasColumn(raw, options.sourceCol())) {
      return Columns.named(options.sourceCol()).cast(DataTypes.StringType);
    }
    return lit(defaultSource(options.input()));
  }

  /** The input's last path element without glob characters and extensions, e.g. {@code wiki}. */
  static String defaultSource(String input) {
    String name = new Path(input).getName();
    if (hasGlob(name)) {
      Path parent = new Path(input).getParent();
      name = parent == null ? "input" : parent.getName();
    }
    int dot = name.indexOf('.');
    String base = dot > 0 ? name.substring(0, dot) : name;
    return base.isBlank() ? "input" : base.toLowerCase(Locale.ROOT);
  }

  static boolean hasColumn(Dataset<Row> df, String name) {
    return Arrays.asList(df.columns()).contains(name);
  }
}
