// The pooling loops (pool_loops.h) built with -mavx512f; reached only after cpu.cc has confirmed
// AVX-512 support.
#include "common.h"

#if FVL_X86_64
#define FVL_POOL_LOOPS kPoolLoopsAvx512
#define FVL_POOL_NAME "avx512"
#include "pool_loops_impl.h"
#endif
