// faceverloss native engine: the JavaScript exceptions every binding throws for a bad argument
// (TypeError for the wrong kind of value, RangeError for a value or length out of range). The
// TypeScript wrappers in src/engine turn them into the library's typed errors.
#pragma once

#include <napi.h>

#include <string>

namespace fvl {

[[noreturn]] inline void fail_type(Napi::Env env, const std::string& m) { throw Napi::TypeError::New(env, m); }
[[noreturn]] inline void fail_range(Napi::Env env, const std::string& m) { throw Napi::RangeError::New(env, m); }

}  // namespace fvl
