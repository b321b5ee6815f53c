// The backend's matrix products, LayerNorm, KV stores and attention, run on the host by
// emulator.h, against float64 references computed here: odd shapes (40 and 300 columns, head
// dimension 40, two sequences over interleaved paged blocks), every weight type, every KV type, and
// a row's product alone against the same row in a batch, bit for bit. load_element, which the
// references use to widen weights, is checked against the runtime's own decoding by CudaHostTest.
#include "emulator.h"
#include "kernels.h"

static unsigned long long state = 12345;
static double uniform() {  // in [-1, 1)
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (state >> 11) * (2.0 / 9007199254740992.0) - 1;
}

static int failures = 0;
static void check(bool ok, const char* what, double got, double want) {
  if (!ok && failures++ < 20) printf("%s: %.9g, not %.9g\n", what, got, want);
}

// Random weights of a type, [rows, cols]; block types get small positive f16 scales, as random bytes
// there could be infinities or NaNs.
static std::vector<u8> weights(int dtype, int rows, int cols, long* rowBytes) {
  std::vector<u8> w;
  if (dtype == DT_F32 || dtype == DT_F16 || dtype == DT_BF16) {
    int size = dtype == DT_F32 ? 4 : 2;
    *rowBytes = (long) cols * size;
    w.resize(rows * *rowBytes);
    for (int i = 0; i < rows * cols; i++) {
      float v = uniform();
      u16 half = dtype == DT_F16 ? float_to_f16(v) : float_to_bf16(v);
      memcpy(&w[(long) size * i], size == 4 ? (const void*) &v : (const void*) &half, size);
    }
    return w;
  }
  int blockSize = dtype == DT_Q8_0 || dtype == DT_Q4_0 ? 32 : 256;
  int blockBytes = dtype == DT_Q8_0 ? 34 : dtype == DT_Q4_0 ? 18 : dtype == DT_Q4_K ? 144 : dtype == DT_Q5_K ? 176 : 210;
  std::vector<int> scales = dtype == DT_Q4_K || dtype == DT_Q5_K ? std::vector<int>{0, 2}
                            : dtype == DT_Q6_K                  ? std::vector<int>{208}
                                                                : std::vector<int>{0};
  *rowBytes = (long) cols / blockSize * blockBytes;
  w.resize(rows * *rowBytes);
  for (u8& b : w) b = (u8) (uniform() * 128 + 128);
  float unit = blockSize == 256 ? 1.0f / 262144 : 1.0f / 4096;
  for (size_t b = 0; b < w.size() / blockBytes; b++) {
    for (int at : scales) {
      u16 d = float_to_f16((int) ((uniform() + 1) * 32 + 1) * unit);
      memcpy(&w[b * blockBytes + at], &d, 2);
    }
  }
  return w;
}

static void linearProducts(int dtype, int rows, int cols) {
  long rowBytes;
  std::vector<u8> w = weights(dtype, rows, cols, &rowBytes);
  int n = 9;
  std::vector<float> x(n * cols), out(n * rows), alone(rows);
  for (float& v : x) v = uniform();
  unsigned gx = (rows + LINEAR_WARPS - 1) / LINEAR_WARPS;
  launch(gx, (n + LINEAR_TOKENS - 1) / LINEAR_TOKENS, 32 * LINEAR_WARPS,
         [&] { linear(x.data(), n, cols, w.data(), rowBytes, rows, dtype, out.data()); });
  char what[64];
  snprintf(what, sizeof what, "linear, type %d", dtype);
  for (int t = 0; t < n; t++) {
    for (int j = 0; j < rows; j++) {
      double want = 0, magnitude = 0;
      for (int i = 0; i < cols; i++) {
        double term = (double) x[t * cols + i] * load_element(dtype, w.data() + j * rowBytes, i);
        want += term;
        magnitude += fabs(term);
      }
      check(fabs(out[t * rows + j] - want) <= 2e-5 * (1 + magnitude), what, out[t * rows + j], want);
    }
  }
  launch(gx, 1, 32 * LINEAR_WARPS,
         [&] { linear(x.data() + 8 * cols, 1, cols, w.data(), rowBytes, rows, dtype, alone.data()); });
  for (int j = 0; j < rows; j++) {
    check(memcmp(&alone[j], &out[8 * rows + j], 4) == 0, "a row alone", alone[j], out[8 * rows + j]);
  }
  if (dtype == DT_F32 || dtype == DT_F16 || dtype == DT_BF16) {  // the same weights as [in, out]
    std::vector<float> xi(n * rows), oi(n * cols);
    for (float& v : xi) v = uniform();
    launch((cols + 127) / 128, (n + LINEAR_TOKENS - 1) / LINEAR_TOKENS, 128,
           [&] { input_major(xi.data(), n, rows, cols, w.data(), rowBytes, dtype, oi.data()); });
    for (int t = 0; t < n; t++) {
      for (int j = 0; j < cols; j++) {
        double want = 0, magnitude = 0;
        for (int i = 0; i < rows; i++) {
          double term = (double) xi[t * rows + i] * load_element(dtype, w.data() + i * rowBytes, j);
          want += term;
          magnitude += fabs(term);
        }
        check(fabs(oi[t * cols + j] - want) <= 2e-5 * (1 + magnitude), "input_major", oi[t * cols + j], want);
      }
    }
  }
}

static void layerNorm() {
  int rows = 3, cols = 300;
  std::vector<float> x(rows * cols), gamma(cols), out(rows * cols);
  for (float& v : x) v = uniform() * 3 + 0.5;
  for (float& v : gamma) v = uniform();
  launch(rows, 1, NORM_THREADS,
         [&] { layer_norm(x.data(), cols, (const u8*) gamma.data(), DT_F32, 1e-5, out.data()); });
  for (int r = 0; r < rows; r++) {
    double mean = 0, var = 0;
    for (int i = 0; i < cols; i++) mean += x[r * cols + i] / (double) cols;
    for (int i = 0; i < cols; i++) var += (x[r * cols + i] - mean) * (x[r * cols + i] - mean) / cols;
    for (int i = 0; i < cols; i++) {
      double want = (x[r * cols + i] - mean) / sqrt(var + 1e-5) * gamma[i];
      check(fabs(out[r * cols + i] - want) <= 2e-5 * (1 + fabs(want)), "layer_norm", out[r * cols + i], want);
    }
  }
}

// Two sequences (37 and 9 positions) in interleaved blocks of one cache, 6 query heads over 2 KV
// heads of 40, layer 1 of 2: every position stored by store_kv, then attend from each last one.
static void attention(int kvType) {
  const int layers = 2, layer = 1, kvHeads = 2, heads = 6, headDim = 40;
  const int width = (heads + 2 * kvHeads) * headDim, keys = heads * headDim, values = keys + kvHeads * headDim;
  long blockBytes = (long) KV_BLOCK_TOKENS * layers * 2 * kvHeads * headDim * (kvType == KV_F32 ? 4 : 2);
  std::vector<std::vector<u8>> blocks(5, std::vector<u8>(blockBytes));
  std::vector<std::vector<int>> tables = {{3, 0, 4}, {1}};
  std::vector<int> lengths = {37, 9};
  std::vector<std::vector<float>> qkv(2);
  std::vector<u64> addresses;
  std::vector<int> starts, last;
  for (int s = 0; s < 2; s++) {
    starts.push_back(addresses.size());
    for (int b : tables[s]) addresses.push_back((u64) blocks[b].data());
    int n = lengths[s];
    qkv[s].resize(n * width);
    for (float& v : qkv[s]) v = uniform();
    std::vector<int> sequenceStart(n, 0), positions(n);
    for (int t = 0; t < n; t++) positions[t] = t;
    std::vector<u64> own(addresses.begin() + starts[s], addresses.end());
    launch(n, 1, 128, [&] {
      store_kv(qkv[s].data(), width, keys, values, layer, kvHeads, headDim, kvType, own.data(),
               sequenceStart.data(), positions.data());
    });
    last.push_back(n - 1);
  }
  std::vector<float> query(2 * width), out(2 * keys);
  for (int s = 0; s < 2; s++) memcpy(&query[s * width], &qkv[s][last[s] * width], 4 * width);
  launch(2, heads, ATTEND_THREADS, [&] {
    attend(query.data(), width, heads, kvHeads, headDim, layer, kvType, addresses.data(), starts.data(),
           last.data(), 1.0f / sqrtf(headDim), out.data(), keys);
  });
  auto stored = [&](float v) -> double {
    return kvType == KV_F32 ? v : kvType == KV_F16 ? f16_to_float(float_to_f16(v)) : bf16_to_float(float_to_bf16(v));
  };
  for (int s = 0; s < 2; s++) {
    int n = lengths[s];
    const float* rows = qkv[s].data();
    for (int h = 0; h < heads; h++) {
      int kv = h / (heads / kvHeads);
      std::vector<double> score(n);
      double top = -INFINITY, sum = 0;
      for (int p = 0; p < n; p++) {
        for (int i = 0; i < headDim; i++) {
          score[p] += (double) rows[(n - 1) * width + h * headDim + i] * stored(rows[p * width + keys + kv * headDim + i]);
        }
        score[p] /= sqrt(headDim);
        top = fmax(top, score[p]);
      }
      for (double& v : score) sum += v = exp(v - top);
      for (int i = 0; i < headDim; i++) {
        double want = 0;
        for (int p = 0; p < n; p++) want += score[p] / sum * stored(rows[p * width + values + kv * headDim + i]);
        check(fabs(out[s * keys + h * headDim + i] - want) <= 2e-5, "attend", out[s * keys + h * headDim + i], want);
      }
    }
  }
}

int main() {
  for (int dtype : {DT_F32, DT_F16, DT_BF16}) linearProducts(dtype, 11, 40);
  for (int dtype : {DT_Q8_0, DT_Q4_0}) linearProducts(dtype, 11, 96);
  for (int dtype : {DT_Q4_K, DT_Q5_K, DT_Q6_K}) linearProducts(dtype, 11, 512);
  layerNorm();
  for (int kvType : {KV_F32, KV_F16, KV_BF16}) attention(kvType);
  printf("%d failures\n", failures);
  return failures != 0;
}
