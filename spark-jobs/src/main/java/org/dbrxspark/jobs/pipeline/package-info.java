/**
 * {@code pipeline}: the whole flow in one Spark application (curate, dedup, mix, tokenize,
 * generate, rag-index, rag-query), each stage reading the Delta table of the one before; on its
 * defaults, the project's quick start.
 *
 * <p>The one job package that imports others: a stage's options are typed values keyed by its job's
 * own option specs ({@link org.dbrxspark.jobs.cli.OptionValues}), so an option renamed or retyped
 * in a job is a compile error here, not a command line that fails at run time.
 */
package org.dbrxspark.jobs.pipeline;
