/**
 * Benchmarks of the model runtime called directly, without Spark: structured output's masks, and
 * the n samples of one request forked from one prefill.
 */
package org.dbrxspark.benchmarks.runtime;
