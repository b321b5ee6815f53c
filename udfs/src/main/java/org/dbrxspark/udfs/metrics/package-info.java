/** Spark accumulators, per-batch log lines and per-stage summaries of DBRX work. */
package org.dbrxspark.udfs.metrics;
