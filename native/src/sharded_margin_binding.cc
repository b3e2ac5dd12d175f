// faceverloss native engine: JavaScript entry points of the two passes of the sharded margin softmax.
//
// shardedMarginStats(args) and shardedMarginBackward(args) take one object (built by
// src/parallel/sharded-kernel.ts): shapes, the flattened margin spec (the subset sharded_margin.h
// supports), the shard's arrays and the outputs to fill, used in place. Every length that protects
// memory is checked here as well as in TypeScript.
#include "sharded_margin_binding.h"

#include <cmath>
#include <new>
#include <string>

#include "binding_errors.h"
#include "sharded_margin.h"

namespace fvl {

namespace {

template <class E>
E code(const Napi::Object& o, const char* key, int max) {
  const double d = num(o, key, 0);
  if (!(d >= 0 && d <= max && d == std::floor(d))) fail_range(o.Env(), std::string(key) + " is not a valid code");
  return static_cast<E>(static_cast<int>(d));
}


float* f32(const Napi::Object& o, const char* key, double len, bool required) {
  return typed_array<float, napi_float32_array>(o, key, len, required, "Float32Array");
}
double* f64(const Napi::Object& o, const char* key, double len, bool required) {
  return typed_array<double, napi_float64_array>(o, key, len, required, "Float64Array");
}

// Shapes, the shard's inputs and the margin (calls are synchronous: the arrays outlive them).
ShardedMarginProblem parse(const Napi::CallbackInfo& info, const char* name) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) fail_type(env, std::string(name) + " expects one object");
  const Napi::Object o = info[0].As<Napi::Object>();
  ShardedMarginProblem p;
  p.B = dim(o, "B", 1);
  p.D = dim(o, "D", 1);
  p.C = dim(o, "C", 0);
  const double B = double(p.B), D = double(p.D), C = double(p.C);
  p.X = f32(o, "X", B * D, true);
  p.W = f32(o, "W", C * D, true);
  p.labels = typed_array<int32_t, napi_int32_array>(o, "labels", B, true, "Int32Array");
  for (int64_t i = 0; i < p.B; ++i)
    if (p.labels[i] < -1 || p.labels[i] >= p.C)
      fail_range(env, "labels[" + std::to_string(i) + "] is out of range");
  MarginConfig& c = p.cfg;
  c.normalize_x = flag(o, "normalizeX");
  c.normalize_w = code<WeightNorm>(o, "normalizeW", 2);
  const double clamp = num(o, "clamp", NAN);
  c.has_clamp = !std::isnan(clamp);
  c.clamp = clamp;
  c.target = code<TargetKind>(o, "target", 1);  // angular or sphere
  c.m1 = num(o, "m1", 1);
  c.m2 = num(o, "m2", 0);
  c.m3 = num(o, "m3", 0);
  c.fallback = code<FallbackKind>(o, "fallback", 5);
  c.fallback_margin = num(o, "fallbackMargin", 0);
  c.clip_eps = num(o, "clipEps", 1e-3);
  c.sphere_m = num(o, "sphereM", 4);
  c.sphere_lambda = num(o, "sphereLambda", 0);
  c.sphere_pi = num(o, "spherePi", 3.14159265);
  c.scale = num(o, "scale", 1);
  c.straight_through = flag(o, "straightThrough");
  return p;
}

Napi::Value ShardedMarginStats(const Napi::CallbackInfo& info) {
  ShardedMarginProblem p = parse(info, "shardedMarginStats");
  const Napi::Object o = info[0].As<Napi::Object>();
  p.row_max = f64(o, "rowMax", double(p.B), true);
  p.row_sum = f64(o, "rowSum", double(p.B), true);
  p.target_logit = f64(o, "targetLogit", double(p.B), true);
  try {
    sharded_margin_stats(p);
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "out of memory for the sharded margin buffers");
  }
  return info.Env().Undefined();
}

Napi::Value ShardedMarginBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ShardedMarginProblem p = parse(info, "shardedMarginBackward");
  const Napi::Object o = info[0].As<Napi::Object>();
  const double B = double(p.B), N = double(p.C) * double(p.D);
  p.lse = f64(o, "lse", B, true);
  p.grad_weight = num(o, "gradWeight", NAN);
  if (!std::isfinite(p.grad_weight)) fail_range(env, "gradWeight must be a finite number");
  const Napi::Value sgd = o.Get("sgd");
  if (!sgd.IsUndefined() && !sgd.IsNull()) {
    if (!sgd.IsObject()) fail_type(env, "sgd must be an object");
    const Napi::Object so = sgd.As<Napi::Object>();
    p.sgd.enabled = true;
    p.sgd.lr = num(so, "lr", 0);
    p.sgd.momentum = num(so, "momentum", 0);
    p.sgd.weight_decay = num(so, "weightDecay", 0);
    p.sgd.velocity = f32(so, "velocity", N, p.sgd.momentum != 0);
  }
  p.dX = f32(o, "dX", B * double(p.D), true);
  p.dW = f32(o, "dW", N, false);
  if (p.dW && p.sgd.enabled) fail_range(env, "dW must not be given with sgd");
  try {
    sharded_margin_backward(p);
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "out of memory for the sharded margin buffers");
  }
  return env.Undefined();
}

}  // namespace

void register_sharded_margin(Napi::Env env, Napi::Object exports) {
  exports.Set("shardedMarginStats", Napi::Function::New(env, ShardedMarginStats, "shardedMarginStats"));
  exports.Set("shardedMarginBackward", Napi::Function::New(env, ShardedMarginBackward, "shardedMarginBackward"));
}

}  // namespace fvl
