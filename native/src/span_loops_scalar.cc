// The span loops (span_loops.h) at the baseline instruction set of the build, and the choice of the
// active set.
#define FVL_SPAN_LOOPS kSpanLoopsScalar
#define FVL_SPAN_NAME "scalar"
#include "span_loops_impl.h"

#include "gemm.h"

namespace fvl {

const SpanLoops& active_span_loops() {
#if FVL_X86_64
  switch (active_isa()) {
    case Isa::Avx512: return kSpanLoopsAvx512;
    case Isa::Avx2: return kSpanLoopsAvx2;
    default: break;
  }
#endif
  return kSpanLoopsScalar;
}

}  // namespace fvl
