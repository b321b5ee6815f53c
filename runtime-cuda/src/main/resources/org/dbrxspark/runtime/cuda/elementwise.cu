// The per-element and per-row operations of a forward step. Each output element is computed by one
// thread from its own inputs, so nothing here depends on the batch.

// out[t] = table[tokens[t]], widened to float32: a block per token.
extern "C" __global__ void embed(
    const u8* table, long long rowBytes, int dtype, int cols, const int* tokens, float* out) {
  const u8* row = table + (long long) tokens[blockIdx.x] * rowBytes;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    out[(long long) blockIdx.x * cols + c] = load_element(dtype, row, c);
  }
}

// Into [-bound, bound]; a NaN stays NaN, as with the CPU's Math.max/min.
extern "C" __global__ void clamp_values(float* x, long long count, float bound) {
  for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < count;
       i += (long long) gridDim.x * blockDim.x) {
    float v = x[i];
    x[i] = v < -bound ? -bound : (v > bound ? bound : v);
  }
}

// RoPE's rotation table, [positions, headDim]: row t holds cos(positions[t] * theta^(-2i/headDim))
// for i below headDim / 2, then the sines; in double, as the CPU computes it.
extern "C" __global__ void rotation(const int* positions, int headDim, double theta, float* out) {
  int half = headDim / 2;
  float* row = out + (long long) blockIdx.x * headDim;
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    double angle = positions[blockIdx.x] * pow(theta, -2.0 * i / headDim);
    row[i] = (float) cos(angle);
    row[half + i] = (float) sin(angle);
  }
}

// Rotate-half RoPE on the first heads of each row (a block per row); rotation row t holds the
// cosines, then the sines.
extern "C" __global__ void rope(
    float* x, int cols, const float* rotation, int headDim, int heads) {
  int half = headDim / 2;
  float* row = x + (long long) blockIdx.x * cols;
  const float* cs = rotation + (long long) blockIdx.x * headDim;
  for (int k = threadIdx.x; k < heads * half; k += blockDim.x) {
    float* v = row + (k / half) * headDim;
    int i = k % half;
    float x1 = v[i];
    float x2 = v[i + half];
    v[i] = x1 * cs[i] - x2 * cs[half + i];
    v[i + half] = x2 * cs[i] + x1 * cs[half + i];
  }
}

// dst[i] = src[rows[i]]: a block per destination row.
extern "C" __global__ void gather_rows(const float* src, int cols, const int* rows, float* dst) {
  const float* from = src + (long long) rows[blockIdx.x] * cols;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    dst[(long long) blockIdx.x * cols + c] = from[c];
  }
}

// Activations, as CudaBackend.activationCode passes them (DbrxConfig.Activation).
enum { ACT_SILU = 0, ACT_GELU = 1, ACT_GELU_TANH = 2, ACT_RELU = 3 };

// gate = activation(gate) * up. GELU in double, as the CPU computes it.
extern "C" __global__ void glu(float* gate, const float* up, long long count, int activation) {
  for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < count;
       i += (long long) gridDim.x * blockDim.x) {
    float z = gate[i];
    float a;
    switch (activation) {
      case ACT_SILU: a = z / (1.0f + (float) exp(-(double) z)); break;
      case ACT_GELU: a = (float) (0.5 * z * (1.0 + erf(z / sqrt(2.0)))); break;
      case ACT_GELU_TANH:
        a = (float) (0.5 * z * (1.0 + tanh(sqrt(2.0 / 3.141592653589793) *
                                          (z + 0.044715 * (double) z * z * z))));
        break;
      default: a = z > 0.0f ? z : 0.0f; break;
    }
    gate[i] = a * up[i];
  }
}

// dst[rows[i]] += scales[i] * src[i] for i in order: a thread per column walks the rows, so a
// destination row named twice adds in order and never races.
extern "C" __global__ void add_scaled_rows(
    const float* src, int cols, const int* rows, const float* scales, int count, float* dst) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) {
    return;
  }
  for (int i = 0; i < count; i++) {
    dst[(long long) rows[i] * cols + c] += scales[i] * src[(long long) i * cols + c];
  }
}

// x += y.
extern "C" __global__ void add_values(float* x, const float* y, long long count) {
  for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < count;
       i += (long long) gridDim.x * blockDim.x) {
    x[i] += y[i];
  }
}
