/**
 * {@code dedup}: near-duplicate removal by MinHash and LSH, candidate pairs verified, clusters
 * found by connected components, and an index that later runs deduplicate against.
 */
package org.dbrxspark.jobs.dedup;
