#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>

#include "cpu.h"

namespace fvl {

// --- Dispatch -------------------------------------------------------------------------------------

namespace {

const SgemmKernel& kernel_for(Isa isa) {
#if FVL_X86_64
  if (isa == Isa::Avx512) return kSgemmAvx512;
  if (isa == Isa::Avx2) return kSgemmAvx2;
#endif
  (void)isa;
  return kSgemmScalar;
}

Isa initial_isa() {
  Isa isa = detect_isa();
  Isa cap;
  if (const char* env = std::getenv("FACEVERLOSS_DISPATCH")) {
    if (parse_isa(env, &cap) && cap < isa) isa = cap;
  }
  return isa;
}

std::atomic<const SgemmKernel*>& active_slot() {
  static std::atomic<const SgemmKernel*> slot{&kernel_for(initial_isa())};
  return slot;
}

}  // namespace

const SgemmKernel& active_kernel() { return *active_slot().load(std::memory_order_acquire); }

Isa active_isa() { return active_kernel().isa; }

bool set_dispatch(Isa isa) {
  if (isa > detect_isa()) return false;
  active_slot().store(&kernel_for(isa), std::memory_order_release);
  return true;
}

// --- Peak probe -----------------------------------------------------------------------------------

namespace {

double thread_cpu_seconds() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
#else
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
#endif
}

// Rounds of the probe per timing (about 2 ms at AVX2 rates), timings per thread, rounds of warm-up.
constexpr int64_t kProbeRounds = int64_t(1) << 20;
constexpr int kProbeTimings = 8;
constexpr int64_t kProbeWarmup = int64_t(1) << 21;

}  // namespace

FmaPeak measure_fma_peak() {
  const SgemmKernel& ker = active_kernel();
  ThreadPool::Region region(ThreadPool::global());
  const int n = region.size();
  FmaPeak peak;
  peak.thread_gflops.assign(static_cast<size_t>(n), 0.0);
  std::vector<float> sinks(static_cast<size_t>(n), 0.0f);
  region.run_team(n, [&](int t) {
    float sink = 0.0f;
    ker.fma_probe(kProbeWarmup, &sink);  // lets the core settle at the clock it keeps for this work
    double best = 0.0;
    for (int r = 0; r < kProbeTimings; ++r) {
      const double t0 = thread_cpu_seconds();
      const double flops = ker.fma_probe(kProbeRounds, &sink);
      const double dt = thread_cpu_seconds() - t0;
      if (dt > 0) best = std::max(best, flops / dt * 1e-9);
    }
    peak.thread_gflops[static_cast<size_t>(t)] = best;
    sinks[static_cast<size_t>(t)] = sink;
  });
  for (double g : peak.thread_gflops) peak.total_gflops += g;
  return peak;
}

// --- Packing --------------------------------------------------------------------------------------

namespace {

// dst[k*W + p] = src[p*ld + k] for p < w, zero for w ≤ p < W. Reads run along k (contiguous), a
// 16-deep block at a time so the W-wide destination rows being filled stay in L1.
void pack_transpose_portable(float* FVL_RESTRICT dst, const float* FVL_RESTRICT src, int64_t ld, int W, int w,
                             int64_t kc) {
  constexpr int64_t kBlock = 16;
  for (int64_t k0 = 0; k0 < kc; k0 += kBlock) {
    const int64_t kn = std::min(kBlock, kc - k0);
    for (int p = 0; p < w; ++p) {
      const float* s = src + p * ld + k0;
      float* d = dst + k0 * W + p;
      for (int64_t k = 0; k < kn; ++k) d[k * W] = s[k];
    }
    for (int p = w; p < W; ++p)
      for (int64_t k = 0; k < kn; ++k) dst[(k0 + k) * W + p] = 0.0f;
  }
}

// Copy-shaped packing (see kernels.h): source rows are read front to back, one k at a time.
void pack_copy_portable(float* FVL_RESTRICT dst, const float* FVL_RESTRICT src, int64_t ld, int W, int64_t n,
                        int64_t kc) {
  const int64_t panels = ceil_div(n, W);
  for (int64_t k = 0; k < kc; ++k, src += ld) {
    for (int64_t q = 0; q < panels; ++q) {
      float* d = dst + q * W * kc + k * W;
      const float* s = src + q * W;
      const int64_t w = std::min<int64_t>(W, n - q * W);
      int64_t p = 0;
      for (; p < w; ++p) d[p] = s[p];
      for (; p < W; ++p) d[p] = 0.0f;
    }
  }
}

void pack_copy(const SgemmKernel& ker, float* dst, const float* src, int64_t ld, int W, int64_t n, int64_t kc) {
  if (ker.pack_n != nullptr) ker.pack_n(dst, src, ld, W, n, kc);
  else pack_copy_portable(dst, src, ld, W, n, kc);
}

void pack_transpose(const SgemmKernel& ker, float* dst, const float* src, int64_t ld, int W, int w,
                    int64_t kc) {
  if (ker.pack_t != nullptr) ker.pack_t(dst, src, ld, W, w, kc);
  else pack_transpose_portable(dst, src, ld, W, w, kc);
}

}  // namespace

void pack_a(const SgemmKernel& ker, const float* a, int64_t lda, bool trans_a, int64_t i0, int64_t mc,
            int64_t k0, int64_t kc, float* dst) {
  const int MR = ker.mr;
  if (trans_a) {  // A stored K×M
    pack_copy(ker, dst, a + k0 * lda + i0, lda, MR, mc, kc);
    return;
  }
  for (int64_t i = 0; i < mc; i += MR, dst += MR * kc) {  // A stored M×K
    const int w = static_cast<int>(std::min<int64_t>(MR, mc - i));
    pack_transpose(ker, dst, a + (i0 + i) * lda + k0, lda, MR, w, kc);
  }
}

void pack_b(const SgemmKernel& ker, const float* b, int64_t ldb, bool trans_b, int64_t k0, int64_t kc,
            int64_t j0, int64_t nc, float* dst) {
  const int NR = ker.nr;
  if (!trans_b) {  // B stored K×N
    pack_copy(ker, dst, b + k0 * ldb + j0, ldb, NR, nc, kc);
    return;
  }
  for (int64_t j = 0; j < nc; j += NR, dst += NR * kc) {  // B stored N×K
    const int w = static_cast<int>(std::min<int64_t>(NR, nc - j));
    pack_transpose(ker, dst, b + (j0 + j) * ldb + k0, ldb, NR, w, kc);
  }
}

// --- Macro-kernel ---------------------------------------------------------------------------------

void macro_kernel(const SgemmKernel& ker, int64_t mc, int64_t nc, int64_t kc, const float* pa, const float* pb,
                  float alpha, float beta, float* c, int64_t ldc, float* tile) {
  const int MR = ker.mr, NR = ker.nr;
  auto tile_product = [&](int64_t i, int64_t j, const float* a, const float* b) {
    const int64_t mr = std::min<int64_t>(MR, mc - i), nr = std::min<int64_t>(NR, nc - j);
    float* ct = c + i * ldc + j;
    if (mr == MR && nr == NR) {
      ker.ukr(kc, a, b, ct, ldc, alpha, beta);
      return;
    }
    // Ragged edge: compute the whole tile into scratch, then merge the part that exists.
    ker.ukr(kc, a, b, tile, NR, alpha, 0.0f);
    for (int64_t r = 0; r < mr; ++r) {
      float* crow = ct + r * ldc;
      const float* trow = tile + r * NR;
      if (beta == 0.0f) {
        for (int64_t s = 0; s < nr; ++s) crow[s] = trow[s];
      } else {
        for (int64_t s = 0; s < nr; ++s) crow[s] = trow[s] + beta * crow[s];
      }
    }
  };
  // The micro-panel of the outer loop stays in L1 (see PanelOrder).
  if (ker.order == PanelOrder::KeepA) {
    for (int64_t i = 0; i < mc; i += MR, pa += MR * kc) {
      const float* b = pb;
      for (int64_t j = 0; j < nc; j += NR, b += NR * kc) tile_product(i, j, pa, b);
    }
    return;
  }
  for (int64_t j = 0; j < nc; j += NR, pb += NR * kc) {
    const float* a = pa;
    for (int64_t i = 0; i < mc; i += MR, a += MR * kc) tile_product(i, j, a, pb);
  }
}

// --- Driver ---------------------------------------------------------------------------------------

namespace {

// Below this many flops per thread, waking another thread costs more than it saves.
constexpr double kMinFlopsPerThread = 4.0e6;

// Width of the op(B) chunks streamed past a resident A block (see sgemm()): a kc×128 chunk is 256 KiB
// at kc = 512, so chunk and A block share L2.
constexpr int64_t kResidentChunk = 128;

// Threads pack a shared A block together when each has at most this many columns of C and all of A
// packed fits in this many floats (see sgemm()).
constexpr int64_t kSharedAMaxColumns = 1024;
constexpr int64_t kSharedAMaxFloats = int64_t(8) << 20;

void scale_c(const SgemmArgs& g) {
  for (int64_t i = 0; i < g.m; ++i) {
    float* row = g.c + i * g.ldc;
    if (g.beta == 0.0f) std::fill(row, row + g.n, 0.0f);
    else if (g.beta != 1.0f)
      for (int64_t j = 0; j < g.n; ++j) row[j] *= g.beta;
  }
}

// Splits C into tm × tn thread blocks. Every thread packs the op(A) rows and op(B) columns it needs,
// so a split along N repacks A once per column block and vice versa: pick the grid that packs least.
void choose_grid(int threads, int64_t m_units, int64_t n_units, const SgemmArgs& g, int* tm, int* tn) {
  for (int t = threads; t >= 1; --t) {
    double best = -1.0;
    for (int r = 1; r <= t; ++r) {
      if (t % r != 0) continue;
      const int s = t / r;
      if (r > m_units || s > n_units) continue;
      const double cost = static_cast<double>(s) * g.m * g.k + static_cast<double>(r) * g.n * g.k;
      if (best < 0 || cost < best) {
        best = cost;
        *tm = r;
        *tn = s;
      }
    }
    if (best >= 0) return;
  }
  *tm = *tn = 1;
}

// [begin, end) of part `i` when `units` blocks of `unit` elements (the last one possibly short,
// total `len`) are shared as evenly as possible among `parts`.
void split(int64_t len, int64_t unit, int parts, int i, int64_t* begin, int64_t* end) {
  const int64_t units = ceil_div(len, unit);
  *begin = std::min(len, units * i / parts * unit);
  *end = std::min(len, units * (i + 1) / parts * unit);
}

// Largest block ≤ cap that splits len into equal pieces (a multiple of `unit`): avoids a thin tail.
int64_t balanced_block(int64_t len, int64_t cap, int64_t unit) {
  const int64_t pieces = ceil_div(len, cap);
  return std::min(round_up(ceil_div(len, pieces), unit), round_up(len, unit));
}

}  // namespace

int64_t depth_block(const SgemmKernel& ker, int64_t k) { return balanced_block(k, ker.kc, 4); }

void sgemm(const SgemmArgs& g) {
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0 || g.alpha == 0.0f) {
    scale_c(g);
    return;
  }
  const SgemmKernel& ker = active_kernel();
  const int64_t MR = ker.mr, NR = ker.nr;
  const int64_t m_units = ceil_div(g.m, MR), n_units = ceil_div(g.n, NR);

  ThreadPool::Region region(ThreadPool::global());
  const double flops = 2.0 * g.m * g.n * g.k;
  int threads = static_cast<int>(std::min<double>(region.size(), std::max(1.0, flops / kMinFlopsPerThread)));
  int tm = 1, tn = 1;
  choose_grid(threads, m_units, n_units, g, &tm, &tn);
  threads = tm * tn;

  // Block sizes, the same for every thread (sized for the largest thread block).
  const int64_t MC = ker.mc, NC = ker.nc;
  const int64_t m_thread = std::min(g.m, ceil_div(m_units, tm) * MR);
  const int64_t n_thread = std::min(g.n, ceil_div(n_units, tn) * NR);
  const int64_t kc_blk = depth_block(ker, g.k);
  // Few rows per thread (the batch of a face head): pack all of them once per depth block and stream
  // op(B) past them in narrow chunks that stay in L2, instead of writing a large packed op(B) block
  // out to L3 and reading it back.
  const bool a_resident = m_thread <= 2 * MC;
  const int64_t mc_blk = a_resident ? round_up(m_thread, MR) : balanced_block(m_thread, MC, MR);
  const int64_t nc_blk = balanced_block(n_thread, a_resident ? kResidentChunk : NC, NR);

  // Few columns per thread over a long depth (dX = G·W): rather than every thread packing all of A,
  // the threads pack it together, all depth blocks at once, and meet at a single barrier. Every thread
  // packing all of A is fine when each has many columns to multiply it by (cos = X·Wᵀ). A kernel that
  // keeps its A micro-panel in L1 (PanelOrder::KeepA) does better packing each depth block of A itself:
  // the block then stays in its own L2 for all its chunks, where the shared copy of every depth block
  // goes out to memory and is read back for each chunk.
  const int64_t m_panels = ceil_div(g.m, MR);
  const bool shared_a = ker.order == PanelOrder::KeepB && a_resident && tm == 1 && threads > 1 &&
                        n_thread <= kSharedAMaxColumns && m_panels * MR * g.k <= kSharedAMaxFloats;

  // Any pool thread may pick up any task, so every thread's scratch must be large enough.
  const size_t a_len = static_cast<size_t>(round_up(mc_blk, MR) * kc_blk);
  const size_t b_len = static_cast<size_t>(round_up(nc_blk, NR) * kc_blk);
  const int scratch_threads = threads == 1 ? 1 : region.size();
  for (int t = 0; t < scratch_threads; ++t) {
    Scratch& s = region.scratch(t);
    if (!shared_a) s.buf[Scratch::kPackA].reserve(a_len);
    s.buf[Scratch::kPackB].reserve(b_len);
    s.buf[Scratch::kTile].reserve(static_cast<size_t>(MR * NR));
  }

  if (shared_a) {
    // Depth block pc of A occupies pa[m_panels*MR*pc, m_panels*MR*(pc + kc)); thread t packs panels
    // [m_panels*t/threads, m_panels*(t+1)/threads) of every block, then takes its share of columns.
    float* pa = region.scratch(0).buf[Scratch::kPackA].reserve(static_cast<size_t>(m_panels * MR * g.k));
    region.run_team(threads, [&](int t) {
      Scratch& s = region.scratch(t);
      float* pb = s.buf[Scratch::kPackB].data();
      float* tile = s.buf[Scratch::kTile].data();
      const int64_t i0 = m_panels * t / threads * MR, i1 = std::min(g.m, m_panels * (t + 1) / threads * MR);
      for (int64_t pc = 0; pc < g.k && i0 < i1; pc += kc_blk) {
        const int64_t kc = std::min(kc_blk, g.k - pc);
        pack_a(ker, g.a, g.lda, g.trans_a, i0, i1 - i0, pc, kc, pa + m_panels * MR * pc + i0 * kc);
      }
      region.barrier();
      int64_t n0, n1;
      split(g.n, NR, threads, t, &n0, &n1);
      for (int64_t pc = 0; pc < g.k; pc += kc_blk) {
        const int64_t kc = std::min(kc_blk, g.k - pc);
        const float beta = pc == 0 ? g.beta : 1.0f;
        for (int64_t jc = n0; jc < n1; jc += nc_blk) {
          const int64_t nc = std::min(nc_blk, n1 - jc);
          pack_b(ker, g.b, g.ldb, g.trans_b, pc, kc, jc, nc, pb);
          macro_kernel(ker, g.m, nc, kc, pa + m_panels * MR * pc, pb, g.alpha, beta, g.c + jc, g.ldc, tile);
        }
      }
    });
    return;
  }

  region.run(threads, [&](int task, int thread) {
    Scratch& s = region.scratch(thread);
    float* pa = s.buf[Scratch::kPackA].data();
    float* pb = s.buf[Scratch::kPackB].data();
    float* tile = s.buf[Scratch::kTile].data();
    int64_t m0, m1, n0, n1;
    split(g.m, MR, tm, task / tn, &m0, &m1);
    split(g.n, NR, tn, task % tn, &n0, &n1);
    if (a_resident) {
      for (int64_t pc = 0; pc < g.k; pc += kc_blk) {
        const int64_t kc = std::min(kc_blk, g.k - pc);
        const float beta = pc == 0 ? g.beta : 1.0f;
        pack_a(ker, g.a, g.lda, g.trans_a, m0, m1 - m0, pc, kc, pa);
        for (int64_t jc = n0; jc < n1; jc += nc_blk) {
          const int64_t nc = std::min(nc_blk, n1 - jc);
          pack_b(ker, g.b, g.ldb, g.trans_b, pc, kc, jc, nc, pb);
          macro_kernel(ker, m1 - m0, nc, kc, pa, pb, g.alpha, beta, g.c + m0 * g.ldc + jc, g.ldc, tile);
        }
      }
      return;
    }
    // GotoBLAS order: a kc×nc block of op(B) in L3, mc×kc blocks of op(A) in L2.
    for (int64_t jc = n0; jc < n1; jc += nc_blk) {
      const int64_t nc = std::min(nc_blk, n1 - jc);
      for (int64_t pc = 0; pc < g.k; pc += kc_blk) {
        const int64_t kc = std::min(kc_blk, g.k - pc);
        const float beta = pc == 0 ? g.beta : 1.0f;
        pack_b(ker, g.b, g.ldb, g.trans_b, pc, kc, jc, nc, pb);
        for (int64_t ic = m0; ic < m1; ic += mc_blk) {
          const int64_t mc = std::min(mc_blk, m1 - ic);
          pack_a(ker, g.a, g.lda, g.trans_a, ic, mc, pc, kc, pa);
          macro_kernel(ker, mc, nc, kc, pa, pb, g.alpha, beta, g.c + ic * g.ldc + jc, g.ldc, tile);
        }
      }
    }
  });
}

}  // namespace fvl
