// faceverloss native engine: the JavaScript exceptions every binding throws for a bad argument
// (TypeError for the wrong kind of value, RangeError for a value or length out of range), and the
// readers of plain-object arguments that throw them. The TypeScript wrappers in src/engine turn them
// into the library's typed errors.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace fvl {

[[noreturn]] inline void fail_type(Napi::Env env, const std::string& m) { throw Napi::TypeError::New(env, m); }
[[noreturn]] inline void fail_range(Napi::Env env, const std::string& m) { throw Napi::RangeError::New(env, m); }

// o[key] as a number, `fallback` when absent.
inline double num(const Napi::Object& o, const char* key, double fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) fail_type(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// o[key] as an integer ≥ min (required).
inline int64_t dim(const Napi::Object& o, const char* key, int64_t min) {
  const double d = num(o, key, NAN);
  if (!(d >= double(min)) || d != std::floor(d) || d > 9.0e15)
    fail_range(o.Env(), std::string(key) + " must be an integer ≥ " + std::to_string(min));
  return static_cast<int64_t>(d);
}

// o[key] as a typed array of kType holding at least `length` elements (`type` names it in errors), or
// null when absent and not required. The pointer is into the array's buffer: no copy.
template <class T, napi_typedarray_type kType>
T* typed_array(const Napi::Object& o, const char* key, double length, bool required, const char* type) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) fail_type(o.Env(), std::string(key) + " is required");
    return nullptr;
  }
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kType)
    fail_type(o.Env(), std::string(key) + " must be a " + type);
  auto a = v.As<Napi::TypedArray>();
  if (double(a.ElementLength()) < length)
    fail_range(o.Env(), std::string(key) + " is too short (" + std::to_string(a.ElementLength()) + " < " +
                            std::to_string(static_cast<int64_t>(length)) + ")");
  return reinterpret_cast<T*>(static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset());
}

// o[key] as a boolean, false when absent.
inline bool flag(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return false;
  if (!v.IsBoolean()) fail_type(o.Env(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

}  // namespace fvl
