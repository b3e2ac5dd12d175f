// faceverloss native engine: JavaScript entry points of the PReLU, max-pooling and depthwise kernels.
#pragma once

#include <napi.h>

namespace fvl {

// Adds preluForward, preluBackward, maxPool, maxPoolGrad, depthwiseConv, depthwiseConvGradInput and
// depthwiseConvGradFilter to the addon's exports.
void register_nn(Napi::Env env, Napi::Object exports);

}  // namespace fvl
