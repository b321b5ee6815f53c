package org.dbrxspark.jobs.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

/**
 * Checks that CSV files are quoted as RFC 4180 says, before Spark reads them.
 *
 * <p>Documents are read from CSV with fields that span lines. When a quote cannot be matched (a
 * quote inside a quoted field that is not doubled, or a quoted field never closed), Spark's parser
 * joins the lines after it, records included, into one field without an error, and the records it
 * swallowed are in no count. Spark's strict mode fails the whole read without saying where. So each
 * file is scanned first, one task per file, and the first misquoted place of each is named.
 */
final class CsvQuoting {
  /** The first misquoted place of a file: its line (from 1) and what is wrong there. */
  record Problem(String file, long line, String reason) implements Serializable {}

  private static final int FIELD_START = 0;
  private static final int UNQUOTED = 1;
  private static final int QUOTED = 2;

  /** A quote inside a quoted field: a doubled quote, or the field's end. */
  private static final int QUOTE = 3;

  /** After a quoted field's closing quote: only a delimiter or a line end may follow. */
  private static final int CLOSED = 4;

  private CsvQuoting() {}

  /** The first misquoted place of each of {@code files} that has one, in file order. */
  static List<Problem> check(SparkSession spark, String[] files) {
    if (files.length == 0) {
      return List.of();
    }
    SerializableConfiguration hadoop =
        new SerializableConfiguration(spark.sparkContext().hadoopConfiguration());
    FlatMapFunction<Iterator<String>, Problem> scanFiles =
        paths -> {
          List<Problem> found = new ArrayList<>();
          CompressionCodecFactory codecs = new CompressionCodecFactory(hadoop.value());
          while (paths.hasNext()) {
            Path path = new Path(paths.next());
            FileSystem fs = path.getFileSystem(hadoop.value());
            CompressionCodec codec = codecs.getCodec(path);
            try (InputStream raw = fs.open(path);
                InputStream in = codec == null ? raw : codec.createInputStream(raw)) {
              Problem problem = firstProblem(path.toString(), in);
              if (problem != null) {
                found.add(problem);
              }
            }
          }
          return found.iterator();
        };
    List<String> sorted = Arrays.stream(files).sorted().toList();
    return JavaSparkContext.fromSparkContext(spark.sparkContext())
        .parallelize(sorted, sorted.size())
        .mapPartitions(scanFiles)
        .collect();
  }

  /**
   * The first misquoted place of the CSV text in {@code in} (comma-separated, {@code "} quotes,
   * {@code ""} for a quote inside a quoted field), or null. A quote inside an unquoted field is
   * text, as Spark reads it.
   */
  static Problem firstProblem(String file, InputStream in) {
    try {
      byte[] buffer = new byte[64 * 1024];
      int state = FIELD_START;
      long line = 1;
      long opened = 0;
      boolean start = true;
      for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
        int i = 0;
        if (start && n >= 3 && (buffer[0] & 0xFF) == 0xEF && (buffer[1] & 0xFF) == 0xBB) {
          i = (buffer[2] & 0xFF) == 0xBF ? 3 : 0;
        }
        start = false;
        for (; i < n; i++) {
          byte b = buffer[i];
          if (b == '\n') {
            line++;
          }
          switch (state) {
            case FIELD_START, UNQUOTED -> {
              if (state == FIELD_START && b == '"') {
                state = QUOTED;
                opened = line;
              } else {
                state = b == ',' || b == '\n' ? FIELD_START : UNQUOTED;
              }
            }
            case QUOTED -> state = b == '"' ? QUOTE : QUOTED;
            case QUOTE, CLOSED -> {
              if (state == QUOTE && b == '"') {
                state = QUOTED;
              } else if (b == ',' || b == '\n') {
                state = FIELD_START;
              } else if (b == '\r') {
                state = CLOSED;
              } else {
                return new Problem(
                    file,
                    line,
                    "a quote inside the quoted field that opens on line "
                        + opened
                        + " is not doubled");
              }
            }
            default -> throw new IllegalStateException("state " + state);
          }
        }
      }
      return state == QUOTED
          ? new Problem(file, opened, "the quoted field that opens here is never closed")
          : null;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }
}
