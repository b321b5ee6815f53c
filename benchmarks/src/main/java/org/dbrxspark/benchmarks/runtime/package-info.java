/** Benchmarks of the model runtime called directly, without Spark: structured output's masks. */
package org.dbrxspark.benchmarks.runtime;
