// How the element-wise and layer kernels split a loop into pool tasks. The split depends on the problem
// only, never on the pool size, so that every reduction sums in the same order on any machine.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include "threadpool.h"

namespace fvl {

// Elements per task below which splitting a loop further costs more in thread wake-ups than it saves.
constexpr int64_t kTaskGrain = 1 << 15;
// Upper bound on tasks per call; enough to balance any pool size this engine is run with.
constexpr int64_t kMaxTasks = 256;

// Number of tasks for `work` elements split along `units` independent units (at least one per task).
inline int task_count(int64_t work, int64_t units) {
  const int64_t by_work = (work + kTaskGrain - 1) / kTaskGrain;
  return static_cast<int>(std::max<int64_t>(1, std::min({by_work, units, kMaxTasks})));
}

// First unit of task t when `units` are split evenly into `tasks` ranges.
inline int64_t split(int64_t units, int tasks, int t) { return units * t / tasks; }

// Runs fn(task, thread) for every task in [0, tasks) on the global pool (inline when there is one).
template <class F>
void run_tasks(int tasks, F fn) {
  if (tasks <= 1) {
    fn(0, 0);
    return;
  }
  ThreadPool::Region region(ThreadPool::global());
  region.run(tasks, std::move(fn));
}

}  // namespace fvl
