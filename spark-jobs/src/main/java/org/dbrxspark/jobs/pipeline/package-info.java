/**
 * {@code pipeline}: the whole flow in one Spark application (curate, dedup, mix, tokenize,
 * generate, rag-index, rag-query), each stage reading the Delta table of the one before; on its
 * defaults, the project's quick start.
 */
package org.dbrxspark.jobs.pipeline;
