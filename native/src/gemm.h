// faceverloss native engine: single-precision GEMM, row-major.
//
//   C = alpha · op(A) · op(B) + beta · C,   op(A): M×K,  op(B): K×N,  C: M×N
//
// The driver follows the GotoBLAS/BLIS structure: C is split between threads; each thread packs a
// kc×nc block of op(B) and mc×kc blocks of op(A) into its own aligned scratch buffers (kept across
// calls) and sweeps them with the micro-kernel. The pieces are exported so that fused operators
// (the margin-softmax kernel computes cosine tiles, transforms them and feeds them back into two more
// products) can reuse the same packing, micro-kernels and pool instead of materialising full matrices.
#pragma once

#include <vector>

#include "common.h"
#include "kernels.h"
#include "threadpool.h"

namespace fvl {

struct SgemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  const float* a = nullptr;
  int64_t lda = 0;  // row stride of A as stored: ≥ K when !trans_a (A is M×K), ≥ M when trans_a (K×M)
  const float* b = nullptr;
  int64_t ldb = 0;  // ≥ N when !trans_b (B is K×N), ≥ K when trans_b (N×K)
  float beta = 0.0f;
  float* c = nullptr;
  int64_t ldc = 0;  // ≥ N
  // When set (length N): receives Σ_k op(B)(k, j)² for every column j, summed in depth order from the
  // packed panels (float runs of 64 added in double), so that a caller who needs the norms of B's rows or
  // columns (the margin kernel's ‖w_j‖) gets them without another pass over B. The same numbers on any
  // thread count.
  double* b_sumsq = nullptr;
};

// The kernel chosen for this process: the best level the CPU supports, capped by the environment
// variable FACEVERLOSS_DISPATCH (scalar|avx2|avx512) and by set_dispatch().
const SgemmKernel& active_kernel();
Isa active_isa();
// Selects a level; fails (returns false) when the CPU cannot run it. Not thread-safe against running
// products: call it between them.
bool set_dispatch(Isa isa);

// The active kernel's multiply-add peak, measured with its probe on every pool thread at once (so each
// core runs at the clock it holds under a full load): GFLOP/s of each thread and their sum. Threads
// are timed on their own CPU clocks, so time the OS gives to other processes does not count against
// the peak. Takes about 20 ms.
struct PoolRate {
  double total_gflops = 0;
  std::vector<double> thread_gflops;
};
PoolRate measure_fma_peak();

// The active micro-kernel alone, timed the same way on every pool thread at once: repeated calls on one
// packed A and one packed B micro-panel at the driver's depth for this CPU (`depth`), which stay in L1.
// No product can run faster; what a product falls short of it goes to packing and to operands and
// results travelling between the caches and memory. Takes about 20 ms.
PoolRate measure_kernel_rate(int64_t* depth);

// The product on the process-wide pool with the active kernel. Arguments are trusted (the binding
// validates them); C must not overlap A or B.
void sgemm(const SgemmArgs& args);

// --- Building blocks ----------------------------------------------------------------------------

// Packs rows [i0, i0+mc) × depth [k0, k0+kc) of op(A) into MR-row micro-panels: panel p occupies
// dst[p*MR*kc, (p+1)*MR*kc) with layout a[k*MR + i]. Rows past mc are zero.
void pack_a(const SgemmKernel& ker, const float* a, int64_t lda, bool trans_a, int64_t i0, int64_t mc,
            int64_t k0, int64_t kc, float* dst);

// Packs depth [k0, k0+kc) × columns [j0, j0+nc) of op(B) into NR-column micro-panels: panel p
// occupies dst[p*NR*kc, (p+1)*NR*kc) with layout b[k*NR + j]. Columns past nc are zero.
void pack_b(const SgemmKernel& ker, const float* b, int64_t ldb, bool trans_b, int64_t k0, int64_t kc,
            int64_t j0, int64_t nc, float* dst);

// Memory that the caller will read right after a macro-kernel: up to kMaxBlocks blocks of `rows` runs
// of `cols` floats, `ld` floats apart.
struct Prefetch {
  struct Block {
    const float* p;
    int64_t rows, cols, ld;
  };
  static constexpr int kMaxBlocks = 2;
  Block blocks[kMaxBlocks] = {};
  int count = 0;
  void add(const float* p, int64_t rows, int64_t cols, int64_t ld) {
    if (p != nullptr && rows > 0 && cols > 0 && count < kMaxBlocks) blocks[count++] = {p, rows, cols, ld};
  }
};

// C[0:mc, 0:nc] = alpha · Ã · B̃ + beta · C for packed blocks from pack_a/pack_b. `tile` is an
// MR×NR scratch (aligned) used for the ragged right and bottom edges. `next`, when given, is brought
// into L2 a few lines between each two micro-kernel calls (a capped share, front first), so that a
// memory-bound pass over it after the product (a weight update) overlaps with the arithmetic instead of
// following it.
void macro_kernel(const SgemmKernel& ker, int64_t mc, int64_t nc, int64_t kc, const float* pa,
                  const float* pb, float alpha, float beta, float* c, int64_t ldc, float* tile,
                  const Prefetch* next = nullptr);

inline int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }
inline int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

// The deepest block this machine gets with `ker`: its own kc, or deeper on a larger L1 (see gemm.cc).
int64_t max_depth(const SgemmKernel& ker);

// The depth of sgemm()'s blocks over a product of depth k: callers that drive the building blocks
// themselves use it too, so that their sums run in the same order as sgemm()'s.
int64_t depth_block(const SgemmKernel& ker, int64_t k);

}  // namespace fvl
