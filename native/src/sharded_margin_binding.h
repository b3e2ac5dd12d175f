// faceverloss native engine: JavaScript entry points of the sharded (model-parallel) margin softmax.
#pragma once

#include <napi.h>

namespace fvl {

// Adds shardedMarginStats and shardedMarginBackward to the addon's exports.
void register_sharded_margin(Napi::Env env, Napi::Object exports);

}  // namespace fvl
