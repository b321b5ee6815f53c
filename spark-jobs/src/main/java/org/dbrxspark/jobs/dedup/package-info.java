/**
 * {@code dedup}: near-duplicate removal by MinHash and LSH, candidate pairs verified, clusters
 * found by connected components, and an index that later runs deduplicate against; and, at {@code
 * --level sentence} or {@code paragraph}, the removal of repeated spans (boilerplate) from every
 * document but the first.
 */
package org.dbrxspark.jobs.dedup;
