package org.dbrxspark.runtime.kernels;

import java.util.ArrayList;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.dbrxspark.runtime.backend.KvBatch;
import org.dbrxspark.runtime.backend.KvStorage;

/**
 * Attention of query tokens over their sequences' paged KV cache. The work is cut into runs: up to
 * {@link #RUN_TOKENS} tokens of one sequence that sit next to each other in the batch (a prompt's
 * tokens do), each run with one KV head and the query heads of its group. A run widens each cache
 * block once for all its tokens.
 *
 * <p>A query's arithmetic is the same whatever run, batch or thread it falls in: its score for a
 * position is Σ_d q[d]·k[d] with one fused multiply-add per term in d order, times the scale; then
 * the softmax; then each output element is Σ_u p[u]·v[u] with one fused multiply-add per position
 * in position order. Scores are computed with a block's keys transposed, lanes across positions, so
 * no score needs a sum across lanes.
 */
final class CachedAttention {
  private static final VectorSpecies<Float> F = KernelShape.FLOATS;
  private static final int LANES = F.length();
  private static final int BLOCK = KvStorage.BLOCK_TOKENS;

  /** Positions of a transposed key block computed a vector at a time; the rest one by one. */
  private static final int VECTOR_POSITIONS = LANES <= BLOCK ? BLOCK / LANES * LANES : 0;

  /** Tokens per run at most: they share each widened block; more would starve the threads. */
  static final int RUN_TOKENS = 8;

  private CachedAttention() {}

  /**
   * The runs of {@code batch}: {@code [first, end)} token ranges of one sequence (same storage and
   * block table), in batch order.
   */
  static List<int[]> runs(KvBatch batch) {
    List<int[]> runs = new ArrayList<>();
    int n = batch.tokens();
    for (int first = 0; first < n; ) {
      int end = first + 1;
      while (end < n
          && end - first < RUN_TOKENS
          && batch.storages()[end] == batch.storages()[first]
          && batch.blockTables()[end] == batch.blockTables()[first]) {
        end++;
      }
      runs.add(new int[] {first, end});
      first = end;
    }
    return runs;
  }

  /**
   * Adds the attention of tokens {@code [first, end)} (one run) for KV head {@code kvHead} into
   * {@code out} ({@code [tokens, heads x headDim]}, zero where this adds). {@code q} is the batch's
   * {@code [tokens, width]} QKV rows, the queries first.
   */
  static void attendRun(
      int layer,
      KvBatch batch,
      int first,
      int end,
      int kvHead,
      int group,
      int headDim,
      float[] q,
      int width,
      float[] out,
      int outCols) {
    CpuKvStorage storage = (CpuKvStorage) batch.storages()[first];
    int[] table = batch.blockTables()[first];
    int queries = (end - first) * group;
    int[] queryOffsets = new int[queries];
    int[] outOffsets = new int[queries];
    int[] visible = new int[queries];
    int maxVisible = 0;
    for (int i = 0; i < queries; i++) {
      int t = first + i / group;
      int head = kvHead * group + i % group;
      queryOffsets[i] = t * width + head * headDim;
      outOffsets[i] = t * outCols + head * headDim;
      visible[i] = batch.positions()[t] + 1;
      maxVisible = Math.max(maxVisible, visible[i]);
    }
    int blocks = (maxVisible + BLOCK - 1) / BLOCK;
    int stride = blocks * BLOCK;
    float scale = (float) (1.0 / Math.sqrt(headDim));
    float[] scores = new float[queries * stride];
    float[] tile = new float[BLOCK * headDim];
    float[] keys = new float[headDim * BLOCK];
    int[] active = new int[queries];
    for (int b = 0; b < blocks; b++) {
      int start = b * BLOCK;
      int count = Math.min(BLOCK, maxVisible - start);
      storage.read(table[b], layer, CpuKvStorage.KEYS, kvHead, count, tile);
      transpose(tile, count, headDim, keys);
      int n = activeQueries(visible, start, active);
      int a = 0;
      for (; a + 4 <= n; a += 4) {
        scoreFour(keys, headDim, q, queryOffsets, active, a, scores, stride, start, scale);
      }
      for (; a < n; a++) {
        int at = active[a] * stride + start;
        scoreOne(keys, headDim, q, queryOffsets[active[a]], scores, at, scale);
      }
    }
    for (int i = 0; i < queries; i++) {
      RowKernels.softmax(scores, i * stride, visible[i]);
    }
    for (int b = 0; b < blocks; b++) {
      int start = b * BLOCK;
      int count = Math.min(BLOCK, maxVisible - start);
      storage.read(table[b], layer, CpuKvStorage.VALUES, kvHead, count, tile);
      int n = activeQueries(visible, start, active);
      for (int a = 0; a < n; a++) {
        int i = active[a];
        int positions = Math.min(count, visible[i] - start);
        addValues(tile, positions, headDim, scores, i * stride + start, out, outOffsets[i]);
      }
    }
  }

  /** Fills {@code active} with the queries that see position {@code start}; returns how many. */
  private static int activeQueries(int[] visible, int start, int[] active) {
    int n = 0;
    for (int i = 0; i < visible.length; i++) {
      if (visible[i] > start) {
        active[n++] = i;
      }
    }
    return n;
  }

  /** {@code keys[d, u] = tile[u, d]}, positions past {@code count} zero. */
  private static void transpose(float[] tile, int count, int headDim, float[] keys) {
    for (int d = 0; d < headDim; d++) {
      for (int u = 0; u < BLOCK; u++) {
        keys[d * BLOCK + u] = u < count ? tile[u * headDim + d] : 0f;
      }
    }
  }

  /**
   * Scores of four queries against a transposed block: four independent chains, where one would
   * wait on each fused multiply-add's latency. The same operations per score as {@link #scoreOne}.
   */
  private static void scoreFour(
      float[] keys,
      int headDim,
      float[] q,
      int[] queryOffsets,
      int[] active,
      int a,
      float[] scores,
      int stride,
      int start,
      float scale) {
    int q0 = queryOffsets[active[a]];
    int q1 = queryOffsets[active[a + 1]];
    int q2 = queryOffsets[active[a + 2]];
    int q3 = queryOffsets[active[a + 3]];
    for (int c = 0; c < VECTOR_POSITIONS; c += LANES) {
      FloatVector s0 = FloatVector.zero(F);
      FloatVector s1 = FloatVector.zero(F);
      FloatVector s2 = FloatVector.zero(F);
      FloatVector s3 = FloatVector.zero(F);
      for (int d = 0; d < headDim; d++) {
        FloatVector k = FloatVector.fromArray(F, keys, d * BLOCK + c);
        s0 = k.fma(FloatVector.broadcast(F, q[q0 + d]), s0);
        s1 = k.fma(FloatVector.broadcast(F, q[q1 + d]), s1);
        s2 = k.fma(FloatVector.broadcast(F, q[q2 + d]), s2);
        s3 = k.fma(FloatVector.broadcast(F, q[q3 + d]), s3);
      }
      s0.mul(scale).intoArray(scores, active[a] * stride + start + c);
      s1.mul(scale).intoArray(scores, active[a + 1] * stride + start + c);
      s2.mul(scale).intoArray(scores, active[a + 2] * stride + start + c);
      s3.mul(scale).intoArray(scores, active[a + 3] * stride + start + c);
    }
    for (int k = 0; k < 4; k++) {
      int at = active[a + k] * stride + start;
      scoreTail(keys, headDim, q, queryOffsets[active[a + k]], scores, at, scale);
    }
  }

  /** Scores of one query against a transposed block, into {@code scores[at ..]}. */
  private static void scoreOne(
      float[] keys, int headDim, float[] q, int qOff, float[] scores, int at, float scale) {
    for (int c = 0; c < VECTOR_POSITIONS; c += LANES) {
      FloatVector s = FloatVector.zero(F);
      for (int d = 0; d < headDim; d++) {
        s =
            FloatVector.fromArray(F, keys, d * BLOCK + c)
                .fma(FloatVector.broadcast(F, q[qOff + d]), s);
      }
      s.mul(scale).intoArray(scores, at + c);
    }
    scoreTail(keys, headDim, q, qOff, scores, at, scale);
  }

  /** The positions past the vector ones, one at a time with the same operations. */
  private static void scoreTail(
      float[] keys, int headDim, float[] q, int qOff, float[] scores, int at, float scale) {
    for (int u = VECTOR_POSITIONS; u < BLOCK; u++) {
      float s = 0f;
      for (int d = 0; d < headDim; d++) {
        s = Math.fma(keys[d * BLOCK + u], q[qOff + d], s);
      }
      scores[at + u] = s * scale;
    }
  }

  /**
   * {@code out[o + d] += Σ_u p[u] · tile[u, d]} over the first {@code positions} rows of a value
   * block, u in order, with the sums kept in registers across positions: 4 vectors of d at a time,
   * then one, then single elements, all with the same fused multiply-add per term.
   */
  private static void addValues(
      float[] tile, int positions, int headDim, float[] p, int pOff, float[] out, int o) {
    int d = 0;
    for (; d + 4 * LANES <= headDim; d += 4 * LANES) {
      FloatVector a0 = FloatVector.fromArray(F, out, o + d);
      FloatVector a1 = FloatVector.fromArray(F, out, o + d + LANES);
      FloatVector a2 = FloatVector.fromArray(F, out, o + d + 2 * LANES);
      FloatVector a3 = FloatVector.fromArray(F, out, o + d + 3 * LANES);
      for (int u = 0; u < positions; u++) {
        FloatVector w = FloatVector.broadcast(F, p[pOff + u]);
        int v = u * headDim + d;
        a0 = FloatVector.fromArray(F, tile, v).fma(w, a0);
        a1 = FloatVector.fromArray(F, tile, v + LANES).fma(w, a1);
        a2 = FloatVector.fromArray(F, tile, v + 2 * LANES).fma(w, a2);
        a3 = FloatVector.fromArray(F, tile, v + 3 * LANES).fma(w, a3);
      }
      a0.intoArray(out, o + d);
      a1.intoArray(out, o + d + LANES);
      a2.intoArray(out, o + d + 2 * LANES);
      a3.intoArray(out, o + d + 3 * LANES);
    }
    for (; d + LANES <= headDim; d += LANES) {
      FloatVector a = FloatVector.fromArray(F, out, o + d);
      for (int u = 0; u < positions; u++) {
        a =
            FloatVector.fromArray(F, tile, u * headDim + d)
                .fma(FloatVector.broadcast(F, p[pOff + u]), a);
      }
      a.intoArray(out, o + d);
    }
    for (; d < headDim; d++) {
      float a = out[o + d];
      for (int u = 0; u < positions; u++) {
        a = Math.fma(tile[u * headDim + d], p[pOff + u], a);
      }
      out[o + d] = a;
    }
  }
}
