#include "huge_pages.h"

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace fvl {

#if defined(__linux__) && defined(MADV_HUGEPAGE)

namespace {

constexpr uintptr_t kHugePage = uintptr_t(2) << 20;
// Arrays smaller than this many huge pages gain too little to pay for the collapse.
constexpr uintptr_t kMinHugePages = 4;
// Ranges remembered as advised; the oldest is forgotten past this (advising it again is harmless).
constexpr size_t kMaxRemembered = 64;
// Linux 6.1's synchronous collapse; older kernels answer EINVAL and khugepaged collapses later.
#ifndef MADV_COLLAPSE
constexpr int MADV_COLLAPSE = 25;
#endif

}  // namespace

void prefer_huge_pages(const void* p, size_t bytes) {
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHugePage - 1);
  if (end <= begin || end - begin < kMinHugePages * kHugePage) return;
  static std::mutex mu;
  static std::vector<std::pair<uintptr_t, uintptr_t>> advised;
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& r : advised)
    if (r.first == begin && r.second == end) return;
  if (advised.size() == kMaxRemembered) advised.erase(advised.begin());
  advised.emplace_back(begin, end);
  void* start = reinterpret_cast<void*>(begin);
  const size_t len = static_cast<size_t>(end - begin);
  if (madvise(start, len, MADV_HUGEPAGE) != 0) return;
  madvise(start, len, MADV_COLLAPSE);
}

#else

void prefer_huge_pages(const void*, size_t) {}

#endif

}  // namespace fvl
