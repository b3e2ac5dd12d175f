// The span loops (span_loops.h) built with -mavx2 (no FMA contraction); reached only after cpu.cc has
// confirmed AVX2 support.
#include "common.h"

#if FVL_X86_64
#define FVL_SPAN_LOOPS kSpanLoopsAvx2
#define FVL_SPAN_NAME "avx2"
#include "span_loops_impl.h"
#endif
