// faceverloss native engine: JavaScript entry points of the element-wise and reduction kernels.
//
// Arguments are positional (src/engine/tf-elementwise-kernels.ts builds them from TF.js tensors);
// typed arrays are used in place and written synchronously. Every length that protects memory is
// checked here.
#include "elementwise_binding.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "binding_errors.h"
#include "elementwise.h"

namespace fvl {

namespace {

// Element counts are bounded by what a typed array can hold, so products stay far from int64 overflow.
constexpr double kMaxCount = 9007199254740991.0;

int64_t count(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) fail_type(info.Env(), std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > kMaxCount)
    fail_range(info.Env(), std::string(name) + " must be a non-negative integer");
  return static_cast<int64_t>(d);
}

// A Float32Array argument holding at least `length` elements.
Napi::Float32Array floats(const Napi::CallbackInfo& info, size_t i, const char* name, double length) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    fail_type(info.Env(), std::string(name) + " must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  if (static_cast<double>(a.ElementLength()) < length)
    fail_range(info.Env(), std::string(name) + " is too short for the given shape");
  return a;
}

// The output is written while the inputs are read, through restrict pointers: they must not overlap.
void disjoint(Napi::Env env, const Napi::Float32Array& out, const Napi::Float32Array& in, const char* what) {
  const auto* o = reinterpret_cast<const uint8_t*>(out.Data());
  const auto* p = reinterpret_cast<const uint8_t*>(in.Data());
  const size_t ob = out.ByteLength(), ib = in.ByteLength();
  if (ob == 0 || ib == 0) return;
  if (o < p + ib && p < o + ob) fail_range(env, std::string(what) + " must not share memory with the inputs");
}

bool parse_op(const std::string& name, BinaryOp* op) {
  if (name == "add") *op = BinaryOp::Add;
  else if (name == "sub") *op = BinaryOp::Sub;
  else if (name == "mul") *op = BinaryOp::Mul;
  else if (name == "div") *op = BinaryOp::Div;
  else if (name == "squaredDifference") *op = BinaryOp::SquaredDifference;
  else return false;
  return true;
}

// Arguments: op, a, aPeriod, b, bPeriod, y, n, channels.
Napi::Value BinaryOpFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8) fail_type(env, "binaryOp expects 8 arguments");
  if (!info[0].IsString()) fail_type(env, "op must be a string");
  BinaryOp op;
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (!parse_op(name, &op)) fail_range(env, "unknown binary op '" + name + "'");
  const int64_t n = count(info, 6, "n"), channels = count(info, 7, "channels");
  if (channels == 0 || n % channels != 0) fail_range(env, "channels must be a positive divisor of n");
  const int64_t a_period = count(info, 2, "aPeriod"), b_period = count(info, 4, "bPeriod");
  for (int64_t p : {a_period, b_period}) {
    if (p != 1 && p != n && p != channels) fail_range(env, "an operand period must be 1, channels or n");
  }
  const Napi::Float32Array a = floats(info, 1, "a", static_cast<double>(a_period));
  const Napi::Float32Array b = floats(info, 3, "b", static_cast<double>(b_period));
  Napi::Float32Array y = floats(info, 5, "y", static_cast<double>(n));
  disjoint(env, y, a, "y");
  disjoint(env, y, b, "y");
  binary(op, a.Data(), a_period, b.Data(), b_period, y.Data(), n, channels);
  return env.Undefined();
}

// Arguments: x, y, outer, reduce, inner, mean.
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6) fail_type(env, "reduceSum expects 6 arguments");
  const int64_t outer = count(info, 2, "outer"), reduce = count(info, 3, "reduce"), inner = count(info, 4, "inner");
  if (!info[5].IsBoolean()) fail_type(env, "mean must be a boolean");
  const bool mean = info[5].As<Napi::Boolean>().Value();
  const double kept = static_cast<double>(outer) * static_cast<double>(inner);
  const double total = kept * static_cast<double>(reduce);
  if (total > kMaxCount) fail_range(env, "outer * reduce * inner is too large");
  const Napi::Float32Array x = floats(info, 0, "x", total);
  Napi::Float32Array y = floats(info, 1, "y", kept);
  disjoint(env, y, x, "y");
  reduce_sum(x.Data(), y.Data(), outer, reduce, inner, mean);
  return env.Undefined();
}

// Arguments: x, mean, variance, scale, offset, y, n, channels, epsilon. Each parameter holds exactly
// one value or `channels` values.
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 9) fail_type(env, "batchNorm expects 9 arguments");
  const int64_t n = count(info, 6, "n"), channels = count(info, 7, "channels");
  if (channels == 0 || n % channels != 0) fail_range(env, "channels must be a positive divisor of n");
  if (!info[8].IsNumber()) fail_type(env, "epsilon must be a number");
  const Napi::Float32Array x = floats(info, 0, "x", static_cast<double>(n));
  Napi::Float32Array y = floats(info, 5, "y", static_cast<double>(n));
  disjoint(env, y, x, "y");
  BatchNormParams p;
  p.epsilon = info[8].As<Napi::Number>().DoubleValue();
  const char* names[4] = {"mean", "variance", "scale", "offset"};
  const float** data[4] = {&p.mean, &p.variance, &p.scale, &p.offset};
  bool* one[4] = {&p.mean_one, &p.variance_one, &p.scale_one, &p.offset_one};
  for (size_t i = 0; i < 4; ++i) {
    const Napi::Float32Array a = floats(info, 1 + i, names[i], 1);
    const size_t len = a.ElementLength();
    if (len != 1 && len != static_cast<size_t>(channels))
      fail_range(env, std::string(names[i]) + " must hold 1 or channels values");
    disjoint(env, y, a, "y");
    *data[i] = a.Data();
    *one[i] = len == 1;
  }
  batch_norm(x.Data(), y.Data(), n, channels, p);
  return env.Undefined();
}

// Arguments: acc, grad, value, newAcc, newValue, m, c. All arrays hold n = acc.length values.
Napi::Value MomentumUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7) fail_type(env, "momentumUpdate expects 7 arguments");
  if (!info[5].IsNumber() || !info[6].IsNumber()) fail_type(env, "m and c must be numbers");
  const Napi::Float32Array acc = floats(info, 0, "acc", 0);
  const double n = static_cast<double>(acc.ElementLength());
  const Napi::Float32Array grad = floats(info, 1, "grad", n);
  const Napi::Float32Array value = floats(info, 2, "value", n);
  Napi::Float32Array new_acc = floats(info, 3, "newAcc", n);
  Napi::Float32Array new_value = floats(info, 4, "newValue", n);
  for (const Napi::Float32Array* in : {&acc, &grad, &value}) {
    disjoint(env, new_acc, *in, "newAcc");
    disjoint(env, new_value, *in, "newValue");
  }
  disjoint(env, new_value, new_acc, "newValue");
  const float m = static_cast<float>(info[5].As<Napi::Number>().DoubleValue());
  const float c = static_cast<float>(info[6].As<Napi::Number>().DoubleValue());
  momentum_update(acc.Data(), grad.Data(), value.Data(), m, c, new_acc.Data(), new_value.Data(),
                  static_cast<int64_t>(n));
  return env.Undefined();
}

}  // namespace

void register_elementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binaryOp", Napi::Function::New(env, BinaryOpFn, "binaryOp"));
  exports.Set("reduceSum", Napi::Function::New(env, ReduceSum, "reduceSum"));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm, "batchNorm"));
  exports.Set("momentumUpdate", Napi::Function::New(env, MomentumUpdate, "momentumUpdate"));
}

}  // namespace fvl
