package org.dbrxspark.udfs.ml;

import java.io.Serializable;
import org.apache.spark.sql.Row;

/** Extracts one row's input for an inference op; built on the driver from column positions. */
@FunctionalInterface
interface RowReader<I> extends Serializable {
  I read(Row row);
}
