/**
 * {@code stats} and {@code export}: a table's counts, lengths and histograms, and a Delta table
 * written out as JSONL or Parquet.
 */
package org.dbrxspark.jobs.stats;
