/**
 * Benchmarks of the udfs in local Spark against the runtime called directly: the transformer and
 * the SQL function, and prefix caching.
 */
package org.dbrxspark.benchmarks.udfs;
