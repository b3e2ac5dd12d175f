// AVX-512F micro-kernel: MR rows × (16·NV) columns of C held in MR·NV zmm accumulators.
//
// Each k step loads NV vectors of B and broadcasts MR scalars of A, then issues MR·NV FMAs for those
// NV + MR loads. 12×32 keeps 24 accumulators in the 32 registers: enough independent FMA chains to
// cover the 4-cycle latency on two FMA pipes, with loads well under the load ports' budget. The
// packing routines below are here too, since the transposes need the same instruction set.
//
// This file is compiled with -mavx512f -mfma and is only reached after cpu.cc has confirmed that the
// CPU and the OS support AVX-512F, so it must not include any header with inline code of its own.
#include "kernels.h"

#if FVL_X86_64
#include <immintrin.h>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports the deliberately undefined source register inside _mm512_unpacklo_ps and friends
// (_mm512_undefined_ps) as maybe-uninitialized: GCC bug 105593.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace fvl {
namespace {

#if defined(__GNUC__)
// The 12×32 kernel's k loop in assembly, for the order of its instructions alone: every broadcast of A is
// loaded five positions before the two FMAs that use it, so that the FMAs never wait on a load that was
// issued just before them. Compiled from intrinsics, the same loop puts each broadcast right before its
// FMAs (the compiler does not schedule x86 code before allocating registers, and asking it to spills the
// accumulators). On a Sapphire Rapids core with the panels in L1 (`kernelRate`) that ran at 80–85 % of the
// FMA peak, this one runs at 88 %. The arithmetic is the same: each accumulator sums its products in k
// order, so results are bit for bit those of the intrinsics loop.
//
// Registers: zmm0–23 the accumulators (row i in zmm2i and zmm2i+1), zmm24–29 six broadcasts in rotation,
// zmm30–31 the current step's two B vectors. Runs `pairs` trips of two k steps, then stores the
// accumulators to acc_out (row-major, 12×32). `pairs` ≥ 1; the A panel must hold at least five floats
// past the last pair (the next pair's first broadcasts are loaded on the last trip), which the caller
// ensures by leaving at least one k step to the intrinsics loop after this one.
#define FVL_B(OFF) "vmovaps " #OFF "(%[b]), %%zmm30\n\t" "vmovaps " #OFF "+64(%[b]), %%zmm31\n\t"
#define FVL_BC(OFF, R) "vbroadcastss " #OFF "(%[a]), %%zmm" #R "\n\t"
#define FVL_FMA(R, C0, C1) \
  "vfmadd231ps %%zmm30, %%zmm" #R ", %%zmm" #C0 "\n\t" "vfmadd231ps %%zmm31, %%zmm" #R ", %%zmm" #C1 "\n\t"
#define FVL_ZERO(R) "vpxord %%zmm" #R ", %%zmm" #R ", %%zmm" #R "\n\t"
#define FVL_STORE(R) "vmovaps %%zmm" #R ", " #R "*64(%[acc])\n\t"

void k_pairs_12x32(int64_t pairs, const float* a, const float* b, float* acc_out) {
  asm volatile(
      FVL_ZERO(0) FVL_ZERO(1) FVL_ZERO(2) FVL_ZERO(3) FVL_ZERO(4) FVL_ZERO(5) FVL_ZERO(6) FVL_ZERO(7)
      FVL_ZERO(8) FVL_ZERO(9) FVL_ZERO(10) FVL_ZERO(11) FVL_ZERO(12) FVL_ZERO(13) FVL_ZERO(14) FVL_ZERO(15)
      FVL_ZERO(16) FVL_ZERO(17) FVL_ZERO(18) FVL_ZERO(19) FVL_ZERO(20) FVL_ZERO(21) FVL_ZERO(22) FVL_ZERO(23)
      // The first five broadcasts.
      FVL_BC(0, 24) FVL_BC(4, 25) FVL_BC(8, 26) FVL_BC(12, 27) FVL_BC(16, 28)
      ".p2align 5\n"
      "1:\n\t"
      // Line e of the 24 (12 rows, two k steps): load broadcast e + 5 (A offset 4·(e + 5), register
      // 24 + (e + 5) mod 6), then row e mod 12's two FMAs with broadcast e (register 24 + e mod 6).
      FVL_B(0)
      FVL_BC(20, 29) FVL_FMA(24, 0, 1)
      FVL_BC(24, 24) FVL_FMA(25, 2, 3)
      FVL_BC(28, 25) FVL_FMA(26, 4, 5)
      FVL_BC(32, 26) FVL_FMA(27, 6, 7)
      FVL_BC(36, 27) FVL_FMA(28, 8, 9)
      FVL_BC(40, 28) FVL_FMA(29, 10, 11)
      FVL_BC(44, 29) FVL_FMA(24, 12, 13)
      FVL_BC(48, 24) FVL_FMA(25, 14, 15)
      FVL_BC(52, 25) FVL_FMA(26, 16, 17)
      FVL_BC(56, 26) FVL_FMA(27, 18, 19)
      FVL_BC(60, 27) FVL_FMA(28, 20, 21)
      FVL_BC(64, 28) FVL_FMA(29, 22, 23)
      FVL_B(128)
      FVL_BC(68, 29) FVL_FMA(24, 0, 1)
      FVL_BC(72, 24) FVL_FMA(25, 2, 3)
      FVL_BC(76, 25) FVL_FMA(26, 4, 5)
      FVL_BC(80, 26) FVL_FMA(27, 6, 7)
      FVL_BC(84, 27) FVL_FMA(28, 8, 9)
      FVL_BC(88, 28) FVL_FMA(29, 10, 11)
      FVL_BC(92, 29) FVL_FMA(24, 12, 13)
      FVL_BC(96, 24) FVL_FMA(25, 14, 15)
      FVL_BC(100, 25) FVL_FMA(26, 16, 17)
      FVL_BC(104, 26) FVL_FMA(27, 18, 19)
      FVL_BC(108, 27) FVL_FMA(28, 20, 21)
      FVL_BC(112, 28) FVL_FMA(29, 22, 23)
      "add $96, %[a]\n\t"
      "add $256, %[b]\n\t"
      "dec %[pairs]\n\t"
      "jnz 1b\n\t"
      FVL_STORE(0) FVL_STORE(1) FVL_STORE(2) FVL_STORE(3) FVL_STORE(4) FVL_STORE(5) FVL_STORE(6) FVL_STORE(7)
      FVL_STORE(8) FVL_STORE(9) FVL_STORE(10) FVL_STORE(11) FVL_STORE(12) FVL_STORE(13) FVL_STORE(14)
      FVL_STORE(15) FVL_STORE(16) FVL_STORE(17) FVL_STORE(18) FVL_STORE(19) FVL_STORE(20) FVL_STORE(21)
      FVL_STORE(22) FVL_STORE(23)
      : [a] "+r"(a), [b] "+r"(b), [pairs] "+r"(pairs)
      : [acc] "r"(acc_out)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
        "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",
        "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory", "cc");
}

#undef FVL_B
#undef FVL_BC
#undef FVL_FMA
#undef FVL_ZERO
#undef FVL_STORE
#define FVL_ASM_12X32 1
#endif

// One k step: NV vectors of B, MR broadcasts of A, MR·NV FMAs into the accumulators.
template <int MR, int NV>
FVL_INLINE void k_step(const float* FVL_RESTRICT a, const float* FVL_RESTRICT b, __m512 (&acc)[MR][NV]) {
  __m512 bv[NV];
  for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + 16 * v);
  for (int i = 0; i < MR; ++i) {
    const __m512 ai = _mm512_set1_ps(a[i]);
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
  }
}

template <int MR, int NV>
void ukr(int64_t kc, const float* FVL_RESTRICT a, const float* FVL_RESTRICT b, float* FVL_RESTRICT c,
         int64_t ldc, float alpha, float beta) {
  constexpr int NR = 16 * NV;
  __m512 acc[MR][NV];
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  }
#if FVL_ASM_12X32
  // All but the last one or two k steps in assembly (see k_pairs_12x32), the rest below.
  if (MR == 12 && NV == 2 && kc >= 3) {
    const int64_t pairs = (kc - 1) / 2;
    alignas(64) float sums[MR * NR];
    k_pairs_12x32(pairs, a, b, sums);
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_load_ps(sums + i * NR + 16 * v);
    a += 2 * pairs * MR;
    b += 2 * pairs * NR;
    kc -= 2 * pairs;
  }
#endif
  // kc >= 1 always (the driver never calls a kernel for an empty k range).
  do {
    k_step<MR, NV>(a, b, acc);
    a += MR;
    b += NR;
  } while (--kc > 0);
  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {
    for (int i = 0; i < MR; ++i, c += ldc)
      for (int v = 0; v < NV; ++v) _mm512_storeu_ps(c + 16 * v, _mm512_mul_ps(va, acc[i][v]));
  } else if (beta == 1.0f) {  // accumulating over a later depth block: the common case
    for (int i = 0; i < MR; ++i, c += ldc)
      for (int v = 0; v < NV; ++v)
        _mm512_storeu_ps(c + 16 * v, _mm512_fmadd_ps(va, acc[i][v], _mm512_loadu_ps(c + 16 * v)));
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
    for (int i = 0; i < MR; ++i, c += ldc)
      for (int v = 0; v < NV; ++v) {
        const __m512 old = _mm512_loadu_ps(c + 16 * v);
        _mm512_storeu_ps(c + 16 * v, _mm512_fmadd_ps(va, acc[i][v], _mm512_mul_ps(vb, old)));
      }
  }
}

// Transposes a 16×16 block held in r[0..15] (row i = r[i]) in place: afterwards r[j] holds column j.
FVL_INLINE void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // Each 128-bit lane now holds a 4×4 sub-block; gather lanes across registers.
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], _MM_SHUFFLE(2, 0, 2, 0));
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], _MM_SHUFFLE(3, 1, 3, 1));
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], _MM_SHUFFLE(2, 0, 2, 0));
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], _MM_SHUFFLE(3, 1, 3, 1));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], _MM_SHUFFLE(2, 0, 2, 0));
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], _MM_SHUFFLE(3, 1, 3, 1));
    r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], _MM_SHUFFLE(2, 0, 2, 0));
    r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], _MM_SHUFFLE(3, 1, 3, 1));
  }
}

// Packing step for rows stored along k (A not transposed, B transposed): dst[k*W + p] = src[p*ld + k],
// zero for w ≤ p < W. Works in 16×16 blocks; the scalar version costs as much as the products on the
// NT and NN shapes of a face head.
void pack_t(float* FVL_RESTRICT dst, const float* FVL_RESTRICT src, int64_t ld, int W, int w, int64_t kc) {
  __m512 r[16];
  for (int p0 = 0; p0 < W; p0 += 16) {
    const int rows = w - p0 < 16 ? (w - p0 > 0 ? w - p0 : 0) : 16;
    const int lanes = W - p0 < 16 ? W - p0 : 16;
    const __mmask16 store_mask = static_cast<__mmask16>((1u << lanes) - 1);
    for (int64_t k0 = 0; k0 < kc; k0 += 16) {
      const int64_t kn = kc - k0 < 16 ? kc - k0 : 16;
      const __mmask16 load_mask = static_cast<__mmask16>((1u << kn) - 1);
      if (rows == 16 && kn == 16) {
        // Sixteen strided streams are more than the hardware prefetcher follows well: ask for the
        // line four blocks ahead in each row.
        for (int i = 0; i < 16; ++i) {
          _mm_prefetch(reinterpret_cast<const char*>(src + (p0 + i) * ld + k0 + 64), _MM_HINT_T0);
          r[i] = _mm512_loadu_ps(src + (p0 + i) * ld + k0);
        }
      } else {
        for (int i = 0; i < 16; ++i) {
          r[i] = i < rows ? _mm512_maskz_loadu_ps(load_mask, src + (p0 + i) * ld + k0)
                          : _mm512_setzero_ps();
        }
      }
      transpose16x16(r);
      if (lanes == 16) {
        for (int64_t k = 0; k < kn; ++k) _mm512_storeu_ps(dst + (k0 + k) * W + p0, r[k]);
      } else {
        for (int64_t k = 0; k < kn; ++k) _mm512_mask_storeu_ps(dst + (k0 + k) * W + p0, store_mask, r[k]);
      }
    }
  }
}

// Copy-shaped packing (see kernels.h), one source row at a time. Panel widths that are not a multiple
// of 16 (MR = 12 when A is stored transposed) and the ragged end of the row use masked moves.
void pack_n(float* FVL_RESTRICT dst, const float* FVL_RESTRICT src, int64_t ld, int W, int64_t n, int64_t kc) {
  const int64_t panels = (n + W - 1) / W;
  for (int64_t k = 0; k < kc; ++k, src += ld) {
    // A row segment is only n floats before the stride jumps to the next row; prefetch the row eight
    // ahead line by line, since the hardware prefetcher gives up on such short runs.
    if (k + 8 < kc) {
      for (int64_t p = 0; p < n; p += 16)
        _mm_prefetch(reinterpret_cast<const char*>(src + 8 * ld + p), _MM_HINT_T0);
    }
    for (int64_t q = 0; q < panels; ++q) {
      float* d = dst + q * W * kc + k * W;
      const float* s = src + q * W;
      for (int v = 0; v < W; v += 16) {
        const int lanes = W - v < 16 ? W - v : 16;
        const int64_t left = n - q * W - v;
        const int valid = left >= lanes ? lanes : (left > 0 ? static_cast<int>(left) : 0);
        if (valid == 16) {
          _mm512_storeu_ps(d + v, _mm512_loadu_ps(s + v));
        } else {
          const __m512 x = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << valid) - 1), s + v);
          _mm512_mask_storeu_ps(d + v, static_cast<__mmask16>((1u << lanes) - 1), x);
        }
      }
    }
  }
}

// 12×32: 24 accumulators. On the Zen 5 core we tuned on, 14×32, 8×48 and 6×64 reach the same speed
// with panels in L1; 12 rows waste the least on a batch of 256 (22 panels, the last 4 rows short).
// On Sapphire Rapids too the shapes come within a per cent or two of each other in the GEMM. There,
// any k loop with ten or more loads per 24 FMAs (every shape that fits the registers) runs at about
// 86-92 % of the register-only FMA rate, even with everything in L1: the ceiling of this kernel.
// Unrolling, software prefetch of the A and B panels and spreading the C prefetches changed nothing
// measurable.
constexpr int MR = 12;
constexpr int NV = 2;

// The peak probe (see kernels.h). acc ← acc·a + b converges to 1, so the values stay normal.
double fma_probe(int64_t iterations, float* sink) {
  constexpr int kChains = 12;
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  *sink = _mm512_cvtss_f32(sum);
  return 2.0 * 16 * kChains * static_cast<double>(iterations);
}

}  // namespace

const SgemmKernel kSgemmAvx512 = {"avx512", Isa::Avx512, MR, 16 * NV, 512, 240, 4096,
                                  ukr<MR, NV>, pack_t, pack_n, fma_probe, PanelOrder::KeepA};

}  // namespace fvl
#endif
