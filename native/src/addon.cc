// faceverloss native engine: the JavaScript binding (N-API through node-addon-api).
//
// Typed arrays are used in place (no copies). The TypeScript wrapper in src/engine validates every
// argument and throws the library's typed errors; the checks here repeat the ones that protect memory
// so that a direct caller gets a JavaScript exception, never a crash.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <new>
#include <string>

#include "binding_errors.h"
#include "cpu.h"
#include "elementwise_binding.h"
#include "gemm.h"
#include "margin_binding.h"
#include "memory_tuning.h"
#include "nn_binding.h"
#include "sharded_margin_binding.h"
#include "threadpool.h"

namespace {

using fvl::SgemmArgs;

using fvl::fail_range;
using fvl::fail_type;

// Whether tune_allocator() applied glibc's tuning when the engine loaded (reported by info()).
bool allocator_tuned = false;

int64_t get_dim(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) fail_type(info.Env(), std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0)
    fail_range(info.Env(), std::string(name) + " must be a non-negative integer");
  return static_cast<int64_t>(d);
}

float get_scalar(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) fail_type(info.Env(), std::string(name) + " must be a number");
  return static_cast<float>(v.As<Napi::Number>().DoubleValue());
}

Napi::Float32Array get_f32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    fail_type(info.Env(), std::string(name) + " must be a Float32Array");
  return v.As<Napi::Float32Array>();
}

// A matrix stored as `rows` rows of `cols` elements, `ld` apart, needs (rows-1)*ld + cols elements.
void check_matrix(Napi::Env env, const char* name, const Napi::Float32Array& arr, int64_t rows, int64_t cols,
                  int64_t ld) {
  if (rows == 0 || cols == 0) return;
  if (ld < cols)
    fail_range(env, std::string("leading dimension of ") + name + " is smaller than its row length");
  const double need = static_cast<double>(rows - 1) * static_cast<double>(ld) + static_cast<double>(cols);
  if (need > static_cast<double>(arr.ElementLength()))
    fail_range(env, std::string(name) + " is too short for the given shape");
}

bool overlaps(const Napi::Float32Array& x, const Napi::Float32Array& y) {
  const auto* x0 = reinterpret_cast<const uint8_t*>(x.Data());
  const auto* y0 = reinterpret_cast<const uint8_t*>(y.Data());
  const size_t xn = x.ByteLength(), yn = y.ByteLength();
  if (xn == 0 || yn == 0) return false;
  return x0 < y0 + yn && y0 < x0 + xn;
}

// Arguments: transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc.
struct ParsedSgemm {
  SgemmArgs args;
  Napi::Float32Array a, b, c;
};

ParsedSgemm parse_sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 13) fail_type(env, "sgemm expects 13 arguments");
  if (!info[0].IsBoolean() || !info[1].IsBoolean()) fail_type(env, "transA and transB must be booleans");
  ParsedSgemm p;
  SgemmArgs& g = p.args;
  g.trans_a = info[0].As<Napi::Boolean>().Value();
  g.trans_b = info[1].As<Napi::Boolean>().Value();
  g.m = get_dim(info, 2, "M");
  g.n = get_dim(info, 3, "N");
  g.k = get_dim(info, 4, "K");
  g.alpha = get_scalar(info, 5, "alpha");
  p.a = get_f32(info, 6, "A");
  g.lda = get_dim(info, 7, "lda");
  p.b = get_f32(info, 8, "B");
  g.ldb = get_dim(info, 9, "ldb");
  g.beta = get_scalar(info, 10, "beta");
  p.c = get_f32(info, 11, "C");
  g.ldc = get_dim(info, 12, "ldc");
  check_matrix(env, "A", p.a, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda);
  check_matrix(env, "B", p.b, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb);
  check_matrix(env, "C", p.c, g.m, g.n, g.ldc);
  if (overlaps(p.c, p.a) || overlaps(p.c, p.b)) fail_range(env, "C must not share memory with A or B");
  g.a = p.a.Data();
  g.b = p.b.Data();
  g.c = p.c.Data();
  return p;
}

Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  ParsedSgemm p = parse_sgemm(info);
  try {
    fvl::sgemm(p.args);
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(info.Env(), "out of memory for GEMM packing buffers");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("sgemm failed: ") + e.what());
  }
  return info.Env().Undefined();
}

// Runs the product on a libuv worker thread; the typed arrays are kept alive by references until the
// promise settles. The caller must not touch C (or resize A/B's buffers) before then.
class SgemmWorker : public Napi::AsyncWorker {
 public:
  SgemmWorker(Napi::Env env, ParsedSgemm& p)
      : Napi::AsyncWorker(env, "faceverloss:sgemm"),
        deferred_(Napi::Promise::Deferred::New(env)),
        args_(p.args),
        a_(Napi::Persistent(p.a)),
        b_(Napi::Persistent(p.b)),
        c_(Napi::Persistent(p.c)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      fvl::sgemm(args_);
    } catch (const std::bad_alloc&) {
      SetError("out of memory for GEMM packing buffers");
    } catch (const std::exception& e) {
      SetError(std::string("sgemm failed: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(c_.Value()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  SgemmArgs args_;
  Napi::Reference<Napi::Float32Array> a_, b_, c_;
};

Napi::Value SgemmAsync(const Napi::CallbackInfo& info) {
  ParsedSgemm p = parse_sgemm(info);
  auto* worker = new SgemmWorker(info.Env(), p);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t n = get_dim(info, 0, "threads");
  if (n > 1024) fail_range(info.Env(), "threads must be at most 1024");
  try {
    fvl::ThreadPool::global().resize(static_cast<int>(n));
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("could not resize the thread pool: ") + e.what());
  }
  return Napi::Number::New(info.Env(), fvl::ThreadPool::global().size());
}

Napi::Value SetDispatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) fail_type(env, "dispatch level must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  fvl::Isa isa;
  if (!fvl::parse_isa(name.c_str(), &isa)) fail_range(env, "unknown dispatch level '" + name + "'");
  if (!fvl::set_dispatch(isa)) fail_range(env, "this CPU cannot run dispatch level '" + name + "'");
  return Napi::String::New(env, fvl::isa_name(fvl::active_isa()));
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const fvl::SgemmKernel& ker = fvl::active_kernel();
  o.Set("dispatch", fvl::isa_name(ker.isa));
  o.Set("detected", fvl::isa_name(fvl::detect_isa()));
  Napi::Array levels = Napi::Array::New(env);
  uint32_t n = 0;
  for (fvl::Isa isa : {fvl::Isa::Scalar, fvl::Isa::Avx2, fvl::Isa::Avx512})
    if (isa <= fvl::detect_isa()) levels.Set(n++, fvl::isa_name(isa));
  o.Set("levels", levels);
  o.Set("threads", fvl::ThreadPool::global().size());
  o.Set("defaultThreads", fvl::ThreadPool::default_threads());
  Napi::Object k = Napi::Object::New(env);
  k.Set("mr", ker.mr);
  k.Set("nr", ker.nr);
  k.Set("kc", static_cast<double>(fvl::max_depth(ker)));
  k.Set("mc", ker.mc);
  k.Set("nc", ker.nc);
  o.Set("sgemmTile", k);
#if defined(__x86_64__) || defined(_M_X64)
  o.Set("arch", "x64");
#elif defined(__aarch64__) || defined(_M_ARM64)
  o.Set("arch", "arm64");
#else
  o.Set("arch", "other");
#endif
  o.Set("allocatorTuned", Napi::Boolean::New(info.Env(), allocator_tuned));
  return o;
}

Napi::Object PoolRateObject(Napi::Env env, const fvl::PoolRate& rate) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("gflops", rate.total_gflops);
  Napi::Array threads = Napi::Array::New(env, rate.thread_gflops.size());
  for (uint32_t t = 0; t < rate.thread_gflops.size(); ++t) threads.Set(t, rate.thread_gflops[t]);
  o.Set("threadGflops", threads);
  return o;
}

Napi::Value FmaPeak(const Napi::CallbackInfo& info) { return PoolRateObject(info.Env(), fvl::measure_fma_peak()); }

Napi::Value KernelRate(const Napi::CallbackInfo& info) {
  int64_t depth = 0;
  const fvl::PoolRate rate = fvl::measure_kernel_rate(&depth);
  Napi::Object o = PoolRateObject(info.Env(), rate);
  o.Set("depth", static_cast<double>(depth));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Once per process, whatever number of environments (worker threads) load the addon.
  static const bool tuned = fvl::tune_allocator();
  allocator_tuned = tuned;
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("setDispatch", Napi::Function::New(env, SetDispatch, "setDispatch"));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm, "sgemm"));
  exports.Set("sgemmAsync", Napi::Function::New(env, SgemmAsync, "sgemmAsync"));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak, "fmaPeak"));
  exports.Set("kernelRate", Napi::Function::New(env, KernelRate, "kernelRate"));
  fvl::register_margin(env, exports);
  fvl::register_nn(env, exports);
  fvl::register_elementwise(env, exports);
  fvl::register_sharded_margin(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(faceverloss, Init)
