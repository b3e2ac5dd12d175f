// faceverloss native engine: JavaScript entry points of the convolution, PReLU, max-pooling and depthwise
// kernels.
//
// Arguments are positional (src/engine/tf-nn-kernels.ts builds them from TF.js tensors); typed arrays
// are used in place and written synchronously. Every length that protects memory is checked here.
#include "nn_binding.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "binding_errors.h"
#include "conv.h"
#include "nn_kernels.h"

namespace fvl {

namespace {

// Dimensions are bounded so that products of a few of them cannot overflow int64.
constexpr double kMaxDim = 2147483647.0;

int64_t to_dim(Napi::Env env, const Napi::Value& v, const std::string& name) {
  if (!v.IsNumber()) fail_type(env, name + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > kMaxDim) fail_range(env, name + " must be a non-negative integer");
  return static_cast<int64_t>(d);
}

int64_t dim(const Napi::CallbackInfo& info, size_t i, const char* name) { return to_dim(info.Env(), info[i], name); }

// A Float32Array argument holding at least `length` elements.
float* floats(const Napi::CallbackInfo& info, size_t i, const char* name, double length) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    fail_type(info.Env(), std::string(name) + " must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  if (static_cast<double>(a.ElementLength()) < length)
    fail_range(info.Env(), std::string(name) + " is too short for the given shape");
  return a.Data();
}

// Outputs are written while inputs are read, through restrict pointers: they must not overlap.
void disjoint(Napi::Env env, const float* out, double out_len, const float* in, double in_len, const char* what) {
  const auto* o = reinterpret_cast<const uint8_t*>(out);
  const auto* p = reinterpret_cast<const uint8_t*>(in);
  const double ob = out_len * sizeof(float), ib = in_len * sizeof(float);
  if (ob == 0 || ib == 0) return;
  if (o < p + static_cast<size_t>(ib) && p < o + static_cast<size_t>(ob))
    fail_range(env, std::string(what) + " must not share memory with the inputs");
}

// Arguments: x, alpha, y, rows, channels.
Napi::Value PreluForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) fail_type(env, "preluForward expects 5 arguments");
  const int64_t rows = dim(info, 3, "rows"), channels = dim(info, 4, "channels");
  const double n = static_cast<double>(rows) * static_cast<double>(channels);
  const float* x = floats(info, 0, "x", n);
  const float* alpha = floats(info, 1, "alpha", static_cast<double>(channels));
  float* y = floats(info, 2, "y", n);
  disjoint(env, y, n, x, n, "y");
  disjoint(env, y, n, alpha, static_cast<double>(channels), "y");
  prelu_forward(x, alpha, y, rows, channels);
  return env.Undefined();
}

// Arguments: dy, x, alpha, dx, dalpha, rows, channels, and optionally dxSum (undefined: not wanted).
Napi::Value PreluBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 7) fail_type(env, "preluBackward expects 7 or 8 arguments");
  const int64_t rows = dim(info, 5, "rows"), channels = dim(info, 6, "channels");
  const double n = static_cast<double>(rows) * static_cast<double>(channels);
  const double c = static_cast<double>(channels);
  const float* dy = floats(info, 0, "dy", n);
  const float* x = floats(info, 1, "x", n);
  const float* alpha = floats(info, 2, "alpha", c);
  float* dx = floats(info, 3, "dx", n);
  float* dalpha = floats(info, 4, "dalpha", c);
  float* dx_sum = info.Length() > 7 && !info[7].IsUndefined() ? floats(info, 7, "dxSum", c) : nullptr;
  for (const auto& [p, len] : {std::pair<const float*, double>{dy, n}, {x, n}, {alpha, c}}) {
    disjoint(env, dx, n, p, len, "dx");
    disjoint(env, dalpha, c, p, len, "dalpha");
    if (dx_sum) disjoint(env, dx_sum, c, p, len, "dxSum");
  }
  disjoint(env, dx, n, dalpha, c, "dx");
  if (dx_sum) {
    disjoint(env, dx_sum, c, dx, n, "dxSum");
    disjoint(env, dx_sum, c, dalpha, c, "dxSum");
  }
  prelu_backward(dy, x, alpha, dx, dalpha, dx_sum, rows, channels);
  return env.Undefined();
}

// The geometry argument: an array of exactly N non-negative integers.
template <size_t N>
std::array<int64_t, N> geometry_dims(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  const std::string expected = "geometry must be an array of " + std::to_string(N) + " integers";
  if (!info[i].IsArray()) fail_type(env, expected);
  const auto a = info[i].As<Napi::Array>();
  if (a.Length() != N) fail_range(env, expected);
  std::array<int64_t, N> v{};
  for (uint32_t k = 0; k < N; ++k) v[k] = to_dim(env, a.Get(k), "geometry[" + std::to_string(k) + "]");
  return v;
}

// geometry: [batch, inH, inW, channels, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft].
PoolGeometry geometry(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  const auto v = geometry_dims<12>(info, i);
  const PoolGeometry g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
  if (g.filter_h < 1 || g.filter_w < 1 || g.stride_h < 1 || g.stride_w < 1)
    fail_range(env, "filter sizes and strides must be positive");
  // Bound every extent so that the index arithmetic of the kernels stays far from overflow.
  const double in = double(g.batch) * double(g.in_h) * double(g.in_w) * double(g.channels);
  const double out = double(g.batch) * double(g.out_h) * double(g.out_w) * double(g.channels);
  if (in > 9.0e15 || out > 9.0e15) fail_range(env, "tensor too large");
  return g;
}

double in_size(const PoolGeometry& g) { return double(g.batch) * double(g.in_h) * double(g.in_w) * double(g.channels); }
double out_size(const PoolGeometry& g) {
  return double(g.batch) * double(g.out_h) * double(g.out_w) * double(g.channels);
}

// Arguments: x, y, geometry.
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) fail_type(env, "maxPool expects 3 arguments");
  const PoolGeometry g = geometry(info, 2);
  const float* x = floats(info, 0, "x", in_size(g));
  float* y = floats(info, 1, "y", out_size(g));
  disjoint(env, y, out_size(g), x, in_size(g), "y");
  max_pool_forward(g, x, y);
  return env.Undefined();
}

// Arguments: dy, x, dx, geometry. dx is overwritten.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) fail_type(env, "maxPoolGrad expects 4 arguments");
  const PoolGeometry g = geometry(info, 3);
  const float* dy = floats(info, 0, "dy", out_size(g));
  const float* x = floats(info, 1, "x", in_size(g));
  float* dx = floats(info, 2, "dx", in_size(g));
  disjoint(env, dx, in_size(g), x, in_size(g), "dx");
  disjoint(env, dx, in_size(g), dy, out_size(g), "dx");
  max_pool_backward(g, dy, x, dx);
  return env.Undefined();
}

// geometry: [batch, inH, inW, channels, multiplier, outH, outW, filterH, filterW, strideH, strideW,
// dilationH, dilationW, padTop, padLeft].
DepthwiseGeometry depthwise_geometry(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  const auto v = geometry_dims<15>(info, i);
  const DepthwiseGeometry g{v[0], v[1], v[2],  v[3],  v[4],  v[5],  v[6], v[7],
                            v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  if (g.filter_h < 1 || g.filter_w < 1 || g.stride_h < 1 || g.stride_w < 1 || g.dilation_h < 1 || g.dilation_w < 1)
    fail_range(env, "filter sizes, strides and dilations must be positive");
  const double in = double(g.batch) * double(g.in_h) * double(g.in_w) * double(g.channels);
  const double out = double(g.batch) * double(g.out_h) * double(g.out_w) * double(g.channels) * double(g.multiplier);
  if (in > 9.0e15 || out > 9.0e15) fail_range(env, "tensor too large");
  return g;
}

double dw_in(const DepthwiseGeometry& g) {
  return double(g.batch) * double(g.in_h) * double(g.in_w) * double(g.channels);
}
double dw_out(const DepthwiseGeometry& g) {
  return double(g.batch) * double(g.out_h) * double(g.out_w) * double(g.channels) * double(g.multiplier);
}
double dw_filter(const DepthwiseGeometry& g) {
  return double(g.filter_h) * double(g.filter_w) * double(g.channels) * double(g.multiplier);
}

// Arguments: x, filter, y, geometry.
Napi::Value DepthwiseConv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) fail_type(env, "depthwiseConv expects 4 arguments");
  const DepthwiseGeometry g = depthwise_geometry(info, 3);
  const float* x = floats(info, 0, "x", dw_in(g));
  const float* w = floats(info, 1, "filter", dw_filter(g));
  float* y = floats(info, 2, "y", dw_out(g));
  disjoint(env, y, dw_out(g), x, dw_in(g), "y");
  disjoint(env, y, dw_out(g), w, dw_filter(g), "y");
  depthwise_forward(g, x, w, y);
  return env.Undefined();
}

// Arguments: dy, filter, dx, geometry.
Napi::Value DepthwiseConvGradInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) fail_type(env, "depthwiseConvGradInput expects 4 arguments");
  const DepthwiseGeometry g = depthwise_geometry(info, 3);
  const float* dy = floats(info, 0, "dy", dw_out(g));
  const float* w = floats(info, 1, "filter", dw_filter(g));
  float* dx = floats(info, 2, "dx", dw_in(g));
  disjoint(env, dx, dw_in(g), dy, dw_out(g), "dx");
  disjoint(env, dx, dw_in(g), w, dw_filter(g), "dx");
  depthwise_backward_input(g, dy, w, dx);
  return env.Undefined();
}

// Arguments: x, dy, dfilter, geometry.
Napi::Value DepthwiseConvGradFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) fail_type(env, "depthwiseConvGradFilter expects 4 arguments");
  const DepthwiseGeometry g = depthwise_geometry(info, 3);
  const float* x = floats(info, 0, "x", dw_in(g));
  const float* dy = floats(info, 1, "dy", dw_out(g));
  float* dw = floats(info, 2, "dfilter", dw_filter(g));
  depthwise_backward_filter(g, x, dy, dw);  // dw is written only after all partial sums are complete
  return env.Undefined();
}


// geometry: [batch, inH, inW, inC, outH, outW, outC, filterH, filterW, strideH, strideW, dilationH,
// dilationW, padTop, padLeft].
ConvGeometry conv_geometry(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  const auto v = geometry_dims<15>(info, i);
  const ConvGeometry g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  if (g.filter_h < 1 || g.filter_w < 1 || g.stride_h < 1 || g.stride_w < 1 || g.dilation_h < 1 || g.dilation_w < 1)
    fail_range(env, "filter sizes, strides and dilations must be positive");
  if (g.in_c < 1 || g.out_c < 1) fail_range(env, "channel counts must be positive");
  const double in = double(g.batch) * double(g.in_h) * double(g.in_w) * double(g.in_c);
  const double out = double(g.batch) * double(g.out_h) * double(g.out_w) * double(g.out_c);
  const double filter = double(g.filter_h) * double(g.filter_w) * double(g.in_c) * double(g.out_c);
  if (in > 9.0e15 || out > 9.0e15 || filter > 9.0e15) fail_range(env, "tensor too large");
  return g;
}

double conv_in(const ConvGeometry& g) { return double(g.batch) * double(g.in_h) * double(g.in_w) * double(g.in_c); }
double conv_out(const ConvGeometry& g) {
  return double(g.batch) * double(g.out_h) * double(g.out_w) * double(g.out_c);
}
double conv_filter(const ConvGeometry& g) {
  return double(g.filter_h) * double(g.filter_w) * double(g.in_c) * double(g.out_c);
}

// Optional per-channel weights (bias, PReLU alpha): null/undefined, or a Float32Array of 1 or out_c values.
const float* channel_weights(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t out_c,
                             int64_t* length) {
  *length = 0;
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    fail_type(info.Env(), std::string(name) + " must be a Float32Array or null");
  auto a = info[i].As<Napi::Float32Array>();
  const auto n = static_cast<int64_t>(a.ElementLength());
  if (n != 1 && n != out_c) fail_range(info.Env(), std::string(name) + " must hold 1 or outC values");
  *length = n;
  return a.Data();
}

// Arguments: x, filter, y, geometry, bias|null, activation (0 linear, 1 relu, 2 prelu, 3 leakyrelu, 4 relu6),
// alpha|null (prelu), leakyAlpha.
Napi::Value ConvForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8) fail_type(env, "convForward expects 8 arguments");
  const ConvGeometry g = conv_geometry(info, 3);
  const float* x = floats(info, 0, "x", conv_in(g));
  const float* w = floats(info, 1, "filter", conv_filter(g));
  float* y = floats(info, 2, "y", conv_out(g));
  ConvEpilogue e;
  e.bias = channel_weights(info, 4, "bias", g.out_c, &e.bias_len);
  const int64_t act = dim(info, 5, "activation");
  if (act > 4) fail_range(env, "activation must be 0 (linear), 1 (relu), 2 (prelu), 3 (leakyrelu) or 4 (relu6)");
  e.activation = static_cast<ConvActivation>(act);
  e.alpha = channel_weights(info, 6, "alpha", g.out_c, &e.alpha_len);
  if (e.activation == ConvActivation::Prelu && !e.alpha) fail_type(env, "alpha is required for prelu");
  if (!info[7].IsNumber()) fail_type(env, "leakyAlpha must be a number");
  e.leaky_alpha = info[7].As<Napi::Number>().FloatValue();
  disjoint(env, y, conv_out(g), x, conv_in(g), "y");
  disjoint(env, y, conv_out(g), w, conv_filter(g), "y");
  conv_forward(g, x, w, e, y);
  return env.Undefined();
}

// Arguments: dy, filter, dx, geometry.
Napi::Value ConvGradInput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) fail_type(env, "convGradInput expects 4 arguments");
  const ConvGeometry g = conv_geometry(info, 3);
  const float* dy = floats(info, 0, "dy", conv_out(g));
  const float* w = floats(info, 1, "filter", conv_filter(g));
  float* dx = floats(info, 2, "dx", conv_in(g));
  disjoint(env, dx, conv_in(g), dy, conv_out(g), "dx");
  disjoint(env, dx, conv_in(g), w, conv_filter(g), "dx");
  conv_backward_input(g, dy, w, dx);
  return env.Undefined();
}

// Arguments: x, dy, dfilter, geometry.
Napi::Value ConvGradFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4) fail_type(env, "convGradFilter expects 4 arguments");
  const ConvGeometry g = conv_geometry(info, 3);
  const float* x = floats(info, 0, "x", conv_in(g));
  const float* dy = floats(info, 1, "dy", conv_out(g));
  float* dw = floats(info, 2, "dfilter", conv_filter(g));
  conv_backward_filter(g, x, dy, dw);  // dw is written only after all partial sums are complete
  return env.Undefined();
}

// An optional per-channel Float32Array (null/undefined → nullptr) of at least `length` values.
const float* optional_floats(const Napi::CallbackInfo& info, size_t i, const char* name, double length) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return floats(info, i, name, length);
}

float epsilon_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) fail_type(info.Env(), "epsilon must be a number");
  const double eps = info[i].As<Napi::Number>().DoubleValue();
  if (!(eps > 0) || !std::isfinite(eps)) fail_range(info.Env(), "epsilon must be a positive finite number");
  return static_cast<float>(eps);
}

// Arguments: x, gamma|null, beta|null, y, mean, variance, rows, channels, epsilon.
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 9) fail_type(env, "batchNormTrain expects 9 arguments");
  const int64_t rows = dim(info, 6, "rows"), channels = dim(info, 7, "channels");
  if (rows < 1 || channels < 1) fail_range(env, "rows and channels must be positive");
  const double n = static_cast<double>(rows) * static_cast<double>(channels), c = static_cast<double>(channels);
  const float* x = floats(info, 0, "x", n);
  const float* gamma = optional_floats(info, 1, "gamma", c);
  const float* beta = optional_floats(info, 2, "beta", c);
  float* y = floats(info, 3, "y", n);
  float* mean = floats(info, 4, "mean", c);
  float* variance = floats(info, 5, "variance", c);
  const float eps = epsilon_arg(info, 8);
  disjoint(env, y, n, x, n, "y");
  for (float* out : {mean, variance}) {
    disjoint(env, out, c, x, n, "mean and variance");
    disjoint(env, out, c, y, n, "mean and variance");
  }
  batch_norm_train_forward(x, gamma, beta, y, mean, variance, rows, channels, eps);
  return env.Undefined();
}

// Arguments: dy, x, gamma|null, mean, variance, dx, dgamma, dbeta, rows, channels, epsilon.
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 11) fail_type(env, "batchNormTrainGrad expects 11 arguments");
  const int64_t rows = dim(info, 8, "rows"), channels = dim(info, 9, "channels");
  if (rows < 1 || channels < 1) fail_range(env, "rows and channels must be positive");
  const double n = static_cast<double>(rows) * static_cast<double>(channels), c = static_cast<double>(channels);
  const float* dy = floats(info, 0, "dy", n);
  const float* x = floats(info, 1, "x", n);
  const float* gamma = optional_floats(info, 2, "gamma", c);
  const float* mean = floats(info, 3, "mean", c);
  const float* variance = floats(info, 4, "variance", c);
  float* dx = floats(info, 5, "dx", n);
  float* dgamma = floats(info, 6, "dgamma", c);
  float* dbeta = floats(info, 7, "dbeta", c);
  const float eps = epsilon_arg(info, 10);
  disjoint(env, dx, n, dy, n, "dx");
  disjoint(env, dx, n, x, n, "dx");
  batch_norm_train_backward(dy, x, gamma, mean, variance, dx, dgamma, dbeta, rows, channels, eps);
  return env.Undefined();
}

}  // namespace

void register_nn(Napi::Env env, Napi::Object exports) {
  exports.Set("preluForward", Napi::Function::New(env, PreluForward, "preluForward"));
  exports.Set("preluBackward", Napi::Function::New(env, PreluBackward, "preluBackward"));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool, "maxPool"));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad, "maxPoolGrad"));
  exports.Set("depthwiseConv", Napi::Function::New(env, DepthwiseConv, "depthwiseConv"));
  exports.Set("depthwiseConvGradInput", Napi::Function::New(env, DepthwiseConvGradInput, "depthwiseConvGradInput"));
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrain, "batchNormTrain"));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, BatchNormTrainGrad, "batchNormTrainGrad"));
  exports.Set("convForward", Napi::Function::New(env, ConvForward, "convForward"));
  exports.Set("convGradInput", Napi::Function::New(env, ConvGradInput, "convGradInput"));
  exports.Set("convGradFilter", Napi::Function::New(env, ConvGradFilter, "convGradFilter"));
  exports.Set("depthwiseConvGradFilter",
              Napi::Function::New(env, DepthwiseConvGradFilter, "depthwiseConvGradFilter"));
}

}  // namespace fvl
