// faceverloss native engine: huge pages for large arrays that the caller owns.
#pragma once

#include <cstddef>

namespace fvl {

// Asks the OS to back the 2 MiB-aligned interior of [p, p + bytes) with huge pages and to move the pages
// already there into them now (Linux transparent huge pages: MADV_HUGEPAGE, then MADV_COLLAPSE where the
// kernel has it). For arrays swept over and over (the class weights and their momentum, hundreds of MiB
// at large class counts): with 4 KiB pages every sweep misses the TLB once per page. Contents are kept.
// Each range is advised once per process; arrays under a few huge pages and other OSes are left as they
// are. Thread-safe; never fails (the advice is only a hint).
void prefer_huge_pages(const void* p, size_t bytes);

}  // namespace fvl
