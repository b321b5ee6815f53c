/**
 * Benchmarks of the spark-jobs: curate and dedup against MLlib (data preparation), decontaminate,
 * tokenize, generate and rag-index, with what they share: the seeded synthetic corpus with planted
 * near-duplicates ({@link org.dbrxspark.benchmarks.jobs.CorpusGenerator}), measured runs in a JVM
 * of their own with their peak memory, and the reports.
 */
package org.dbrxspark.benchmarks.jobs;
