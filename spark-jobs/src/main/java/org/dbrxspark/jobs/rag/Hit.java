package org.dbrxspark.jobs.rag;

/**
 * One retrieved chunk.
 *
 * @param rank position in the result list, from 1
 * @param score the mode's score: (1 + cosine) / 2 for vector search, BM25 for text search, the
 *     reciprocal-rank-fusion sum for hybrid search
 * @param chunk the chunk
 * @param vectorRank its rank in the vector results (hybrid search; null if absent or another mode)
 * @param bm25Rank its rank in the BM25 results (hybrid search; null if absent or another mode)
 */
public record Hit(
    int rank, double score, IndexedChunk chunk, Integer vectorRank, Integer bm25Rank) {}
