package org.dbrxspark.jobs.io;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.locate;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.substring;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.when;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;

/**
 * Reads JSONL (plain or compressed), Parquet, CSV, Delta or plain-text files into a document
 * table whose first columns are {@code id}, {@code source} and {@code text} (strings), followed
 * by the input's other columns unchanged.
 *
 * <p>Ids come from the id column when the input has one. Otherwise they are derived from the
 * content alone, so they do not depend on file order or partitioning: the first 128 bits of
 * SHA-256 over source and text, in hex; rows with equal source and text get {@code -2},
 * {@code -3}, ... in the order of their remaining columns. Plain-text files use the file path
 * relative to the input folder as id. A null in the id column is replaced by the content hash.
 */
public final class DocumentReader {
    private DocumentReader() {
    }

    /** Reads the documents described by {@code options}. */
    public static Dataset<Row> read(SparkSession spark, ReaderOptions options) {
        InputFormat format = resolve(spark, options.input(), options.format());
        return shape(load(spark, options.input(), format), options, format);
    }

    /**
     * Shapes rows already loaded from {@code options.input()} (a Delta snapshot at some version,
     * a change feed) into the document table, as {@link #read} does.
     */
    public static Dataset<Row> documents(Dataset<Row> raw, ReaderOptions options) {
        return shape(raw, options, InputFormat.DELTA);
    }

    private static Dataset<Row> shape(Dataset<Row> raw, ReaderOptions options, InputFormat format) {
        String textCol = format == InputFormat.TEXT ? Columns.TEXT : options.textCol();
        if (!hasColumn(raw, textCol)) {
            throw new IllegalArgumentException("input has no text column '" + textCol + "' (columns: "
                + Arrays.toString(raw.columns()) + "); pass --text-col");
        }
        Column source = sourceColumn(raw, options);
        Column text = col(textCol).cast(DataTypes.StringType);
        boolean hasId = hasColumn(raw, options.idCol());
        if (!hasId && !options.idCol().equals(Columns.ID)) {
            throw new IllegalArgumentException("input has no id column '" + options.idCol() + "' (columns: "
                + Arrays.toString(raw.columns()) + ")");
        }
        List<Column> rest = new ArrayList<>();
        for (String c : raw.columns()) {
            if (!c.equals(textCol) && !c.equals(options.idCol()) && !c.equals(Columns.SOURCE)
                && !c.equals(Columns.TEXT) && !c.equals(Columns.ID) && !c.equals(options.sourceCol())) {
                rest.add(col(quote(c)));
            }
        }
        List<Column> cols = new ArrayList<>();
        // A row whose id is null gets the content hash, so that no later join can lose it.
        cols.add(hasId ? coalesce(col(quote(options.idCol())).cast(DataTypes.StringType), contentHash(source, text))
            .as(Columns.ID) : lit(null).cast(DataTypes.StringType).as(Columns.ID));
        cols.add(source.as(Columns.SOURCE));
        cols.add(text.as(Columns.TEXT));
        cols.addAll(rest);
        Dataset<Row> docs = raw.select(cols.toArray(Column[]::new));
        return hasId ? docs : withDerivedIds(docs);
    }

    /**
     * Reads {@code input} with its columns as they are, for tables whose rows are not documents
     * (prompts, for instance). Plain-text files give {@code id} (the relative path) and {@code text}.
     */
    public static Dataset<Row> readTable(SparkSession spark, String input, InputFormat format) {
        return load(spark, input, resolve(spark, input, format));
    }

    private static InputFormat resolve(SparkSession spark, String input, InputFormat format) {
        return format == InputFormat.AUTO ? InputFormat.detect(input, spark.sparkContext().hadoopConfiguration())
            : format;
    }

    /** Fills {@code id} from source and text, as described in the class comment. */
    static Dataset<Row> withDerivedIds(Dataset<Row> docs) {
        Column base = contentHash(col(Columns.SOURCE), col(Columns.TEXT));
        List<Column> others = new ArrayList<>();
        for (String c : docs.columns()) {
            if (!c.equals(Columns.ID)) {
                others.add(col(quote(c)));
            }
        }
        Column tieBreak = to_json(struct(others.toArray(Column[]::new)));
        Column n = row_number().over(Window.partitionBy(base).orderBy(tieBreak));
        return docs.withColumn(Columns.ID, when(n.equalTo(1), base).otherwise(concat(base, lit("-"), n)));
    }

    /** The first 128 bits of SHA-256 over source, NUL, text, in hex. */
    private static Column contentHash(Column source, Column text) {
        return substring(sha2(concat_ws("\u0000", source, text), 256), 1, 32);
    }

    private static Dataset<Row> load(SparkSession spark, String input, InputFormat format) {
        return switch (format) {
            case JSONL -> spark.read().json(input);
            case PARQUET -> spark.read().parquet(input);
            case CSV -> spark.read().option("header", true).option("multiLine", true).option("escape", "\"")
                .csv(input);
            case DELTA -> spark.read().format("delta").load(input);
            case TEXT -> {
                String root = rootUri(spark, input);
                Column path = col("_metadata.file_path");
                // Spark writes file:/x where Hadoop qualifies to file:///x: match on the path part only.
                Column at = locate(root, path);
                Column relative = when(at.gt(0), path.substr(at.plus(root.length()), lit(Integer.MAX_VALUE)))
                    .otherwise(path);
                yield spark.read().option("wholetext", true).text(input)
                    .select(relative.as(Columns.ID), col("value").as(Columns.TEXT));
            }
            case AUTO -> throw new IllegalStateException("format must be resolved first");
        };
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
            return col(quote(options.sourceCol())).cast(DataTypes.StringType);
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

    private static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }
}
