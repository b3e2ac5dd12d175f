// faceverloss native engine: a parallel loop over [0, n) on the global thread pool, shared by the
// fused and the sharded margin kernels.
#pragma once

#include <algorithm>
#include <cstdint>

#include "gemm.h"
#include "threadpool.h"

namespace fvl {

// Runs fn(begin, end, thread, scratch) over [0, n), in pieces of at least `grain` (at most four per
// thread, so a slow piece does not hold the others back).
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  ThreadPool::Region region(ThreadPool::global());
  const int64_t pieces = std::max<int64_t>(1, std::min<int64_t>(ceil_div(n, std::max<int64_t>(grain, 1)),
                                                                int64_t(region.size()) * 4));
  if (pieces == 1) {
    fn(int64_t(0), n, 0, region.scratch(0));
    return;
  }
  region.run(static_cast<int>(pieces), [&](int task, int thread) {
    const int64_t b = n * task / pieces, e = n * (task + 1) / pieces;
    if (b < e) fn(b, e, thread, region.scratch(thread));
  });
}

}  // namespace fvl
