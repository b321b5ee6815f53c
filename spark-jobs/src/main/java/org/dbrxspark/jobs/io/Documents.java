package org.dbrxspark.jobs.io;

import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * What {@link DocumentReader} read: the document rows, and the ids that more than one input row
 * had, for the job's summary.
 *
 * @param rows the document table
 * @param duplicateIds ids that more than one input row had
 * @param duplicateRows the input rows with those ids beyond the first of each
 * @param firstDuplicateIds the smallest few of those ids
 * @param onDuplicateId what was done with them: {@code keep-first} or {@code rename}
 */
public record Documents(
    Dataset<Row> rows,
    long duplicateIds,
    long duplicateRows,
    List<String> firstDuplicateIds,
    String onDuplicateId) {
  /** The same findings about other rows: the rows of a later step. */
  public Documents withRows(Dataset<Row> newRows) {
    return new Documents(newRows, duplicateIds, duplicateRows, firstDuplicateIds, onDuplicateId);
  }

  /** The summary line: {@code none}, or how many ids, what was done and the first of them. */
  public String duplicateIdSummary() {
    if (duplicateIds == 0) {
      return "none";
    }
    String done = onDuplicateId.equals("rename") ? "renamed" : "dropped";
    return "repeated ids: "
        + duplicateIds
        + ", later rows "
        + done
        + ": "
        + duplicateRows
        + " (--on-duplicate-id "
        + onDuplicateId
        + "; first ids: "
        + String.join(", ", firstDuplicateIds)
        + ")";
  }
}
