// The router: softmax over each row's expert logits, then its k most probable experts (ties to the
// lower index), renormalised by their p-norm when normalize is set. A thread per row, computing as
// the CPU does (exp in double, the sum in double), so the choice of experts matches it.

#define ROUTE_MAX_EXPERTS 256

extern "C" __global__ void route(
    const float* logits, int tokens, int experts, int k, int normalize, double pNorm,
    int* chosen, float* weights) {
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= tokens) {
    return;
  }
  const float* row = logits + (long long) t * experts;
  float p[ROUTE_MAX_EXPERTS];
  bool taken[ROUTE_MAX_EXPERTS];
  float max = NEG_INFINITY;
  for (int e = 0; e < experts; e++) {
    max = fmaxf(max, row[e]);
  }
  double sum = 0;
  for (int e = 0; e < experts; e++) {
    p[e] = (float) exp((double) (row[e] - max));
    sum += p[e];
    taken[e] = false;
  }
  float inv = (float) (1.0 / sum);
  for (int e = 0; e < experts; e++) {
    p[e] *= inv;
  }
  for (int j = 0; j < k; j++) {
    int best = -1;
    for (int e = 0; e < experts; e++) {
      if (!taken[e] && (best < 0 || p[e] > p[best])) {
        best = e;
      }
    }
    taken[best] = true;
    chosen[t * k + j] = best;
    weights[t * k + j] = p[best];
  }
  if (normalize) {
    double norm = 0;
    for (int j = 0; j < k; j++) {
      norm += pow((double) weights[t * k + j], pNorm);
    }
    norm = pow(norm, 1.0 / pNorm);
    for (int j = 0; j < k; j++) {
      weights[t * k + j] = (float) (weights[t * k + j] / norm);
    }
  }
}
