/**
 * {@code bin/dbrx-spark}: the entry point that names every job, parses its options and prints its
 * summary. The jobs live in one package each and share only {@code cli}, {@code core}, {@code io}
 * and {@code inference}; no job package imports another.
 */
package org.dbrxspark.jobs;
