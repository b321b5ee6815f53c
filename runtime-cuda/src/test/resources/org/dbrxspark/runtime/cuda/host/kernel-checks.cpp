// Every kernel of the backend, run on the host by emulator.h, against float64 references computed
// here: odd shapes (40 and 300 columns, head dimension 40, two sequences over interleaved paged
// blocks), every weight type, every KV type, and a row's product alone against the same row in a
// batch, bit for bit. load_element, which the
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

// embed, rotation and rope, gather_rows, glu, add_scaled_rows, add_values and clamp_values.
static void rowOperations() {
  long rowBytes;
  std::vector<u8> table = weights(DT_Q6_K, 5, 256, &rowBytes);
  int tokens[] = {4, 0, 4};
  std::vector<float> embedded(3 * 256);
  launch(3, 1, 256, [&] { embed(table.data(), rowBytes, DT_Q6_K, 256, tokens, embedded.data()); });
  for (int t = 0; t < 3; t++) {
    for (int c = 0; c < 256; c++) {
      float want = load_element(DT_Q6_K, table.data() + tokens[t] * rowBytes, c);
      check(embedded[t * 256 + c] == want, "embed", embedded[t * 256 + c], want);
    }
  }

  int positions[] = {0, 7, 300};
  int headDim = 12, cols = 5 * headDim, heads = 3;  // the last two heads are not rotated
  double theta = 500000;
  std::vector<float> rotation(3 * headDim), x(3 * cols), rotated;
  launch(3, 1, 128, [&] { ::rotation(positions, headDim, theta, rotation.data()); });
  for (float& v : x) v = uniform();
  rotated = x;
  launch(3, 1, 128, [&] { rope(rotated.data(), cols, rotation.data(), headDim, heads); });
  for (int t = 0; t < 3; t++) {
    for (int h = 0; h < 5; h++) {
      for (int i = 0; i < headDim / 2; i++) {
        int at = t * cols + h * headDim + i;
        double angle = positions[t] * pow(theta, -2.0 * i / headDim);
        double x1 = x[at], x2 = x[at + headDim / 2];
        double want1 = h < heads ? x1 * cos(angle) - x2 * sin(angle) : x1;
        double want2 = h < heads ? x2 * cos(angle) + x1 * sin(angle) : x2;
        check(fabs(rotated[at] - want1) <= 2e-5, "rope", rotated[at], want1);
        check(fabs(rotated[at + headDim / 2] - want2) <= 2e-5, "rope", rotated[at + headDim / 2], want2);
      }
    }
  }

  int width = 37, picks[] = {3, 0, 3};
  std::vector<float> src(4 * width), gathered(3 * width);
  for (float& v : src) v = uniform();
  launch(3, 1, 256, [&] { gather_rows(src.data(), width, picks, gathered.data()); });
  for (int i = 0; i < 3; i++) {
    for (int c = 0; c < width; c++) {
      check(gathered[i * width + c] == src[picks[i] * width + c], "gather_rows", gathered[i * width + c], src[picks[i] * width + c]);
    }
  }

  for (int activation : {ACT_SILU, ACT_GELU, ACT_GELU_TANH, ACT_RELU}) {
    std::vector<float> gate(2 * width), up(2 * width), out;
    for (float& v : gate) v = uniform() * 4;
    for (float& v : up) v = uniform();
    out = gate;
    launch(1, 1, 256, [&] { glu(out.data(), up.data(), 2 * width, activation); });
    for (int i = 0; i < 2 * width; i++) {
      double z = gate[i];
      double a = activation == ACT_SILU ? z / (1 + exp(-z))
                 : activation == ACT_GELU ? 0.5 * z * (1 + erf(z / sqrt(2.0)))
                 : activation == ACT_GELU_TANH ? 0.5 * z * (1 + tanh(sqrt(2 / M_PI) * (z + 0.044715 * z * z * z)))
                 : fmax(0, z);
      check(fabs(out[i] - a * up[i]) <= 1e-6, "glu", out[i], a * up[i]);
    }
  }

  std::vector<float> dst(3 * width), rows(2 * width), y(3 * width), sum;
  for (float& v : dst) v = uniform();
  for (float& v : rows) v = uniform();
  for (float& v : y) v = uniform();
  int targets[] = {2, 0};
  float scales[] = {0.25f, -2.0f};
  sum = dst;
  launch(1, 1, 128, [&] { add_scaled_rows(rows.data(), width, targets, scales, 2, sum.data()); });
  launch(1, 1, 256, [&] { add_values(sum.data(), y.data(), 3 * width); });
  for (int c = 0; c < width; c++) {
    double want[] = {dst[c] - 2.0 * rows[width + c] + y[c], dst[width + c] + y[width + c],
                     dst[2 * width + c] + 0.25 * rows[c] + y[2 * width + c]};
    for (int r = 0; r < 3; r++) check(fabs(sum[r * width + c] - want[r]) <= 1e-6, "add_scaled_rows", sum[r * width + c], want[r]);
  }

  float bounded[] = {-3, -2, -0.5f, 0, 1.99f, 2, 7, -INFINITY};
  float bound[] = {-2, -2, -0.5f, 0, 1.99f, 2, 2, -2};
  launch(1, 1, 256, [&] { clamp_values(bounded, 8, 2.0f); });
  for (int i = 0; i < 8; i++) check(bounded[i] == bound[i], "clamp_values", bounded[i], bound[i]);
}

// Softmax and top-2 of 5 experts, ties to the lower index, with and without the L2 renormalisation.
static void routing() {
  float logits[] = {0.5f, 2, -1, 2, 0, 3, 1, 1, 0, -2};
  int chosen[4];
  float weights[4];
  for (int normalize : {0, 1}) {
    launch(1, 1, 64, [&] { route(logits, 2, 5, 2, normalize, 2.0, chosen, weights); });
    int want[] = {1, 3, 0, 1};
    for (int t = 0; t < 2; t++) {
      double sum = 0;
      for (int e = 0; e < 5; e++) sum += exp(logits[t * 5 + e]);
      double p0 = exp(logits[t * 5 + want[2 * t]]) / sum, p1 = exp(logits[t * 5 + want[2 * t + 1]]) / sum;
      double norm = normalize ? sqrt(p0 * p0 + p1 * p1) : 1;
      check(chosen[2 * t] == want[2 * t] && chosen[2 * t + 1] == want[2 * t + 1], "route experts", chosen[2 * t], want[2 * t]);
      check(fabs(weights[2 * t] - p0 / norm) <= 1e-6, "route weight", weights[2 * t], p0 / norm);
      check(fabs(weights[2 * t + 1] - p1 / norm) <= 1e-6, "route weight", weights[2 * t + 1], p1 / norm);
    }
  }
}

int main() {
  for (int dtype : {DT_F32, DT_F16, DT_BF16}) linearProducts(dtype, 11, 40);
  for (int dtype : {DT_Q8_0, DT_Q4_0}) linearProducts(dtype, 11, 96);
  for (int dtype : {DT_Q4_K, DT_Q5_K, DT_Q6_K}) linearProducts(dtype, 11, 512);
  layerNorm();
  for (int kvType : {KV_F32, KV_F16, KV_BF16}) attention(kvType);
  rowOperations();
  routing();
  printf("%d failures\n", failures);
  return failures != 0;
}
