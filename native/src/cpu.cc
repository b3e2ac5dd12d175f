// CPU feature detection. A feature counts only if the OS also saves the matching register state on a
// context switch (XCR0), otherwise the first AVX instruction faults even though CPUID advertises it.
#include "cpu.h"

#include <cstring>

#if FVL_X86_64
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace fvl {

#if FVL_X86_64
namespace {

struct CpuidRegs {
  uint32_t eax, ebx, ecx, edx;
};

CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidRegs r{};
#if defined(_MSC_VER)
  int regs[4];
  __cpuidex(regs, static_cast<int>(leaf), static_cast<int>(subleaf));
  r = {static_cast<uint32_t>(regs[0]), static_cast<uint32_t>(regs[1]), static_cast<uint32_t>(regs[2]),
       static_cast<uint32_t>(regs[3])};
#else
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

uint64_t xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
#endif
}

Isa probe() {
  const uint32_t max_leaf = cpuid(0, 0).eax;
  if (max_leaf < 7) return Isa::Scalar;
  const CpuidRegs l1 = cpuid(1, 0);
  const bool osxsave = (l1.ecx >> 27) & 1;
  const bool avx = (l1.ecx >> 28) & 1;
  const bool fma = (l1.ecx >> 12) & 1;
  if (!osxsave || !avx) return Isa::Scalar;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;     // SSE + AVX state
  const bool zmm_state = (xcr0 & 0xe6) == 0xe6;   // + opmask, ZMM0-15 upper halves, ZMM16-31
  const CpuidRegs l7 = cpuid(7, 0);
  const bool avx2 = (l7.ebx >> 5) & 1;
  const bool avx512f = (l7.ebx >> 16) & 1;
  if (avx512f && fma && zmm_state) return Isa::Avx512;
  if (avx2 && fma && ymm_state) return Isa::Avx2;
  return Isa::Scalar;
}

// Intel: deterministic cache parameters (leaf 4), one subleaf per cache until type 0. AMD: the L1
// data cache size in KiB in leaf 0x80000005.
int64_t probe_l1d() {
  const uint32_t max_leaf = cpuid(0, 0).eax;
  if (max_leaf >= 4) {
    for (uint32_t i = 0; i < 16; ++i) {
      const CpuidRegs r = cpuid(4, i);
      const uint32_t type = r.eax & 0x1f, level = (r.eax >> 5) & 0x7;
      if (type == 0) break;
      if (type == 1 && level == 1) {  // data cache, level 1
        const int64_t ways = ((r.ebx >> 22) & 0x3ff) + 1, partitions = ((r.ebx >> 12) & 0x3ff) + 1;
        const int64_t line = (r.ebx & 0xfff) + 1, sets = int64_t(r.ecx) + 1;
        return ways * partitions * line * sets;
      }
    }
  }
  if (cpuid(0x80000000, 0).eax >= 0x80000005) return int64_t(cpuid(0x80000005, 0).ecx >> 24) * 1024;
  return 0;
}

}  // namespace

Isa detect_isa() {
  static const Isa isa = probe();
  return isa;
}

int64_t l1d_cache_bytes() {
  static const int64_t bytes = probe_l1d();
  return bytes;
}
#else
Isa detect_isa() { return Isa::Scalar; }
int64_t l1d_cache_bytes() { return 0; }
#endif

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    default:
      return "scalar";
  }
}

bool parse_isa(const char* name, Isa* out) {
  if (std::strcmp(name, "avx512") == 0) *out = Isa::Avx512;
  else if (std::strcmp(name, "avx2") == 0) *out = Isa::Avx2;
  else if (std::strcmp(name, "scalar") == 0) *out = Isa::Scalar;
  else return false;
  return true;
}

}  // namespace fvl
