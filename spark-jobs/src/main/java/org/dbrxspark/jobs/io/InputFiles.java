package org.dbrxspark.jobs.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
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
 * @param input the path as the user gave it
 * @param recursive whether Spark must list the input recursively to read every data file
 * @param hidden hidden files with a data file's name, which no read includes
 */
record InputFiles(String input, boolean recursive, List<String> hidden) {
  private static final Logger LOG = LoggerFactory.getLogger(InputFiles.class);

  /** Hidden files named in the log, at most. */
  private static final int NAMED = 5;

  public InputFiles {
    hidden = List.copyOf(hidden);
  }

  /**
   * Lists {@code input} once (one recursive listing per folder, which object stores answer with a
   * flat listing) and logs its hidden data files. A Delta table is read through its log, so its
   * folder is not listed.
   */
  static InputFiles of(String input, Configuration hadoop) {
    try {
      Path path = new Path(input);
      FileSystem fs = path.getFileSystem(hadoop);
      FileStatus[] matches = fs.globStatus(path);
      boolean recursive = false;
      List<String> hidden = new ArrayList<>();
      for (FileStatus match : matches == null ? new FileStatus[0] : matches) {
        Path root = match.getPath();
        if (match.isDirectory() && !fs.exists(new Path(root, "_delta_log"))) {
          for (Path file : filesUnder(fs, root)) {
            String[] below = relative(root, file).split("/");
            if (isHidden(below[below.length - 1])) {
              if (InputFormat.isDataFileName(file.getName()) && !underHidden(below)) {
                hidden.add(file.toString());
              }
            } else if (!underHidden(below) && !underPartitionsOnly(below)) {
              recursive = true;
            }
          }
        }
      }
      InputFiles found = new InputFiles(input, recursive, hidden);
      if (!hidden.isEmpty()) {
        LOG.warn(
            "--input {}: {} file(s) not read, as Spark skips names that start with '_' or '.': {}{};"
                + " rename them to read them",
            input,
            hidden.size(),
            String.join(", ", hidden.subList(0, Math.min(NAMED, hidden.size()))),
            hidden.size() > NAMED ? ", ..." : "");
      }
      return found;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list --input " + input, e);
    }
  }

  /** A reader for the input's files: recursive where {@link #recursive} says. */
  DataFrameReader reader(SparkSession spark) {
    DataFrameReader reader = spark.read();
    return recursive ? reader.option("recursiveFileLookup", "true") : reader;
  }

  /**
   * The first file under {@code dir} by path, at any depth, that Spark does not hide (no part of
   * its path below {@code dir} is hidden); null if none.
   */
  static Path firstVisibleFile(FileSystem fs, Path dir) throws IOException {
    Path first = null;
    for (Path file : filesUnder(fs, dir)) {
      String[] below = relative(dir, file).split("/");
      boolean visible = !isHidden(below[below.length - 1]) && !underHidden(below);
      if (visible && (first == null || file.toString().compareTo(first.toString()) < 0)) {
        first = file;
      }
    }
    return first;
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
