// The span loops (span_loops.h) built with -mavx512f (no FMA contraction); reached only after cpu.cc has
// confirmed AVX-512 support.
#include "common.h"

#if FVL_X86_64
#define FVL_SPAN_LOOPS kSpanLoopsAvx512
#define FVL_SPAN_NAME "avx512"
#include "span_loops_impl.h"
#endif
