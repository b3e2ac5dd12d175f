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
// Flops per timing of the micro-kernel alone: about 2 ms at AVX2 rates, like the probe.
constexpr double kKernelFlopsPerTiming = 2.0e8;

// Best rate of one thread: `work(rounds)` runs that many rounds and returns the flops it did. One warm-up
// call lets the core settle at the clock it keeps for this work; each timing is on the thread's own CPU
// clock.
template <class Work>
double best_rate(Work&& work, int64_t rounds, int64_t warmup_rounds) {
  work(warmup_rounds);
  double best = 0.0;
  for (int r = 0; r < kProbeTimings; ++r) {
    const double t0 = thread_cpu_seconds();
    const double flops = work(rounds);
    const double dt = thread_cpu_seconds() - t0;
    if (dt > 0) best = std::max(best, flops / dt * 1e-9);
  }
  return best;
}

// Runs `thread_rate(region, t)` on every pool thread at once and sums the rates.
template <class ThreadRate>
PoolRate rate_on_every_thread(ThreadRate&& thread_rate) {
  ThreadPool::Region region(ThreadPool::global());
  const int n = region.size();
  PoolRate rate;
  rate.thread_gflops.assign(static_cast<size_t>(n), 0.0);
  region.run_team(n, [&](int t) { rate.thread_gflops[static_cast<size_t>(t)] = thread_rate(region, t); });
  for (double g : rate.thread_gflops) rate.total_gflops += g;
  return rate;
}

}  // namespace

PoolRate measure_fma_peak() {
  const SgemmKernel& ker = active_kernel();
  return rate_on_every_thread([&](ThreadPool::Region&, int) {
    float sink = 0.0f;  // the probe's result, so that its loop has one
    return best_rate([&](int64_t rounds) { return ker.fma_probe(rounds, &sink); }, kProbeRounds, kProbeWarmup);
  });
}

PoolRate measure_kernel_rate(int64_t* depth) {
  const SgemmKernel& ker = active_kernel();
  const int64_t kc = max_depth(ker), MR = ker.mr, NR = ker.nr;
  *depth = kc;
  const double flops_per_call = 2.0 * static_cast<double>(MR * NR * kc);
  const int64_t calls = std::max<int64_t>(1, static_cast<int64_t>(kKernelFlopsPerTiming / flops_per_call));
  return rate_on_every_thread([&](ThreadPool::Region& region, int t) {
    Scratch& s = region.scratch(t);
    float* a = s.buf[Scratch::kPackA].reserve(static_cast<size_t>(MR * kc));
    float* b = s.buf[Scratch::kPackB].reserve(static_cast<size_t>(NR * kc));
    float* c = s.buf[Scratch::kTile].reserve(static_cast<size_t>(MR * NR));
    std::fill(a, a + MR * kc, 1e-3f);
    std::fill(b, b + NR * kc, 1e-3f);
    return best_rate(
        [&](int64_t n) {
          for (int64_t i = 0; i < n; ++i) ker.ukr(kc, a, b, c, NR, 1.0f, 0.0f);
          return flops_per_call * static_cast<double>(n);
        },
        calls, 2 * calls);
  });
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

namespace {

constexpr int64_t kLine = 64;

// Lines requested between two micro-kernel calls at most: half of a core's line fill buffers. More at
// once stall the core until the first ones arrive (an AVX-512 block over a weight update asked for 50
// per call and lost more than the update gained); past the cap, the rest of the list is left to the
// hardware prefetchers.
constexpr int64_t kMaxLinesPerStep = 8;

FVL_INLINE void prefetch_l2(const char* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 0, 2);
#else
  (void)p;
#endif
}

// Walks the cache lines of a Prefetch's blocks in order and prefetches an even share of them at each
// step, so that they arrive spread over the macro-kernel rather than in one burst that would fill the
// core's queue of outstanding misses.
class LineWalker {
 public:
  LineWalker(const Prefetch* next, int64_t steps) {
    if (next == nullptr || next->count == 0 || steps <= 0) return;
    int64_t lines = 0;
    for (int b = 0; b < next->count; ++b) {
      const Prefetch::Block& s = next->blocks[b];
      lines += s.rows * (ceil_div(s.cols * static_cast<int64_t>(sizeof(float)), kLine) + 1);
    }
    next_ = next;
    per_step_ = std::min(ceil_div(lines, steps), kMaxLinesPerStep);
    start_row();
  }

  void step() {
    for (int64_t n = 0; n < per_step_ && next_ != nullptr; ++n) {
      prefetch_l2(line_);
      line_ += kLine;
      if (line_ >= end_) next_row();
    }
  }

 private:
  void start_row() {
    const Prefetch::Block& s = next_->blocks[block_];
    const char* row = reinterpret_cast<const char*>(s.p + row_ * s.ld);
    line_ = reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(row) & ~uintptr_t(kLine - 1));
    end_ = row + s.cols * static_cast<int64_t>(sizeof(float));
  }
  void next_row() {
    if (++row_ == next_->blocks[block_].rows) {
      row_ = 0;
      if (++block_ == next_->count) {
        next_ = nullptr;
        return;
      }
    }
    start_row();
  }

  const Prefetch* next_ = nullptr;
  int64_t per_step_ = 0;
  int block_ = 0;
  int64_t row_ = 0;
  const char* line_ = nullptr;
  const char* end_ = nullptr;
};

}  // namespace

void macro_kernel(const SgemmKernel& ker, int64_t mc, int64_t nc, int64_t kc, const float* pa, const float* pb,
                  float alpha, float beta, float* c, int64_t ldc, float* tile, const Prefetch* next) {
  const int MR = ker.mr, NR = ker.nr;
  LineWalker walker(next, ceil_div(mc, MR) * ceil_div(nc, NR));
  auto tile_product = [&](int64_t i, int64_t j, const float* a, const float* b) {
    const int64_t mr = std::min<int64_t>(MR, mc - i), nr = std::min<int64_t>(NR, nc - j);
    float* ct = c + i * ldc + j;
    walker.step();
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

// Threads pack each depth block of A together when each has at most this many columns of C (see sgemm()).
// With more columns a thread's own packing of all of A costs less than the barrier per depth block: the
// AVX2 dX = G·W of a B=256, D=512 head on two threads (256 columns each) ran about 5 ms faster per step
// (≈ 100 → 96 ms) with each thread packing A itself.
constexpr int64_t kSharedAMaxColumns = 128;

// A product with a small output over a long depth (dX = G·W of a face head: B×D out of B·C·D work) is
// cut into this many depth parts, each summed into its own copy of the output and the copies added in
// order at the end (see depth_parts()). The cut depends on the shape only, never on the thread count, so
// every thread count gives the same bits. Each part needs at least kMinBlocksPerPart depth blocks, and
// the output at most kMaxPartOutput floats, so the copies stay in L2 and their sum costs little.
constexpr int64_t kDepthParts = 4;
constexpr int64_t kMinBlocksPerPart = 4;
constexpr int64_t kMaxPartOutput = 256 * 1024;

// Column tasks of a product with all its rows resident (see sgemm()): this many per thread, each at least
// this many NR-wide panels.
constexpr int kColumnTasksPerThread = 4;
constexpr int64_t kMinPanelsPerColumnTask = 16;

// Σ_k b² over a packed block of nc columns (panels of NR, layout b[k*NR + j]), into sumsq[0, nc): set
// at depth 0, added to after. One column's sum runs along k, block after block, whichever thread packs
// it: in float over runs of kSquareRun (the row sweeps' float lanes sum as many), each run added in
// double. Float keeps it to a few per cent of the packing it rides along with.
constexpr int64_t kSquareRun = 64;

template <int NR>
void add_packed_squares(const float* pb, int64_t kc, int64_t nc, bool first, double* sumsq) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR, pb += NR * kc) {
    const int64_t w = std::min<int64_t>(NR, nc - j0);
    double acc[NR];
    for (int j = 0; j < NR; ++j) acc[j] = first || j >= w ? 0.0 : sumsq[j0 + j];
    for (int64_t k0 = 0; k0 < kc; k0 += kSquareRun) {
      const int64_t k1 = std::min(kc, k0 + kSquareRun);
      float run[NR] = {};
      for (int64_t k = k0; k < k1; ++k)
        for (int j = 0; j < NR; ++j) run[j] += pb[k * NR + j] * pb[k * NR + j];
      for (int j = 0; j < NR; ++j) acc[j] += run[j];
    }
    for (int64_t j = 0; j < w; ++j) sumsq[j0 + j] = acc[j];
  }
}

void add_packed_squares(int NR, const float* pb, int64_t kc, int64_t nc, bool first, double* sumsq) {
  switch (NR) {
    case 8:
      return add_packed_squares<8>(pb, kc, nc, first, sumsq);
    case 16:
      return add_packed_squares<16>(pb, kc, nc, first, sumsq);
    case 32:
      return add_packed_squares<32>(pb, kc, nc, first, sumsq);
  }
  for (int64_t j = 0; j < nc; ++j) {  // any other width, column by column
    const float* b = pb + j / NR * NR * kc + j % NR;
    double s = first ? 0.0 : sumsq[j];
    for (int64_t k0 = 0; k0 < kc; k0 += kSquareRun) {
      float run = 0.0f;
      for (int64_t k = k0; k < std::min(kc, k0 + kSquareRun); ++k) run += b[k * NR] * b[k * NR];
      s += run;
    }
    sumsq[j] = s;
  }
}

// b_sumsq of a product that packs nothing (M = 0, K = 0 or alpha = 0).
void plain_squares(const SgemmArgs& g) {
  for (int64_t j = 0; j < g.n; ++j) {
    double s = 0;
    for (int64_t k = 0; k < g.k; ++k) {
      const float v = g.trans_b ? g.b[j * g.ldb + k] : g.b[k * g.ldb + j];
      s += double(v) * v;
    }
    g.b_sumsq[j] = s;
  }
}

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

// The depth-parts schedule (see kDepthParts): part p takes depth blocks [blocks·p/P, blocks·(p+1)/P)
// of the whole output, in depth order, into its copy; the columns of each part may be shared by several
// tasks. Every task packs its own rows of op(A) once per depth block, so op(A) is packed once in all
// rather than once per thread as when the threads split the columns of a long product.
void depth_parts(const SgemmKernel& ker, const SgemmArgs& g, ThreadPool::Region& region, int threads,
                 int64_t kc_blk, int64_t nc_blk) {
  static AlignedBuffer copies;  // guarded by the pool's region lock, like the threads' scratch
  const int64_t MR = ker.mr, NR = ker.nr;
  const int64_t mn = g.m * g.n, blocks = ceil_div(g.k, kc_blk);
  float* part_c = copies.reserve(static_cast<size_t>(kDepthParts * mn));
  for (int t = 0; t < region.size(); ++t) {
    Scratch& s = region.scratch(t);
    s.buf[Scratch::kPackA].reserve(static_cast<size_t>(round_up(g.m, MR) * kc_blk));
    s.buf[Scratch::kPackB].reserve(static_cast<size_t>(round_up(nc_blk, NR) * kc_blk));
    s.buf[Scratch::kTile].reserve(static_cast<size_t>(MR * NR));
  }
  const int col_parts = std::max(1, threads / static_cast<int>(kDepthParts));
  const int tasks = static_cast<int>(kDepthParts) * col_parts;
  // One thread (a product too small to wake the others) runs the tasks itself, in order.
  auto run = [&](int n, auto&& fn) {
    if (threads == 1) {
      for (int t = 0; t < n; ++t) fn(t, 0);
    } else {
      region.run(n, [&](int task, int thread) { fn(task, thread); });
    }
  };
  run(tasks, [&](int task, int thread) {
    Scratch& s = region.scratch(thread);
    float* pa = s.buf[Scratch::kPackA].data();
    float* pb = s.buf[Scratch::kPackB].data();
    float* tile = s.buf[Scratch::kTile].data();
    const int64_t part = task / col_parts;
    int64_t n0, n1;
    split(g.n, NR, col_parts, task % col_parts, &n0, &n1);
    float* c = part_c + part * mn;
    const int64_t b0 = blocks * part / kDepthParts, b1 = blocks * (part + 1) / kDepthParts;
    for (int64_t pc = b0 * kc_blk; pc < std::min(g.k, b1 * kc_blk); pc += kc_blk) {
      const int64_t kc = std::min(kc_blk, g.k - pc);
      const float beta = pc == b0 * kc_blk ? 0.0f : 1.0f;
      pack_a(ker, g.a, g.lda, g.trans_a, 0, g.m, pc, kc, pa);
      for (int64_t jc = n0; jc < n1; jc += nc_blk) {
        const int64_t nc = std::min(nc_blk, n1 - jc);
        pack_b(ker, g.b, g.ldb, g.trans_b, pc, kc, jc, nc, pb);
        macro_kernel(ker, g.m, nc, kc, pa, pb, g.alpha, beta, c + jc, g.n, tile);
      }
    }
  });
  // C = beta·C + (((c₀ + c₁) + c₂) + c₃), row by row.
  const int rows_parts = static_cast<int>(std::min<int64_t>(threads, g.m));
  run(rows_parts, [&](int task, int) {
    for (int64_t i = g.m * task / rows_parts; i < g.m * (task + 1) / rows_parts; ++i) {
      float* ci = g.c + i * g.ldc;
      for (int64_t j = 0; j < g.n; ++j) {
        float sum = part_c[i * g.n + j];
        for (int64_t p = 1; p < kDepthParts; ++p) sum += part_c[p * mn + i * g.n + j];
        ci[j] = g.beta == 0.0f ? sum : sum + g.beta * ci[j];
      }
    }
  });
}

}  // namespace

// The kernels' depths suit a 32 KiB L1 data cache. Where the L1 is larger, blocks go deeper, up to twice
// as deep, as long as the kc×NR micro-panel of B that stays in L1 takes at most two thirds of it (the
// rest is for the A micro-panels streaming past and for C): C is then read and written fewer times, and
// op(B) is read in longer runs. (A 48 KiB L1 takes AVX2's 6×16 kernel from 256 to 512; the AVX-512
// kernel's 512 already exceeds it.)
int64_t max_depth(const SgemmKernel& ker) {
  const int64_t fits = l1d_cache_bytes() * 2 / 3 / (ker.nr * static_cast<int64_t>(sizeof(float))) / 128 * 128;
  return std::max<int64_t>(ker.kc, std::min<int64_t>(2 * ker.kc, fits));
}

int64_t depth_block(const SgemmKernel& ker, int64_t k) { return balanced_block(k, max_depth(ker), 4); }

void sgemm(const SgemmArgs& g) {
  if (g.m <= 0 || g.n <= 0) {
    if (g.b_sumsq && g.n > 0) plain_squares(g);
    return;
  }
  if (g.k <= 0 || g.alpha == 0.0f) {
    scale_c(g);
    if (g.b_sumsq) plain_squares(g);
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
  if (g.m <= 2 * MC && g.m * g.n <= kMaxPartOutput && !g.b_sumsq &&
      ceil_div(g.k, kc_blk) >= kDepthParts * kMinBlocksPerPart) {
    depth_parts(ker, g, region, threads, kc_blk, balanced_block(g.n, kResidentChunk, NR));
    return;
  }
  // Few rows per thread (the batch of a face head): pack all of them once per depth block and stream
  // op(B) past them in narrow chunks that stay in L2, instead of writing a large packed op(B) block
  // out to L3 and reading it back.
  const bool a_resident = m_thread <= 2 * MC;
  const int64_t mc_blk = a_resident ? round_up(m_thread, MR) : balanced_block(m_thread, MC, MR);
  const int64_t nc_blk = balanced_block(n_thread, a_resident ? kResidentChunk : NC, NR);

  // Few columns per thread over a long depth (dX = G·W): rather than every thread packing every depth
  // block of A, the threads pack each block together and meet at a barrier before multiplying by it.
  // Every thread packing all of A is fine when each has many columns to multiply it by (cos = X·Wᵀ). A
  // kernel that keeps its A micro-panel in L1 (PanelOrder::KeepA) does better packing each depth block
  // of A itself: the block then stays in its own L2 for all its chunks.
  const int64_t m_panels = ceil_div(g.m, MR);
  const bool shared_a =
      ker.order == PanelOrder::KeepB && a_resident && tm == 1 && threads > 1 && n_thread <= kSharedAMaxColumns;

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
    // Thread t packs panels [m_panels*t/threads, m_panels*(t+1)/threads) of each depth block into one of
    // two buffers that alternate from block to block, then takes its share of columns. One barrier per
    // block: a thread that runs ahead packs the next block into the other buffer while the others still
    // multiply by this one, and cannot get further ahead than that without them.
    const int64_t block_len = m_panels * MR * kc_blk;
    float* pa_pair = region.scratch(0).buf[Scratch::kPackA].reserve(static_cast<size_t>(2 * block_len));
    region.run_team(threads, [&](int t) {
      Scratch& s = region.scratch(t);
      float* pb = s.buf[Scratch::kPackB].data();
      float* tile = s.buf[Scratch::kTile].data();
      const int64_t i0 = m_panels * t / threads * MR, i1 = std::min(g.m, m_panels * (t + 1) / threads * MR);
      int64_t n0, n1;
      split(g.n, NR, threads, t, &n0, &n1);
      for (int64_t pc = 0, blk = 0; pc < g.k; pc += kc_blk, ++blk) {
        const int64_t kc = std::min(kc_blk, g.k - pc);
        const float beta = pc == 0 ? g.beta : 1.0f;
        float* pa = pa_pair + (blk % 2) * block_len;
        if (i0 < i1) pack_a(ker, g.a, g.lda, g.trans_a, i0, i1 - i0, pc, kc, pa + i0 * kc);
        region.barrier();
        for (int64_t jc = n0; jc < n1; jc += nc_blk) {
          const int64_t nc = std::min(nc_blk, n1 - jc);
          pack_b(ker, g.b, g.ldb, g.trans_b, pc, kc, jc, nc, pb);
          if (g.b_sumsq) add_packed_squares(NR, pb, kc, nc, pc == 0, g.b_sumsq + jc);
          macro_kernel(ker, g.m, nc, kc, pa, pb, g.alpha, beta, g.c + jc, g.ldc, tile);
        }
      }
    });
    return;
  }

  // One depth block with all rows resident (the cosine product): the columns go out in a few tasks per
  // thread, claimed as threads come free, so that a thread slowed by the machine does not hold the others
  // up at the end. The packed A is the same for every task: each thread packs it for its first one only.
  const bool column_tasks = a_resident && tm == 1 && threads > 1 && g.k <= kc_blk &&
                            n_units >= kColumnTasksPerThread * threads * kMinPanelsPerColumnTask;
  const int tasks = column_tasks ? kColumnTasksPerThread * threads : threads;
  if (column_tasks) tn = tasks;
  std::vector<char> a_packed(column_tasks ? static_cast<size_t>(scratch_threads) : 0, 0);
  region.run(tasks, [&](int task, int thread) {
    Scratch& s = region.scratch(thread);
    float* pa = s.buf[Scratch::kPackA].data();
    float* pb = s.buf[Scratch::kPackB].data();
    float* tile = s.buf[Scratch::kTile].data();
    int64_t m0, m1, n0, n1;
    split(g.m, MR, tm, task / tn, &m0, &m1);
    split(g.n, NR, tn, task % tn, &n0, &n1);
    // Every row block packs the same op(B) columns: the first one sums their squares.
    double* sumsq = task / tn == 0 ? g.b_sumsq : nullptr;
    if (a_resident) {
      for (int64_t pc = 0; pc < g.k; pc += kc_blk) {
        const int64_t kc = std::min(kc_blk, g.k - pc);
        const float beta = pc == 0 ? g.beta : 1.0f;
        if (!column_tasks) {
          pack_a(ker, g.a, g.lda, g.trans_a, m0, m1 - m0, pc, kc, pa);
        } else if (!a_packed[static_cast<size_t>(thread)]) {
          pack_a(ker, g.a, g.lda, g.trans_a, m0, m1 - m0, pc, kc, pa);
          a_packed[static_cast<size_t>(thread)] = 1;
        }
        for (int64_t jc = n0; jc < n1; jc += nc_blk) {
          const int64_t nc = std::min(nc_blk, n1 - jc);
          pack_b(ker, g.b, g.ldb, g.trans_b, pc, kc, jc, nc, pb);
          if (sumsq) add_packed_squares(NR, pb, kc, nc, pc == 0, sumsq + jc);
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
        if (sumsq) add_packed_squares(NR, pb, kc, nc, pc == 0, sumsq + jc);
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
