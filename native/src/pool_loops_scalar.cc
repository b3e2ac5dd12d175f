// The pooling loops (pool_loops.h) at the baseline instruction set of the build, and the choice of the
// active set.
#define FVL_POOL_LOOPS kPoolLoopsScalar
#define FVL_POOL_NAME "scalar"
#include "pool_loops_impl.h"

#include "gemm.h"

namespace fvl {

const PoolLoops& active_pool_loops() {
#if FVL_X86_64
  switch (active_isa()) {
    case Isa::Avx512: return kPoolLoopsAvx512;
    case Isa::Avx2: return kPoolLoopsAvx2;
    default: break;
  }
#endif
  return kPoolLoopsScalar;
}

}  // namespace fvl
