package org.dbrxspark.jobs.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files under an {@code --input} path (a file, a folder or a glob), and how Spark must be told
 * to read every one of them.
 *
 * <p>Spark reads a folder's own files and, below it, only partition folders ({@code lang=en/}).
 * Files in any other subfolder ({@code 2024/part-0.jsonl}) are left out without a word, so a folder
 * holding both files and such subfolders would lose the subfolders' documents. When the input has a
 * data file that Spark's partition discovery would skip, it is read recursively: every file at any
 * depth, without partition columns.
 *
 * <p>Names that start with {@code _} or {@code .} are hidden from Spark at any depth (its own
 * {@code _SUCCESS}, {@code .crc} files, {@code _delta_log}). A hidden file whose name is a data
 * file's is not read either; it is logged, so that a user can rename it.
 *
 * <p>The same listing tells the input's format ({@link InputFormat#detect(InputFiles)}), so an
 * object store lists the input once for both.
 *
 * @param input the path as the user gave it
 * @param recursive whether Spark must list the input recursively to read every data file
 * @param hidden hidden files with a data file's name, which no read includes
 * @param first what decides the format: the first match by path, and its first visible file
 */
record InputFiles(String input, boolean recursive, List<String> hidden, First first) {
  private static final Logger LOG = LoggerFactory.getLogger(InputFiles.class);

  /** Hidden files named in the log, at most. */
  private static final int NAMED = 5;

  public InputFiles {
    hidden = List.copyOf(hidden);
  }

  /**
   * The first of the input's matches by path: none (null {@code name}, not {@code delta}) when the
   * input matches nothing; a Delta table's folder; or the name of the file itself, or of the first
   * file by path that Spark does not hide in the folder, at any depth (null when it has none).
   *
   * @param matched whether the input matches anything
   * @param delta whether the first match is a folder with a {@code _delta_log}
   * @param name the deciding file's name, or null
   */
  record First(boolean matched, boolean delta, String name) {}

  /**
   * Lists {@code input} once (one recursive listing per folder, which object stores answer with a
   * flat listing). A Delta table is read through its log, so its folder is not listed.
   */
  static InputFiles of(String input, Configuration hadoop) {
    return of(input, hadoop, "--input");
  }

  /** {@link #of(String, Configuration)} for the path {@code option} gives, naming it in errors. */
  static InputFiles of(String input, Configuration hadoop, String option) {
    try {
      Path path = new Path(input);
      FileSystem fs = path.getFileSystem(hadoop);
      FileStatus[] matches = fs.globStatus(path);
      matches = matches == null ? new FileStatus[0] : matches;
      Arrays.sort(matches, Comparator.comparing(s -> s.getPath().toString()));
      boolean recursive = false;
      List<String> hidden = new ArrayList<>();
      First first = new First(false, false, null);
      for (int m = 0; m < matches.length; m++) {
        FileStatus match = matches[m];
        Path root = match.getPath();
        boolean delta = match.isDirectory() && fs.exists(new Path(root, "_delta_log"));
        Path firstVisible = null;
        if (match.isDirectory() && !delta) {
          for (Path file : filesUnder(fs, root)) {
            String[] below = relative(root, file).split("/");
            boolean visible = !isHidden(below[below.length - 1]) && !underHidden(below);
            if (visible
                && (firstVisible == null
                    || file.toString().compareTo(firstVisible.toString()) < 0)) {
              firstVisible = file;
            }
            if (isHidden(below[below.length - 1])) {
              if (InputFormat.isDataFileName(file.getName()) && !underHidden(below)) {
                hidden.add(file.toString());
              }
            } else if (!underHidden(below) && !underPartitionsOnly(below)) {
              recursive = true;
            }
          }
        }
        if (m == 0) {
          String name =
              !match.isDirectory()
                  ? root.getName()
                  : firstVisible == null ? null : firstVisible.getName();
          first = new First(true, delta, name);
        }
      }
      return new InputFiles(input, recursive, hidden, first);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + option + " " + input, e);
    }
  }

  /** Logs the hidden data files, which no read includes, so that a user can rename them. */
  InputFiles warnOfHidden() {
    if (!hidden.isEmpty()) {
      LOG.warn(
          "--input {}: {} file(s) not read, as Spark skips names that start with '_' or '.': {}{};"
              + " rename them to read them",
          input,
          hidden.size(),
          String.join(", ", hidden.subList(0, Math.min(NAMED, hidden.size()))),
          hidden.size() > NAMED ? ", ..." : "");
    }
    return this;
  }

  /** A reader for the input's files: recursive where {@link #recursive} says. */
  DataFrameReader reader(SparkSession spark) {
    DataFrameReader reader = spark.read();
    return recursive ? reader.option("recursiveFileLookup", "true") : reader;
  }

  /**
   * Every file below {@code dir}, at any depth. Object stores and HDFS answer {@code listFiles}
   * with a flat listing. Hadoop's local file system fills each of its statuses' permissions by
   * running {@code ls -ld} where Hadoop's native library is absent (as in most Spark downloads), a
   * process per file; its plain folder listings do not, so a local folder is walked with those.
   */
  private static List<Path> filesUnder(FileSystem fs, Path dir) throws IOException {
    List<Path> files = new ArrayList<>();
    if (fs instanceof LocalFileSystem || fs instanceof RawLocalFileSystem) {
      for (FileStatus status : fs.listStatus(dir)) {
        if (status.isDirectory()) {
          files.addAll(filesUnder(fs, status.getPath()));
        } else {
          files.add(status.getPath());
        }
      }
    } else {
      RemoteIterator<LocatedFileStatus> located = fs.listFiles(dir, true);
      while (located.hasNext()) {
        files.add(located.next().getPath());
      }
    }
    return files;
  }

  /** Spark's rule for the names it leaves out of a folder's listing. */
  static boolean isHidden(String name) {
    return name.startsWith("_") || name.startsWith(".");
  }

  /** {@code file}'s path below {@code root}, '/'-separated. */
  private static String relative(Path root, Path file) {
    String base = root.toUri().getPath();
    String path = file.toUri().getPath();
    String below = path.startsWith(base) ? path.substring(base.length()) : file.getName();
    return below.startsWith("/") ? below.substring(1) : below;
  }

  /** Whether a folder on the way to the file (the last part) is hidden: none of it is data. */
  private static boolean underHidden(String[] parts) {
    for (int i = 0; i < parts.length - 1; i++) {
      if (isHidden(parts[i])) {
        return true;
      }
    }
    return false;
  }

  /** Whether every folder on the way to the file is a partition folder ({@code key=value}). */
  private static boolean underPartitionsOnly(String[] parts) {
    for (int i = 0; i < parts.length - 1; i++) {
      if (parts[i].indexOf('=') <= 0) {
        return false;
      }
    }
    return true;
  }
}
