package org.dbrxspark.jobs.io;

import static org.apache.spark.sql.functions.col;

import org.apache.spark.sql.Column;

/**
 * Names of the columns every document table has, and the one way to refer to any column by name.
 */
public final class Columns {
  /** Stable document id (string). */
  public static final String ID = "id";

  /** Where the document came from (string). */
  public static final String SOURCE = "source";

  /** The document text (string). */
  public static final String TEXT = "text";

  /** In a mix, which copy of a document the row is (int): rows of one id differ by it. */
  public static final String COPY = "copy";

  private Columns() {}

  /**
   * {@code name} as a SQL identifier: in backticks, with its own backticks doubled, so that a
   * user's column (or table path) named with dots, spaces or backticks is taken as one name.
   */
  public static String quote(String name) {
    return "`" + name.replace("`", "``") + "`";
  }

  /** The column called {@code name}, exactly: dots and backticks in it are part of the name. */
  public static Column named(String name) {
    return col(quote(name));
  }
}
