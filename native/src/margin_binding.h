// faceverloss native engine: JavaScript entry points of the margin-softmax operator.
#pragma once

#include <napi.h>

namespace fvl {

// Adds marginSoftmax, marginSoftmaxAsync, marginCosines and copyRows to the addon's exports.
void register_margin(Napi::Env env, Napi::Object exports);

}  // namespace fvl
