// Tiny fork-join helpers for the data layer's own loops (internal).
#pragma once

#include <arrow/util/thread_pool.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace drc::data::internal {

// Below this many rows per thread, another thread does not pay for itself.
constexpr int64_t kRowsPerThread = int64_t{1} << 18;

// Threads for `n` rows: at most the CPU pool's capacity (which honours OMP_NUM_THREADS).
inline int Threads(int64_t n) {
  const int cap = std::max(1, arrow::GetCpuThreadPoolCapacity());
  return static_cast<int>(std::clamp<int64_t>(n / kRowsPerThread, 1, cap));
}

// Start of the t-th of `parts` near-equal ranges of [0, n).
inline int64_t PartBegin(int64_t n, int parts, int t) { return n * t / parts; }

// Runs f(0) .. f(tasks - 1), each on its own thread (task 0 on the caller's).
template <typename F>
void ParallelFor(int tasks, F&& f) {
  if (tasks <= 1) {
    f(0);
    return;
  }
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(tasks - 1));
  for (int t = 1; t < tasks; ++t) threads.emplace_back([&f, t] { f(t); });
  f(0);
  for (auto& thread : threads) thread.join();
}

}  // namespace drc::data::internal
