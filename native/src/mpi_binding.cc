// faceverloss MPI addon (faceverloss_mpi.node): the collectives of a model-parallel head, on
// MPI_COMM_WORLD, for src/parallel/mpi-comm.ts. Built only when pkg-config finds Open MPI or MPICH
// (scripts/mpi-config.mjs); the main engine never links MPI.
//
// MPI is initialised with MPI_THREAD_FUNNELED and every call must come from the thread that
// initialised it (Node's main thread): a call from elsewhere throws. Typed arrays are used in place;
// errors come back as JavaScript exceptions with MPI's message (the communicator returns errors
// instead of aborting). MPI_Finalize runs when the Node environment shuts down, if nobody called it.
#include <dlfcn.h>
#include <mpi.h>
#include <napi.h>

#include <climits>
#include <string>
#include <thread>

namespace {

std::thread::id mpi_thread;
bool initialised_here = false;

[[noreturn]] void fail_type(Napi::Env env, const std::string& m) { throw Napi::TypeError::New(env, m); }
[[noreturn]] void fail_range(Napi::Env env, const std::string& m) { throw Napi::RangeError::New(env, m); }

void check(Napi::Env env, int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, message, &length);
  throw Napi::Error::New(env, std::string(what) + " failed: " + std::string(message, static_cast<size_t>(length)));
}

void require_ready(Napi::Env env) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (!init || fin) throw Napi::Error::New(env, "MPI is not initialised (call init() first) or already finalised");
  if (std::this_thread::get_id() != mpi_thread)
    throw Napi::Error::New(env, "MPI calls must come from the thread that initialised MPI (MPI_THREAD_FUNNELED)");
}

struct View {
  void* data = nullptr;
  size_t length = 0;
  MPI_Datatype type = MPI_DATATYPE_NULL;
  napi_typedarray_type kind = napi_float32_array;
};

View view(Napi::Env env, const Napi::Value& v, const char* name) {
  if (!v.IsTypedArray()) fail_type(env, std::string(name) + " must be a Float32Array, Float64Array or Int32Array");
  auto a = v.As<Napi::TypedArray>();
  View out;
  out.kind = a.TypedArrayType();
  switch (out.kind) {
    case napi_float32_array:
      out.type = MPI_FLOAT;
      break;
    case napi_float64_array:
      out.type = MPI_DOUBLE;
      break;
    case napi_int32_array:
      out.type = MPI_INT;
      break;
    default:
      fail_type(env, std::string(name) + " must be a Float32Array, Float64Array or Int32Array");
  }
  out.length = a.ElementLength();
  if (out.length > size_t(INT_MAX)) fail_range(env, std::string(name) + " is longer than MPI's int count allows");
  out.data = static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  return out;
}

int world_size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

void finalize_at_exit(void*) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin && initialised_here) MPI_Finalize();
}

// init(): { rank, size, threadLevel, library }. Idempotent.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (fin) throw Napi::Error::New(env, "MPI was finalised in this process and cannot start again");
  if (!init) {
    // Open MPI loads its components as plug-ins that expect libmpi's symbols to be global; Node loads
    // this addon (and so libmpi) with RTLD_LOCAL. Promote the already-loaded library first.
    Dl_info where;
    if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &where) != 0 && where.dli_fname != nullptr)
      dlopen(where.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    int provided = 0;
    check(env, MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    if (provided < MPI_THREAD_FUNNELED) {
      MPI_Finalize();
      throw Napi::Error::New(env, "this MPI library does not provide MPI_THREAD_FUNNELED");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    mpi_thread = std::this_thread::get_id();
    initialised_here = true;
    napi_add_env_cleanup_hook(env, finalize_at_exit, nullptr);
  }
  require_ready(env);
  int rank = 0, provided = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Query_thread(&provided);
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(version, &length);
  while (length > 0 && (version[length - 1] == '\0' || version[length - 1] == '\n')) --length;  // Open MPI counts the NUL
  Napi::Object r = Napi::Object::New(env);
  r.Set("rank", rank);
  r.Set("size", world_size());
  r.Set("threadLevel", provided);
  r.Set("library", std::string(version, static_cast<size_t>(length)));
  return r;
}

// allGather(send, recv): recv (size × send.length, same type) gets every rank's send, in rank order.
Napi::Value AllGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_ready(env);
  if (info.Length() < 2) fail_type(env, "allGather expects (send, recv)");
  const View s = view(env, info[0], "send"), r = view(env, info[1], "recv");
  if (s.kind != r.kind) fail_type(env, "send and recv must be typed arrays of the same type");
  if (r.length != s.length * size_t(world_size())) fail_range(env, "recv must hold size × send.length values");
  check(env, MPI_Allgather(s.data, static_cast<int>(s.length), s.type, r.data, static_cast<int>(s.length), r.type,
                           MPI_COMM_WORLD),
        "MPI_Allgather");
  return env.Undefined();
}

// allReduce(buf, op): in place, op 'max' or 'sum'.
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_ready(env);
  if (info.Length() < 2 || !info[1].IsString()) fail_type(env, "allReduce expects (buf, 'max' | 'sum')");
  const View b = view(env, info[0], "buf");
  const std::string op = info[1].As<Napi::String>().Utf8Value();
  if (op != "max" && op != "sum") fail_range(env, "op must be 'max' or 'sum'");
  check(env, MPI_Allreduce(MPI_IN_PLACE, b.data, static_cast<int>(b.length), b.type, op == "max" ? MPI_MAX : MPI_SUM,
                           MPI_COMM_WORLD),
        "MPI_Allreduce");
  return env.Undefined();
}

// reduceScatter(send, recv): the sum over ranks of send (size × recv.length), block `rank` into recv.
Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_ready(env);
  if (info.Length() < 2) fail_type(env, "reduceScatter expects (send, recv)");
  const View s = view(env, info[0], "send"), r = view(env, info[1], "recv");
  if (s.kind != r.kind) fail_type(env, "send and recv must be typed arrays of the same type");
  if (s.length != r.length * size_t(world_size())) fail_range(env, "send must hold size × recv.length values");
  check(env, MPI_Reduce_scatter_block(s.data, r.data, static_cast<int>(r.length), r.type, MPI_SUM, MPI_COMM_WORLD),
        "MPI_Reduce_scatter_block");
  return env.Undefined();
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  require_ready(info.Env());
  check(info.Env(), MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  return info.Env().Undefined();
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) {
    require_ready(info.Env());
    MPI_Finalize();
  }
  return info.Env().Undefined();
}

// abort(code): ends every rank of the job (after an error on one rank, the others would wait forever).
Napi::Value Abort(const Napi::CallbackInfo& info) {
  const int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  MPI_Abort(MPI_COMM_WORLD, code);
  return info.Env().Undefined();
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("allGather", Napi::Function::New(env, AllGather, "allGather"));
  exports.Set("allReduce", Napi::Function::New(env, AllReduce, "allReduce"));
  exports.Set("reduceScatter", Napi::Function::New(env, ReduceScatter, "reduceScatter"));
  exports.Set("barrier", Napi::Function::New(env, Barrier, "barrier"));
  exports.Set("finalize", Napi::Function::New(env, Finalize, "finalize"));
  exports.Set("abort", Napi::Function::New(env, Abort, "abort"));
  return exports;
}

}  // namespace

NODE_API_MODULE(faceverloss_mpi, Register)
