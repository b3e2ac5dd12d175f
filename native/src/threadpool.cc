#include "threadpool.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <system_error>
#include <utility>

#if defined(_WIN32)
#include <malloc.h>
#else
#include <stdlib.h>
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#endif
#if defined(__linux__)
#include <sched.h>
#include <sys/mman.h>
#endif

namespace fvl {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;

// Tells the core we are spinning (frees issue slots for a sibling hyperthread, saves power).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
  __asm__ __volatile__("yield");
#endif
}

void aligned_free(void* p) {
#if defined(_WIN32)
  _aligned_free(p);
#else
  free(p);
#endif
}

void* aligned_alloc_bytes(size_t bytes) {
  const size_t align = bytes >= kHugePage ? kHugePage : kAlign;
  bytes = (bytes + align - 1) / align * align;
  void* p = nullptr;
#if defined(_WIN32)
  p = _aligned_malloc(bytes, align);
#else
  if (posix_memalign(&p, align, bytes) != 0) p = nullptr;
#endif
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == kHugePage) madvise(p, bytes, MADV_HUGEPAGE);
#endif
  // Fault every page in now, once, rather than inside a timed kernel.
  std::memset(p, 0, bytes);
  return p;
}

}  // namespace

AlignedBuffer::~AlignedBuffer() { aligned_free(data_); }

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    aligned_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

float* AlignedBuffer::reserve(size_t n) {
  if (n <= capacity_ && data_ != nullptr) return data_;
  // Grow geometrically so that a slowly increasing sequence of shapes does not reallocate each call.
  size_t want = capacity_ + capacity_ / 2;
  if (want < n) want = n;
  if (want < 1024) want = 1024;
  float* fresh = static_cast<float*>(aligned_alloc_bytes(want * sizeof(float)));
  aligned_free(data_);
  data_ = fresh;
  capacity_ = want;
  return data_;
}

ThreadPool& ThreadPool::global() {
  // Never destroyed: worker threads must not be joined from a static destructor while Node exits.
  static ThreadPool* pool = new ThreadPool(default_threads());
  return *pool;
}

int ThreadPool::default_threads() {
  if (const char* env = std::getenv("FACEVERLOSS_THREADS")) {
    const long n = std::strtol(env, nullptr, 10);
    if (n >= 1 && n <= 1024) return static_cast<int>(n);
  }
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n >= 1 ? static_cast<int>(n) : 1;
}

ThreadPool::ThreadPool(int threads) { start(threads < 1 ? 1 : threads); }

ThreadPool::~ThreadPool() { stop(); }

int ThreadPool::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return size_;
}

void ThreadPool::resize(int n) {
  if (n < 1) n = default_threads();
  std::lock_guard<std::mutex> region(region_mutex_);
  if (n == size()) return;
  stop();
  start(n);
}

void ThreadPool::start(int threads) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(false);
    // A new worker must not mistake the last region (long finished) for work: it starts from the
    // current generation, read here, not when the thread gets around to running.
    const uint64_t current = generation_.load(std::memory_order_acquire);
    for (int t = 1; t < threads; ++t) {
      try {
        workers_.emplace_back(&ThreadPool::worker, this, t, current);
      } catch (const std::system_error&) {
        break;  // out of threads: run with the ones we have
      }
    }
    size_ = 1 + static_cast<int>(workers_.size());
  }
  scratch_.resize(static_cast<size_t>(size_));
}

void ThreadPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true);
  }
  cv_.notify_all();
  for (std::thread& w : workers_) w.join();
  workers_.clear();
}

void ThreadPool::run_claimed(int thread) {
  for (;;) {
    uint64_t word = claim_.load(std::memory_order_acquire);
    for (;;) {
      if ((word & 0xffffffffu) >= (word >> 32)) return;  // nothing left (or the region is over)
      if (claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel, std::memory_order_acquire)) break;
    }
    const int64_t count = static_cast<int64_t>(word >> 32);
    fn_(ctx_, static_cast<int>(word & 0xffffffffu), thread);
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == count) {
      // Taking the lock orders this notify after the caller's check of done_ in its wait.
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::barrier() {
  const uint32_t phase = barrier_phase_.load(std::memory_order_acquire);
  if (barrier_waiting_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_tasks_) {
    barrier_waiting_.store(0, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(barrier_mu_);
      barrier_phase_.store(phase + 1, std::memory_order_release);
    }
    barrier_cv_.notify_all();
    return;
  }
  // Spin for a few microseconds (the others are usually close behind), then sleep: on a machine with
  // more runnable threads than cores, the thread we wait for may need our core to get here.
  for (int spin = 0; spin < 4096; ++spin) {
    if (barrier_phase_.load(std::memory_order_acquire) != phase) return;
    cpu_relax();
  }
  std::unique_lock<std::mutex> lock(barrier_mu_);
  barrier_cv_.wait(lock, [&] { return barrier_phase_.load(std::memory_order_acquire) != phase; });
}

namespace {
// Pauses a worker spins for the next region before it sleeps: about 0.1–0.5 ms, longer than the gap
// between the kernels of a training step, short enough not to matter to an idle process.
constexpr int kIdleSpins = 1 << 13;
}  // namespace

void ThreadPool::worker(int thread, uint64_t seen) {
  for (;;) {
    uint64_t now = generation_.load(std::memory_order_acquire);
    for (int spin = 0; now == seen && spin < kIdleSpins && !stopping_.load(std::memory_order_relaxed); ++spin) {
      cpu_relax();
      now = generation_.load(std::memory_order_acquire);
    }
    if (now == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_.load() || generation_.load(std::memory_order_acquire) != seen; });
      now = generation_.load(std::memory_order_acquire);
    }
    if (stopping_.load()) return;
    seen = now;
    if ((now & kTeamBit) == 0) {
      // A plain region, or one already over: claim what is left (perhaps of a newer region).
      run_claimed(thread);
      continue;
    }
    // A team region waits for every worker, so it is the current one, and its fields stay as they are
    // until this worker has passed through.
    if (thread < n_tasks_) fn_(ctx_, thread, thread);
    if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Taking the lock orders this notify after the caller's check of active_ in its wait.
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::run_locked(int n, bool team, TaskFn fn, void* ctx) {
  if (n <= 0) return;
  const int workers = static_cast<int>(workers_.size());
  if (team && n > workers + 1) n = workers + 1;  // callers size teams from size(); never exceed it
  if (n == 1 || workers == 0) {
    // Not published: no worker reads these fields now (a late worker looks only at generation_ and
    // claim_, which stay as the last published region left them).
    n_tasks_ = team ? 1 : n;  // a team of one passes its barriers at once
    barrier_waiting_.store(0, std::memory_order_relaxed);
    for (int task = 0; task < n; ++task) fn(ctx, task, 0);
    return;
  }
  // The region's fields are written before generation_ is bumped (release) and read by workers after
  // they see it (acquire), or, for a plain region, after a successful claim. Regions are serialised by
  // region_mutex_, and the previous one is over (all tasks done, or every worker through a team region)
  // before these are written again.
  fn_ = fn;
  ctx_ = ctx;
  n_tasks_ = n;
  if (team) {
    barrier_waiting_.store(0, std::memory_order_relaxed);
    active_.store(workers, std::memory_order_relaxed);
  } else {
    done_.store(0, std::memory_order_relaxed);
    claim_.store(static_cast<uint64_t>(n) << 32, std::memory_order_release);
  }
  // Published: the next generation, its kind in the low bit (regions are serialised: no other writer).
  const uint64_t next = ((generation_.load(std::memory_order_relaxed) >> 1) + 1) << 1;
  generation_.store(next | (team ? kTeamBit : 0), std::memory_order_release);
  {
    // Under the lock, so that a worker between its last look at generation_ and its sleep is woken.
    std::lock_guard<std::mutex> lock(mu_);
  }
  cv_.notify_all();
  if (team) {
    fn(ctx, 0, 0);
    for (int spin = 0; spin < kIdleSpins; ++spin) {
      if (active_.load(std::memory_order_acquire) == 0) return;
      cpu_relax();
    }
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return active_.load(std::memory_order_acquire) == 0; });
    return;
  }
  run_claimed(0);
  for (int spin = 0; spin < kIdleSpins; ++spin) {
    if (done_.load(std::memory_order_acquire) == n) return;
    cpu_relax();
  }
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return done_.load(std::memory_order_acquire) == n; });
}

}  // namespace fvl
