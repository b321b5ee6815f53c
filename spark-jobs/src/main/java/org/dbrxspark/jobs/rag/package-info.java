/**
 * {@code rag-index} and {@code rag-query}: documents chunked, embedded and indexed (a Delta chunks
 * table plus Lucene shards for BM25 and vectors), incremental updates from the change feed, and
 * retrieval by BM25, vectors or both, with answers generated from the retrieved chunks.
 */
package org.dbrxspark.jobs.rag;
