package org.dbrxspark.udfs.ml;

import java.util.Arrays;
import java.util.function.Predicate;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.IntegralType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Schema checks with messages that name the column, the param and the expected type. */
final class SchemaChecks {
  private SchemaChecks() {}

  static final Predicate<DataType> STRING = t -> t.equals(DataTypes.StringType);
  static final Predicate<DataType> NUMERIC = t -> t instanceof NumericType;
  static final Predicate<DataType> INTEGRAL = t -> t instanceof IntegralType;

  /** array&lt;struct&lt;role: string, content: string&gt;&gt;, extra struct fields allowed. */
  static final Predicate<DataType> MESSAGES =
      t ->
          t instanceof ArrayType a
              && a.elementType() instanceof StructType s
              && hasString(s, "role")
              && hasString(s, "content");

  /** Checks that {@code column} (named by param {@code param}) exists with an accepted type. */
  static void require(
      StructType schema,
      String param,
      String column,
      Predicate<DataType> accepted,
      String expected) {
    if (!Arrays.asList(schema.fieldNames()).contains(column)) {
      throw new IllegalArgumentException(
          param
              + ": column '"
              + column
              + "' does not exist; the columns are "
              + String.join(", ", schema.fieldNames()));
    }
    DataType actual = schema.apply(column).dataType();
    if (!accepted.test(actual)) {
      throw new IllegalArgumentException(
          param
              + ": column '"
              + column
              + "' must be "
              + expected
              + ", not "
              + actual.simpleString());
    }
  }

  private static boolean hasString(StructType s, String name) {
    for (StructField f : s.fields()) {
      if (f.name().equals(name)) {
        return f.dataType().equals(DataTypes.StringType);
      }
    }
    return false;
  }
}
