// Matrix products out = x w^T (linear, weights [rows, cols] as nn.Linear stores them) and
// out = x w (input_major, weights [rows = in, cols = out]), x float32 [n, in].
//
// linear: a warp per weight row (output column), LINEAR_TOKENS rows of x per pass. Lane l takes the
// row's 32-element units l, l + 32, ... in order, widening each once for all the pass's tokens, and
// the lanes' sums meet in warp_sum's fixed tree: every output sums in an order fixed by cols alone.

#define LINEAR_WARPS 8
#define LINEAR_TOKENS 8

template <int DT>
__device__ __forceinline__ void linear_rows(
    const float* x, int n, int cols, const u8* w, long long rowBytes, int rows, float* out) {
  int j = blockIdx.x * LINEAR_WARPS + threadIdx.x / 32;
  int lane = threadIdx.x % 32;
  int t0 = blockIdx.y * LINEAR_TOKENS;
  if (j >= rows) {
    return;  // a whole warp: no barrier follows
  }
  int tokens = min(LINEAR_TOKENS, n - t0);
  const u8* row = w + (long long) j * rowBytes;
  float acc[LINEAR_TOKENS];
#pragma unroll
  for (int t = 0; t < LINEAR_TOKENS; t++) {
    acc[t] = 0.0f;
  }
  int units = (cols + 31) / 32;
  for (int u = lane; u < units; u += 32) {
    int count = min(32, cols - 32 * u);
    float wv[32];
#pragma unroll
    for (int l = 0; l < 32; l++) {
      wv[l] = l < count ? unit_element<DT>(row, u, l) : 0.0f;
    }
#pragma unroll
    for (int t = 0; t < LINEAR_TOKENS; t++) {
      if (t < tokens) {
        const float* xr = x + (long long) (t0 + t) * cols + 32 * u;
        float s = acc[t];
#pragma unroll
        for (int l = 0; l < 32; l++) {
          if (l < count) {
            s += wv[l] * xr[l];
          }
        }
        acc[t] = s;
      }
    }
  }
#pragma unroll
  for (int t = 0; t < LINEAR_TOKENS; t++) {
    float sum = warp_sum(acc[t]);
    if (lane == 0 && t < tokens) {
      out[(long long) (t0 + t) * rows + j] = sum;
    }
  }
}

// Each weight type widens its units with constant offsets; the branch is the same for every thread.
extern "C" __global__ void linear(
    const float* x, int n, int cols, const u8* w, long long rowBytes, int rows, int dtype,
    float* out) {
  switch (dtype) {
    case DT_F32: linear_rows<DT_F32>(x, n, cols, w, rowBytes, rows, out); break;
    case DT_F16: linear_rows<DT_F16>(x, n, cols, w, rowBytes, rows, out); break;
    case DT_BF16: linear_rows<DT_BF16>(x, n, cols, w, rowBytes, rows, out); break;
    case DT_Q8_0: linear_rows<DT_Q8_0>(x, n, cols, w, rowBytes, rows, out); break;
    case DT_Q4_0: linear_rows<DT_Q4_0>(x, n, cols, w, rowBytes, rows, out); break;
    case DT_Q4_K: linear_rows<DT_Q4_K>(x, n, cols, w, rowBytes, rows, out); break;
    case DT_Q5_K: linear_rows<DT_Q5_K>(x, n, cols, w, rowBytes, rows, out); break;
    default: linear_rows<DT_Q6_K>(x, n, cols, w, rowBytes, rows, out); break;
  }
}

// input_major: a thread per output column, LINEAR_TOKENS rows of x per pass, the input rows summed
// in order. Reads w a row at a time across the threads, which is how it is laid out.
extern "C" __global__ void input_major(
    const float* x, int n, int rows, int cols, const u8* w, long long rowBytes, int dtype,
    float* out) {
  int j = blockIdx.x * blockDim.x + threadIdx.x;
  int t0 = blockIdx.y * LINEAR_TOKENS;
  if (j >= cols) {
    return;
  }
  int tokens = min(LINEAR_TOKENS, n - t0);
  float acc[LINEAR_TOKENS];
#pragma unroll
  for (int t = 0; t < LINEAR_TOKENS; t++) {
    acc[t] = 0.0f;
  }
  for (int i = 0; i < rows; i++) {
    float wv = load_element(dtype, w + (long long) i * rowBytes, j);
#pragma unroll
    for (int t = 0; t < LINEAR_TOKENS; t++) {
      if (t < tokens) {
        acc[t] += x[(long long) (t0 + t) * rows + i] * wv;
      }
    }
  }
  for (int t = 0; t < tokens; t++) {
    out[(long long) (t0 + t) * cols + j] = acc[t];
  }
}
