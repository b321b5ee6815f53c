// Shared by every kernel file: element types and their decoding, as model-runtime's checkpoint.DType
// and KQuants define them (ggml's block layouts; f16 fields little-endian, as the GPU reads them).
// Reductions here always add in a fixed order that depends on the shapes only, never on the number
// of rows in a call: a row's result does not depend on its batch.

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

// Weight types, as CudaBackend.typeCode passes them.
enum { DT_F32 = 0, DT_F16 = 1, DT_BF16 = 2, DT_Q8_0 = 3, DT_Q4_0 = 4, DT_Q4_K = 5, DT_Q5_K = 6, DT_Q6_K = 7 };

// KV-cache element types, as CudaBackend.kvTypeCode passes them.
enum { KV_F32 = 0, KV_F16 = 1, KV_BF16 = 2 };

// -infinity, without the math headers NVRTC does not have.
#define NEG_INFINITY __int_as_float(0xFF800000)

// Positions per KV block (KvStorage.BLOCK_TOKENS).
#define KV_BLOCK_TOKENS 16

__device__ __forceinline__ float bf16_to_float(u16 b) { return __uint_as_float(((u32) b) << 16); }

__device__ __forceinline__ float f16_to_float(u16 h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}

// Round to nearest even, as DType.floatToF16 does for every non-NaN value.
__device__ __forceinline__ u16 float_to_f16(float f) {
  u16 h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}

// DType.floatToBf16, operation by operation: a NaN keeps its high half with the quiet bit set.
__device__ __forceinline__ u16 float_to_bf16(float f) {
  u32 bits = __float_as_uint(f);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
    return (u16) ((bits >> 16) | 0x0040u);
  }
  return (u16) ((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

// Every block starts at an even offset of a row (34, 18, 144, 176 and 210 bytes), and rows at even
// offsets of their allocation, so 16-bit reads are aligned.
__device__ __forceinline__ float half_at(const u8* p) { return f16_to_float(*(const u16*) p); }

// Sub-block j's 6-bit scale and min from the 12 packed bytes of a Q4_K/Q5_K block (KQuantScales).
__device__ __forceinline__ int kq_scale(const u8* s, int j) {
  return j < 4 ? (s[j] & 63) : ((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
}

__device__ __forceinline__ int kq_min(const u8* s, int j) {
  return j < 4 ? (s[j + 4] & 63) : ((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
}

// Element l (below 32) of unit u of a row: a unit is 32 consecutive elements, the block of Q8_0
// and Q4_0, a sub-block of the K-quants' 256-element super-blocks. Products are exact (KQuants), so
// a fused multiply-add gives the same value as the CPU's multiply then subtract.
template <int DT>
__device__ __forceinline__ float unit_element(const u8* row, int u, int l) {
  if (DT == DT_F32) {
    return ((const float*) row)[32 * u + l];
  } else if (DT == DT_F16) {
    return f16_to_float(((const u16*) row)[32 * u + l]);
  } else if (DT == DT_BF16) {
    return bf16_to_float(((const u16*) row)[32 * u + l]);
  } else if (DT == DT_Q8_0) {
    const u8* b = row + 34 * u;
    return half_at(b) * (float) (signed char) b[2 + l];
  } else if (DT == DT_Q4_0) {
    const u8* b = row + 18 * u;
    int q = l < 16 ? (b[2 + l] & 0xF) : (b[2 + l - 16] >> 4);
    return (float) (q - 8) * half_at(b);
  } else if (DT == DT_Q4_K || DT == DT_Q5_K) {
    // Sub-blocks 2k (low nibbles) and 2k+1 (high nibbles) share the 32 bytes qs[32k, 32k + 32).
    const int bytes = DT == DT_Q4_K ? 144 : 176;
    const u8* b = row + bytes * (u / 8);
    int j = u % 8;
    float d = half_at(b) * (float) kq_scale(b + 4, j);
    float m = half_at(b + 2) * (float) kq_min(b + 4, j);
    const u8* qs = b + (DT == DT_Q4_K ? 16 : 48);
    int q = qs[32 * (j / 2) + l];
    q = (j & 1) ? (q >> 4) : (q & 0xF);
    if (DT == DT_Q5_K) {
      q |= ((b[16 + l] >> j) & 1) << 4;
    }
    return d * (float) q - m;
  } else {  // DT_Q6_K: ql[128], qh[64], int8 scales[16], f16 d; halves of 128 elements.
    const u8* b = row + 210 * (u / 8);
    int half = (u % 8) / 4;
    int quarter = u % 4;
    const u8* ql = b + 64 * half + 32 * (quarter & 1);
    int h = b[128 + 32 * half + l] >> (2 * quarter) & 3;
    int low = quarter < 2 ? (ql[l] & 0xF) : (ql[l] >> 4);
    signed char scale = (signed char) b[192 + 8 * half + l / 16 + 2 * quarter];
    return half_at(b + 208) * (float) scale * (float) ((low | h << 4) - 32);
  }
}

// Element c of a row of any weight type: embedding rows, norm weights, input-major products.
__device__ __forceinline__ float load_element(int dtype, const u8* row, int c) {
  int u = c / 32;
  int l = c % 32;
  switch (dtype) {
    case DT_F32: return unit_element<DT_F32>(row, u, l);
    case DT_F16: return unit_element<DT_F16>(row, u, l);
    case DT_BF16: return unit_element<DT_BF16>(row, u, l);
    case DT_Q8_0: return unit_element<DT_Q8_0>(row, u, l);
    case DT_Q4_0: return unit_element<DT_Q4_0>(row, u, l);
    case DT_Q4_K: return unit_element<DT_Q4_K>(row, u, l);
    case DT_Q5_K: return unit_element<DT_Q5_K>(row, u, l);
    default: return unit_element<DT_Q6_K>(row, u, l);
  }
}

// The sum of v over the 32 lanes of a warp, in a fixed tree; lane 0 holds it.
__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    v += __shfl_down_sync(0xFFFFFFFFu, v, offset);
  }
  return v;
}
