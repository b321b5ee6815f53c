// The paged KV cache. A block holds KV_BLOCK_TOKENS positions of one sequence in every layer, laid
// out [layer][K|V][kvHead][slot][headDim] (as the CPU's CpuKvStorage), at the device address that
// blockAddr gives it. Token t of a call finds its sequence's blocks at blockAddr[tableStart[t]...]:
// entry b holds positions [16b, 16b + 16).

__device__ __forceinline__ long long kv_offset(
    int layer, int kind, int kvHeads, int kvHead, int slot, int headDim) {
  return ((((long long) layer * 2 + kind) * kvHeads + kvHead) * KV_BLOCK_TOKENS + slot) * headDim;
}

__device__ __forceinline__ float load_kv(int kvType, const u8* block, long long i) {
  switch (kvType) {
    case KV_F32: return ((const float*) block)[i];
    case KV_F16: return f16_to_float(((const u16*) block)[i]);
    default: return bf16_to_float(((const u16*) block)[i]);
  }
}

__device__ __forceinline__ void store_kv_element(int kvType, u8* block, long long i, float v) {
  switch (kvType) {
    case KV_F32: ((float*) block)[i] = v; break;
    case KV_F16: ((u16*) block)[i] = float_to_f16(v); break;
    default: ((u16*) block)[i] = float_to_bf16(v); break;
  }
}

// Each token's keys (from column keyCol of its qkv row) and values (from valueCol) into its slot of
// layer `layer`: a block per token.
extern "C" __global__ void store_kv(
    const float* qkv, int width, int keyCol, int valueCol, int layer, int kvHeads, int headDim,
    int kvType, const u64* blockAddr, const int* tableStart, const int* positions) {
  int t = blockIdx.x;
  int position = positions[t];
  u8* block = (u8*) blockAddr[tableStart[t] + position / KV_BLOCK_TOKENS];
  int slot = position % KV_BLOCK_TOKENS;
  const float* row = qkv + (long long) t * width;
  for (int e = threadIdx.x; e < kvHeads * headDim; e += blockDim.x) {
    int h = e / headDim;
    int d = e % headDim;
    store_kv_element(kvType, block, kv_offset(layer, 0, kvHeads, h, slot, headDim) + d, row[keyCol + e]);
    store_kv_element(kvType, block, kv_offset(layer, 1, kvHeads, h, slot, headDim) + d, row[valueCol + e]);
  }
}

#define ATTEND_THREADS 128
#define ATTEND_WARPS (ATTEND_THREADS / 32)
#define ATTEND_CHUNK 64
#define ATTEND_MAX_HEAD_DIM 256

// Causal attention of query head blockIdx.y of token blockIdx.x over positions [0, positions[t]]
// of its sequence, decode and prefill alike. Positions go in chunks of ATTEND_CHUNK, in order, with
// an online softmax: the running maximum and sum are rescaled per chunk, every thread computing
// them from shared memory in the same order. A warp per position computes a score; a thread per
// head dimension accumulates the values. The order depends on the token's position only.
extern "C" __global__ void attend(
    const float* qkv, int width, int heads, int kvHeads, int headDim, int layer, int kvType,
    const u64* blockAddr, const int* tableStart, const int* positions, float scale, float* out,
    int outCols) {
  __shared__ float q[ATTEND_MAX_HEAD_DIM];
  __shared__ float score[ATTEND_CHUNK];
  __shared__ float weight[ATTEND_CHUNK];
  int t = blockIdx.x;
  int h = blockIdx.y;
  int kvHead = h / (heads / kvHeads);
  int warp = threadIdx.x / 32;
  int lane = threadIdx.x % 32;
  for (int d = threadIdx.x; d < headDim; d += ATTEND_THREADS) {
    q[d] = qkv[(long long) t * width + h * headDim + d];
  }
  __syncthreads();
  const u64* blocks = blockAddr + tableStart[t];
  int visible = positions[t] + 1;
  float max = NEG_INFINITY;
  float sum = 0.0f;
  float acc[ATTEND_MAX_HEAD_DIM / ATTEND_THREADS];
#pragma unroll
  for (int i = 0; i < ATTEND_MAX_HEAD_DIM / ATTEND_THREADS; i++) {
    acc[i] = 0.0f;
  }
  for (int first = 0; first < visible; first += ATTEND_CHUNK) {
    int count = min(ATTEND_CHUNK, visible - first);
    for (int i = warp; i < count; i += ATTEND_WARPS) {
      int p = first + i;
      const u8* block = (const u8*) blocks[p / KV_BLOCK_TOKENS];
      long long keys = kv_offset(layer, 0, kvHeads, kvHead, p % KV_BLOCK_TOKENS, headDim);
      float dot = 0.0f;
      for (int d = lane; d < headDim; d += 32) {
        dot += q[d] * load_kv(kvType, block, keys + d);
      }
      dot = warp_sum(dot);
      if (lane == 0) {
        score[i] = dot * scale;
      }
    }
    __syncthreads();
    float chunkMax = max;
    for (int i = 0; i < count; i++) {
      chunkMax = fmaxf(chunkMax, score[i]);
    }
    if (threadIdx.x < count) {
      weight[threadIdx.x] = expf(score[threadIdx.x] - chunkMax);
    }
    __syncthreads();
    float rescale = expf(max - chunkMax);  // 0 for the first chunk, where max is -infinity
    sum *= rescale;
    for (int i = 0; i < count; i++) {
      sum += weight[i];
    }
#pragma unroll
    for (int k = 0; k < ATTEND_MAX_HEAD_DIM / ATTEND_THREADS; k++) {
      int d = threadIdx.x + k * ATTEND_THREADS;
      if (d < headDim) {
        float a = acc[k] * rescale;
        for (int i = 0; i < count; i++) {
          int p = first + i;
          const u8* block = (const u8*) blocks[p / KV_BLOCK_TOKENS];
          a += weight[i] * load_kv(kvType, block,
                                   kv_offset(layer, 1, kvHeads, kvHead, p % KV_BLOCK_TOKENS, headDim) + d);
        }
        acc[k] = a;
      }
    }
    max = chunkMax;
    __syncthreads();  // score and weight are rewritten by the next chunk
  }
#pragma unroll
  for (int k = 0; k < ATTEND_MAX_HEAD_DIM / ATTEND_THREADS; k++) {
    int d = threadIdx.x + k * ATTEND_THREADS;
    if (d < headDim) {
      out[(long long) t * outCols + h * headDim + d] = acc[k] / sum;
    }
  }
}
