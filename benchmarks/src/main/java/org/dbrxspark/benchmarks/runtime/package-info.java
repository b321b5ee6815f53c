/**
 * Benchmarks of the model runtime called directly, without Spark: structured output's masks, the n
 * samples of one request forked from one prefill, and prefill and decode per CPU-second.
 */
package org.dbrxspark.benchmarks.runtime;
