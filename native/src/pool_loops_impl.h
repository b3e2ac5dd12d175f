// faceverloss native engine: the pooling loops of pool_loops.h, included once per instruction set by
// pool_loops_{scalar,avx2,avx512}.cc, each defining FVL_POOL_LOOPS (the table's name) and FVL_POOL_NAME.
// Only common.h is included: nothing from the standard library is compiled with the unit's ISA flags.
#include "pool_loops.h"

namespace fvl {
namespace {

#if defined(_MSC_VER)
constexpr float kLowest = -static_cast<float>(1e300 * 1e300);
#else
constexpr float kLowest = -__builtin_inff();
#endif

// The loops below for a channel count fixed at compile time (N > 0: the channel loop is a few whole
// vectors, unrolled, no remainder) or given at run time (N = 0).
template <int64_t N>
FVL_INLINE void max2x2_run(const float* FVL_RESTRICT r0, const float* FVL_RESTRICT r1, float* FVL_RESTRICT out,
                           int64_t windows, int64_t step, int64_t channels) {
  const int64_t C = N > 0 ? N : channels;
  for (int64_t k = 0; k < windows; ++k, r0 += step, r1 += step, out += C) {
    for (int64_t c = 0; c < C; ++c) {
      float m = kLowest;
      m = r0[c] > m ? r0[c] : m;
      m = r0[C + c] > m ? r0[C + c] : m;
      m = r1[c] > m ? r1[c] : m;
      m = r1[C + c] > m ? r1[C + c] : m;
      out[c] = m;
    }
  }
}

template <int64_t N>
FVL_INLINE void max2x2_gradient_run(const float* FVL_RESTRICT r0, const float* FVL_RESTRICT r1,
                                    const float* FVL_RESTRICT d, float* FVL_RESTRICT o0, float* FVL_RESTRICT o1,
                                    int64_t windows, int64_t step, int64_t channels) {
  const int64_t C = N > 0 ? N : channels;
  for (int64_t k = 0; k < windows; ++k, r0 += step, r1 += step, o0 += step, o1 += step, d += C) {
    for (int64_t c = 0; c < C; ++c) {
      // Whether each tap took the lead (strictly greater than the maximum before it); the last tap that
      // did wins: dy goes to it, taken from the taps before. Selects of values loaded unconditionally,
      // which the compiler turns into masks (a branch would be mispredicted).
      const float v0 = r0[c], v1 = r0[C + c], v2 = r1[c], v3 = r1[C + c];
      const bool t0 = v0 > kLowest;
      const float b0 = t0 ? v0 : kLowest;
      const bool t1 = v1 > b0;
      const float b1 = t1 ? v1 : b0;
      const bool t2 = v2 > b1;
      const float b2 = t2 ? v2 : b1;
      const bool t3 = v3 > b2;
      const float g = d[c];
      const float g3 = t3 ? g : 0.0f, left3 = t3 ? 0.0f : g;
      const float g2 = t2 ? left3 : 0.0f, left2 = t2 ? 0.0f : left3;
      const float g1 = t1 ? left2 : 0.0f, left1 = t1 ? 0.0f : left2;
      o0[c] = t0 ? left1 : 0.0f;
      o0[C + c] = g1;
      o1[c] = g2;
      o1[C + c] = g3;
    }
  }
}

void max2x2(const float* r0, const float* r1, float* out, int64_t windows, int64_t step, int64_t C) {
  switch (C) {
    case 8: return max2x2_run<8>(r0, r1, out, windows, step, C);
    case 16: return max2x2_run<16>(r0, r1, out, windows, step, C);
    case 32: return max2x2_run<32>(r0, r1, out, windows, step, C);
    default: return max2x2_run<0>(r0, r1, out, windows, step, C);
  }
}

void max2x2_gradient(const float* r0, const float* r1, const float* d, float* o0, float* o1, int64_t windows,
                     int64_t step, int64_t C) {
  switch (C) {
    case 8: return max2x2_gradient_run<8>(r0, r1, d, o0, o1, windows, step, C);
    case 16: return max2x2_gradient_run<16>(r0, r1, d, o0, o1, windows, step, C);
    case 32: return max2x2_gradient_run<32>(r0, r1, d, o0, o1, windows, step, C);
    default: return max2x2_gradient_run<0>(r0, r1, d, o0, o1, windows, step, C);
  }
}

}  // namespace

extern const PoolLoops FVL_POOL_LOOPS = {FVL_POOL_NAME, max2x2, max2x2_gradient};

}  // namespace fvl
