// faceverloss native engine: which instruction sets this machine can run.
#pragma once

#include "common.h"

namespace fvl {

// Highest level supported by both the CPU and the OS (checked once, then cached).
Isa detect_isa();

// Size in bytes of one core's level-1 data cache as CPUID reports it, or 0 where it does not (checked
// once, then cached).
int64_t l1d_cache_bytes();

// "scalar", "avx2", "avx512".
const char* isa_name(Isa isa);

// Parses a level name; returns false when the name is unknown.
bool parse_isa(const char* name, Isa* out);

}  // namespace fvl
