// faceverloss native engine: JavaScript entry points of the fused margin-softmax operator.
//
// marginSoftmax(args) and marginSoftmaxAsync(args) take one object (built by src/engine/margin.ts):
// shapes, the flattened margin spec, input arrays, and the output arrays to fill. Typed arrays are
// used in place. Every length that protects memory is checked here as well as in TypeScript. A key
// outside kArgumentKeys is refused (a misspelt key would otherwise leave its default in place);
// test/engine/margin-codes.test.ts checks this list and the enum codes in margin.h against the
// TypeScript encoder in src/engine/margin-codes.ts.
#include "margin_binding.h"

#include <cmath>
#include <new>
#include <string>
#include <vector>

#include "binding_errors.h"
#include "margin.h"

namespace fvl {

namespace {

// Every key the argument object of marginSoftmax / marginCosines may hold.
constexpr const char* kArgumentKeys[] = {
    "B", "D", "C", "K", "X", "W", "labels", "bias", "targetRaw",
    "normalizeX", "normalizeW", "clamp", "angleMap",
    "target", "m1", "m2", "m3", "m2Row", "m3Row", "fallback", "fallbackMargin", "clipEps",
    "sphereM", "sphereLambda", "spherePi", "circleM",
    "negatives", "hardA", "hardB", "thM1", "thM2", "thM3", "adaptive", "adM0", "adM1", "adSourceRaw",
    "adGradient", "curricularT", "arcnegAlpha", "arcnegSigma", "circleNegM", "filterAbove",
    "scale", "scaleRow", "m2DNorm", "m3DNorm", "scaleDNorm",
    "loss", "focalGamma", "softplusThreshold", "straightThrough",
    "writeNormalizedW", "sgd", "dX", "dW", "dBias", "logits", "cos", "rows",
};
// Keys of the `sgd` object.
constexpr const char* kSgdKeys[] = {"lr", "momentum", "weightDecay", "velocity"};
// Only marginCosines reads this one (its output of target cosines).
constexpr const char* kCosinesKey = "targetCos";

template <size_t N>
bool listed(const std::string& key, const char* const (&keys)[N]) {
  for (const char* k : keys)
    if (key == k) return true;
  return false;
}

// Refuses keys the binding does not read: a misspelt or renamed key would silently keep its default.
template <size_t N>
void check_keys(const Napi::Object& o, const char* const (&keys)[N], const char* what, bool cosines_only) {
  const Napi::Array names = o.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string key = names.Get(i).ToString().Utf8Value();
    if (listed(key, keys) || (cosines_only && key == kCosinesKey)) continue;
    fail_type(o.Env(), std::string("unknown ") + what + " argument '" + key + "'");
  }
}

// Keeps every typed array of one call alive (needed while an async call runs on a worker thread).
struct Keep {
  std::vector<Napi::Reference<Napi::Value>> refs;
  void add(const Napi::Value& v) { refs.push_back(Napi::Persistent(v)); }
};

// As typed_array, and the array is kept alive for an operator that runs after the call returns.
template <class T, napi_typedarray_type kType>
T* array(const Napi::Object& o, const char* key, double length, bool required, Keep& keep, const char* type) {
  T* data = typed_array<T, kType>(o, key, length, required, type);
  if (data) keep.add(o.Get(key));
  return data;
}

float* f32(const Napi::Object& o, const char* key, double len, bool required, Keep& k) {
  return array<float, napi_float32_array>(o, key, len, required, k, "Float32Array");
}
double* f64(const Napi::Object& o, const char* key, double len, bool required, Keep& k) {
  return array<double, napi_float64_array>(o, key, len, required, k, "Float64Array");
}

template <class E>
E code(const Napi::Object& o, const char* key, int max) {
  const double d = num(o, key, 0);
  if (!(d >= 0 && d <= max && d == std::floor(d))) fail_range(o.Env(), std::string(key) + " is not a valid code");
  return static_cast<E>(static_cast<int>(d));
}

// Reads the call's arguments. `keep` holds the arrays for as long as the call runs.
MarginProblem parse(const Napi::CallbackInfo& info, Keep& keep, bool cosines_only = false) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) fail_type(env, "marginSoftmax expects one object");
  const Napi::Object o = info[0].As<Napi::Object>();
  check_keys(o, kArgumentKeys, "marginSoftmax", cosines_only);
  MarginProblem p;
  p.B = dim(o, "B", 1);
  p.D = dim(o, "D", 1);
  p.C = dim(o, "C", 1);
  MarginConfig& c = p.cfg;
  c.sub_centers = dim(o, "K", 1);
  if (c.sub_centers > 255) fail_range(env, "K must be at most 255");
  const double B = double(p.B), D = double(p.D), C = double(p.C), N = C * double(c.sub_centers);
  p.X = f32(o, "X", B * D, true, keep);
  p.W = f32(o, "W", N * D, true, keep);
  p.labels = array<int32_t, napi_int32_array>(o, "labels", B, true, keep, "Int32Array");
  for (int64_t i = 0; i < p.B; ++i)
    if (p.labels[i] < 0 || p.labels[i] >= p.C) fail_range(env, "labels[" + std::to_string(i) + "] is out of range");
  p.bias = f32(o, "bias", C, false, keep);
  p.target_cos = f64(o, "targetRaw", B, false, keep);

  c.normalize_x = flag(o, "normalizeX");
  c.normalize_w = code<WeightNorm>(o, "normalizeW", 2);
  const double clamp = num(o, "clamp", NAN);
  c.has_clamp = !std::isnan(clamp);
  c.clamp = clamp;
  c.angle_map = code<AngleMapKind>(o, "angleMap", 2);
  c.target = code<TargetKind>(o, "target", 2);
  c.m1 = num(o, "m1", 1);
  c.m2 = num(o, "m2", 0);
  c.m3 = num(o, "m3", 0);
  c.m2_row = f64(o, "m2Row", B, false, keep);
  c.m3_row = f64(o, "m3Row", B, false, keep);
  c.fallback = code<FallbackKind>(o, "fallback", 5);
  c.fallback_margin = num(o, "fallbackMargin", 0);
  c.clip_eps = num(o, "clipEps", 1e-3);
  c.sphere_m = num(o, "sphereM", 4);
  c.sphere_lambda = num(o, "sphereLambda", 0);
  c.sphere_pi = num(o, "spherePi", 3.14159265);
  c.circle_target_m = num(o, "circleM", 0.25);
  c.negatives = code<NegativeKind>(o, "negatives", 5);
  c.hard_a = num(o, "hardA", 1);
  c.hard_b = num(o, "hardB", 0);
  c.th_m1 = num(o, "thM1", 1);
  c.th_m2 = num(o, "thM2", 0);
  c.th_m3 = num(o, "thM3", 0);
  c.adaptive = flag(o, "adaptive");
  c.ad_m0 = num(o, "adM0", 0);
  c.ad_m1 = num(o, "adM1", 0);
  c.ad_source_raw = flag(o, "adSourceRaw");
  c.ad_gradient = flag(o, "adGradient");
  c.curricular_t = num(o, "curricularT", 0);
  c.arcneg_alpha = num(o, "arcnegAlpha", 1.2);
  c.arcneg_sigma = num(o, "arcnegSigma", 2);
  c.circle_neg_m = num(o, "circleNegM", 0.25);
  c.filter_above = num(o, "filterAbove", 1);
  c.scale = num(o, "scale", 1);
  c.scale_row = f64(o, "scaleRow", B, false, keep);
  c.m2_dnorm = f64(o, "m2DNorm", B, false, keep);
  c.m3_dnorm = f64(o, "m3DNorm", B, false, keep);
  c.scale_dnorm = f64(o, "scaleDNorm", B, false, keep);
  c.loss = code<LossKind>(o, "loss", 3);
  c.focal_gamma = num(o, "focalGamma", 0);
  c.softplus_threshold = num(o, "softplusThreshold", 20);
  c.straight_through = flag(o, "straightThrough");

  p.write_normalized_w = flag(o, "writeNormalizedW");
  const Napi::Value sgd = o.Get("sgd");
  if (!sgd.IsUndefined() && !sgd.IsNull()) {
    if (!sgd.IsObject()) fail_type(env, "sgd must be an object");
    const Napi::Object so = sgd.As<Napi::Object>();
    check_keys(so, kSgdKeys, "sgd", false);
    p.sgd.enabled = true;
    p.sgd.lr = num(so, "lr", 0);
    p.sgd.momentum = num(so, "momentum", 0);
    p.sgd.weight_decay = num(so, "weightDecay", 0);
    p.sgd.velocity = f32(so, "velocity", N * D, p.sgd.momentum != 0, keep);
  }
  p.dX = f32(o, "dX", B * D, !cosines_only, keep);
  p.dW = f32(o, "dW", N * D, false, keep);
  p.dBias = f32(o, "dBias", C, false, keep);
  p.logits = f32(o, "logits", B * C, false, keep);
  p.cos = f32(o, "cos", B * C, false, keep);
  // rows: seven per-row outputs, each B long: dM2, dM3, dScale, rowMargin, pair z, ‖x‖, dL/d‖x‖.
  double* rows = f64(o, "rows", 7 * B, false, keep);
  // The ‖x‖ chain reads dM2, dM3 and dScale.
  if (!rows && (c.m2_dnorm || c.m3_dnorm || c.scale_dnorm))
    fail_type(env, "rows is required with m2DNorm, m3DNorm or scaleDNorm");
  if (rows) {
    p.d_m2 = rows;
    p.d_m3 = rows + p.B;
    p.d_scale = rows + 2 * p.B;
    p.row_margin = rows + 3 * p.B;
    p.pair = rows + 4 * p.B;
    p.x_norm = rows + 5 * p.B;
    p.d_norm = rows + 6 * p.B;
  }
  // Outputs must not alias the inputs they are computed from.
  if ((p.dW && p.sgd.enabled) || (p.dW == p.W && p.dW)) fail_range(env, "dW must not be given with sgd");
  return p;
}

Napi::Value result(Napi::Env env, const MarginProblem& p) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("loss", p.loss);
  r.Set("ce", p.ce);
  r.Set("focal", p.focal);
  return r;
}

Napi::Value MarginSoftmax(const Napi::CallbackInfo& info) {
  Keep keep;
  MarginProblem p = parse(info, keep);
  try {
    margin_softmax(p);
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "out of memory for the margin-softmax buffers");
  }
  return result(info.Env(), p);
}

class MarginWorker : public Napi::AsyncWorker {
 public:
  MarginWorker(Napi::Env env, MarginProblem p, Keep&& keep)
      : Napi::AsyncWorker(env, "faceverloss:marginSoftmax"),
        deferred_(Napi::Promise::Deferred::New(env)),
        p_(p),
        keep_(std::move(keep)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }
  void Execute() override {
    try {
      margin_softmax(p_);
    } catch (const std::bad_alloc&) {
      SetError("out of memory for the margin-softmax buffers");
    }
  }
  void OnOK() override { deferred_.Resolve(result(Env(), p_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  MarginProblem p_;
  Keep keep_;
};

Napi::Value MarginSoftmaxAsync(const Napi::CallbackInfo& info) {
  Keep keep;
  MarginProblem p = parse(info, keep);
  auto* worker = new MarginWorker(info.Env(), p, std::move(keep));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// marginCosines(args): the same arguments; fills `cos` (B×C clamped cosines) and/or `targetCos` (B).
Napi::Value MarginCosines(const Napi::CallbackInfo& info) {
  Keep keep;
  MarginProblem p = parse(info, keep, true);
  const Napi::Object o = info[0].As<Napi::Object>();
  double* target = f64(o, "targetCos", double(p.B), false, keep);
  try {
    margin_cosines(p, p.cos, target);
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "out of memory for the cosine buffers");
  }
  return info.Env().Undefined();
}

// copyRows(src, dst, rows, width, scatter): gather (dst[k] = src[rows[k]]) or scatter (dst[rows[k]] =
// src[k]) of `width`-float rows, on the pool: Partial FC moves rC rows of W and of its momentum per step.
Napi::Value CopyRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray() ||
      !info[3].IsNumber() || !info[4].IsBoolean())
    fail_type(env, "copyRows expects (src, dst, rows, width, scatter)");
  auto src = info[0].As<Napi::TypedArray>();
  auto dst = info[1].As<Napi::TypedArray>();
  auto rows = info[2].As<Napi::TypedArray>();
  if (src.TypedArrayType() != napi_float32_array || dst.TypedArrayType() != napi_float32_array ||
      rows.TypedArrayType() != napi_int32_array)
    fail_type(env, "copyRows expects Float32Array src and dst and Int32Array rows");
  const double wd = info[3].As<Napi::Number>().DoubleValue();
  if (!(wd >= 1) || wd != std::floor(wd)) fail_range(env, "width must be a positive integer");
  const int64_t width = static_cast<int64_t>(wd);
  const bool scatter = info[4].As<Napi::Boolean>().Value();
  const int64_t n = static_cast<int64_t>(rows.ElementLength());
  const float* s = src.As<Napi::Float32Array>().Data();
  float* d = dst.As<Napi::Float32Array>().Data();
  const int32_t* r = rows.As<Napi::Int32Array>().Data();
  const int64_t full = static_cast<int64_t>((scatter ? dst : src).ElementLength()) / width;
  const int64_t packed = static_cast<int64_t>((scatter ? src : dst).ElementLength()) / width;
  if (packed < n) fail_range(env, "the packed array is shorter than rows.length rows");
  for (int64_t k = 0; k < n; ++k)
    if (r[k] < 0 || r[k] >= full) fail_range(env, "rows[" + std::to_string(k) + "] is out of range");
  copy_rows(s, d, r, n, width, scatter);
  return env.Undefined();
}

}  // namespace

void register_margin(Napi::Env env, Napi::Object exports) {
  exports.Set("marginSoftmax", Napi::Function::New(env, MarginSoftmax, "marginSoftmax"));
  exports.Set("marginSoftmaxAsync", Napi::Function::New(env, MarginSoftmaxAsync, "marginSoftmaxAsync"));
  exports.Set("marginCosines", Napi::Function::New(env, MarginCosines, "marginCosines"));
  exports.Set("copyRows", Napi::Function::New(env, CopyRows, "copyRows"));
}

}  // namespace fvl
