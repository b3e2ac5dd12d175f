// faceverloss native engine: JavaScript entry points of the element-wise and reduction kernels.
#pragma once

#include <napi.h>

namespace fvl {

// Adds binaryOp, reduceSum and batchNorm to the addon's exports.
void register_elementwise(Napi::Env env, Napi::Object exports);

}  // namespace fvl
