/**
 * What {@code bin/dbrx bench} measures: decode and prefill throughput of a model, and the machine's
 * read bandwidth and GEMM throughput, the rooflines the model is set against in the same run.
 */
package org.dbrxspark.runtime.bench;
