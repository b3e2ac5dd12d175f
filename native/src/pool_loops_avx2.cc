// The pooling loops (pool_loops.h) built with -mavx2; reached only after cpu.cc has confirmed AVX2
// support.
#include "common.h"

#if FVL_X86_64
#define FVL_POOL_LOOPS kPoolLoopsAvx2
#define FVL_POOL_NAME "avx2"
#include "pool_loops_impl.h"
#endif
