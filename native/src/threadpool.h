// faceverloss native engine: a small fork-join thread pool.
//
// One pool per process. Inside a ThreadPool::Region, run(n, fn) executes fn(task, thread) for every
// task in [0, n) and returns when all are done; the calling thread works too and is thread 0.
// `thread` is the index of the executing thread in [0, size()), so callers can keep per-thread
// scratch memory (Scratch, below). run_team(n, fn) instead starts fn(thread) on n threads at once,
// which may then wait for each other at barrier().
//
// Regions are serialised: a second caller (say, an async GEMM on a libuv thread while the main
// thread starts another) waits for the first region to finish. Regions must not nest.
//
// Each thread also owns a Scratch: a few aligned buffers that grow on demand and are never freed, so
// that packing panels are reused from call to call instead of being page-faulted in every time.
#pragma once

#include "common.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace fvl {

// A 64-byte aligned float buffer that only grows. Large buffers are backed by transparent huge pages
// where the OS offers them (fewer TLB misses while a kernel streams a multi-megabyte packed panel).
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  ~AlignedBuffer();
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;

  // Returns room for at least n floats; throws std::bad_alloc. Contents are not preserved.
  float* reserve(size_t n);
  float* data() const { return data_; }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

// Per-thread scratch memory. Slots are named by their users (packed A, packed B, an edge tile, ...).
struct Scratch {
  enum Slot { kPackA = 0, kPackB = 1, kTile = 2, kUser0 = 3, kUser1 = 4, kSlots = 5 };
  AlignedBuffer buf[kSlots];
};

class ThreadPool {
 public:
  using TaskFn = void (*)(void* ctx, int task, int thread);

  // The process-wide pool, created on first use with default_threads() threads.
  static ThreadPool& global();

  // Usable cores (CPU affinity mask where the OS has one), or FACEVERLOSS_THREADS when it is set.
  static int default_threads();

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size();
  // Changes the number of threads (n < 1 restores default_threads()). Waits for a running region.
  void resize(int n);

  // Exclusive use of the pool and of every thread's Scratch, for as long as the Region lives. Grow the
  // scratch buffers here, on the calling thread (allocation failures then throw where they can be
  // reported), and run the parallel part with Region::run.
  class Region {
   public:
    explicit Region(ThreadPool& pool) : pool_(pool), lock_(pool.region_mutex_) {}
    int size() const { return pool_.size_; }
    Scratch& scratch(int thread) { return pool_.scratch_[static_cast<size_t>(thread)]; }
    template <class F>
    void run(int n, F&& fn) {
      pool_.run_locked(n, false, [](void* ctx, int task, int thread) { (*static_cast<F*>(ctx))(task, thread); },
                       &fn);
    }
    // Runs fn(thread) on threads 0..n-1 at the same time (n ≤ size()), so that they may cooperate
    // through barrier(): for example, pack a shared panel in parts and wait until it is complete.
    template <class F>
    void run_team(int n, F&& fn) {
      pool_.run_locked(n, true, [](void* ctx, int, int thread) { (*static_cast<F*>(ctx))(thread); }, &fn);
    }
    // Blocks until all n members of the running team have arrived. Only valid inside run_team.
    void barrier() { pool_.barrier(); }

   private:
    ThreadPool& pool_;
    std::lock_guard<std::mutex> lock_;
  };

 private:
  void run_locked(int n, bool team, TaskFn fn, void* ctx);
  void barrier();
  void start(int threads);
  void stop();
  void worker(int thread, uint64_t seen);
  // Claims and runs tasks of the current (non-team) region until none is left.
  void run_claimed(int thread);

  std::mutex region_mutex_;       // one region at a time
  std::vector<Scratch> scratch_;  // one per thread, guarded by region_mutex_

  std::mutex mu_;  // guards workers_, size_ and sleeping on cv_ / done_cv_
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::vector<std::thread> workers_;
  // A region is published by advancing generation_ (release) after its fields are set, with its kind in
  // the low bit (kTeamBit), so that a worker reads the two together; workers spin on it for a while
  // after each region before they sleep on cv_, so the many short regions of a training step do not
  // each pay for waking a sleeping thread.
  static constexpr uint64_t kTeamBit = 1;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
  int size_ = 1;
  std::atomic<int> active_{0};  // team regions: workers still inside

  // A plain region (run) is over when all its tasks are done, whoever ran them: the caller does not wait
  // for a worker that has not woken up yet (on a busy machine, one that is waiting for a core) — a worker
  // that comes late finds nothing left to claim. Tasks are claimed from claim_, which holds the task
  // count (high 32 bits) and the next task (low 32 bits); a claim is a compare-and-swap that only
  // succeeds while tasks are left, so a late worker never runs a task of a region that is over, and its
  // successful claim (acquire) sees the fields the region was published with. A team region (run_team)
  // needs every member, and waits for every worker to pass through it (active_).
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int n_tasks_ = 0;                  // team regions (and inline runs): the team's size
  std::atomic<uint64_t> claim_{0};   // plain regions: task count << 32 | next task
  std::atomic<int64_t> done_{0};     // plain regions: tasks finished
  std::atomic<int> barrier_waiting_{0};
  std::atomic<uint32_t> barrier_phase_{0};
  std::mutex barrier_mu_;
  std::condition_variable barrier_cv_;
};

}  // namespace fvl
