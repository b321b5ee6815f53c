// LayerNorm without bias, a block of NORM_THREADS per row: mean and variance in double, each thread
// summing its strided columns in order and the threads' sums meeting in a fixed tree, as the CPU's
// RowKernels.layerNorm sums a row in double.

#define NORM_THREADS 256

__device__ double block_sum(double v, double* part) {
  part[threadIdx.x] = v;
  __syncthreads();
  for (int stride = NORM_THREADS / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) {
      part[threadIdx.x] += part[threadIdx.x + stride];
    }
    __syncthreads();
  }
  double sum = part[0];
  __syncthreads();  // part is reused by the next sum
  return sum;
}

extern "C" __global__ void layer_norm(
    const float* x, int cols, const u8* gamma, int gammaType, double eps, float* out) {
  __shared__ double part[NORM_THREADS];
  const float* xr = x + (long long) blockIdx.x * cols;
  float* o = out + (long long) blockIdx.x * cols;
  double sum = 0;
  for (int c = threadIdx.x; c < cols; c += NORM_THREADS) {
    sum += xr[c];
  }
  double mean = block_sum(sum, part) / cols;
  double squares = 0;
  for (int c = threadIdx.x; c < cols; c += NORM_THREADS) {
    double dev = xr[c] - mean;
    squares += dev * dev;
  }
  double inv = 1.0 / sqrt(block_sum(squares, part) / cols + eps);
  for (int c = threadIdx.x; c < cols; c += NORM_THREADS) {
    o[c] = (float) ((xr[c] - mean) * inv) * load_element(gammaType, gamma, c);
  }
}
