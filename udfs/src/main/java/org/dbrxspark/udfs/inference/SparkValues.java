package org.dbrxspark.udfs.inference;

/** Runtime arrays in the form Spark's row converters take for array columns. */
final class SparkValues {
  private SparkValues() {}

  static Object floats(float[] values) {
    return values;
  }

  static Object ints(int[] values) {
    return values;
  }
}
