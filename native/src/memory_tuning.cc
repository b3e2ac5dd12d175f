// faceverloss native engine: allocator tuning (see memory_tuning.h).
#include "memory_tuning.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fvl {

bool tune_allocator() {
  const char* env = std::getenv("FACEVERLOSS_MALLOC_TUNING");
  if (env != nullptr && std::strcmp(env, "0") == 0) return false;
#if defined(__GLIBC__)
  // Allocations up to 32 MiB (glibc's largest mmap threshold) come from the heap instead of fresh
  // mappings; up to 1 GiB of free memory at the top of the heap stays there; the heap grows 64 MiB at a time.
  bool ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
  ok = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 && ok;
  ok = mallopt(M_TOP_PAD, 64 << 20) == 1 && ok;
  return ok;
#else
  return false;
#endif
}

}  // namespace fvl
