// Scheduler-only benchmark: placements per second on a simulated 10,000 nodes x 128 cores x
// 8 GPUs pilot, without launching anything. items_per_second = placements/s.
//
//   scheduler_bench --benchmark_filter=.   (goal: >= 200,000 placements/s)
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "drc/runtime/scheduler.h"

namespace drc::runtime {
namespace {

constexpr int kNodes = 10000;
constexpr int kCores = 128;
constexpr int kGpus = 8;

ResourceRequest Shape(int kind) {
  ResourceRequest r;
  switch (kind) {
    case 0: break;  // 1 rank x 1 core
    case 1:
      r.ranks = 4;
      r.cores_per_rank = 8;
      break;
    default:
      r.cores_per_rank = 4;
      r.gpus_per_rank = 1;
      break;
  }
  return r;
}

// How many tasks of a kind one round enqueues (all fit on the empty pilot at once).
int Batch(int kind) {
  switch (kind) {
    case 0: return 100000;
    case 1: return 20000;   // 80,000 ranks, 640,000 cores
    default: return 50000;  // 50,000 GPUs
  }
}

const char* Label(int kind) {
  switch (kind) {
    case 0: return "1 rank x 1 core";
    case 1: return "4 ranks x 8 cores";
    default: return "1 rank x 4 cores + 1 GPU";
  }
}

// Schedule() alone: the queue is filled and the pilot emptied outside the timed region.
void BM_Schedule(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const int batch = Batch(kind);
  const ResourceRequest req = Shape(kind);
  Scheduler s(UniformResources(kNodes, kCores, kGpus, 0));
  uint64_t next_key = 0;
  int64_t placed_total = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < batch; ++i) {
      if (!s.Enqueue(next_key++, req, 0).ok()) state.SkipWithError("enqueue failed");
    }
    state.ResumeTiming();
    auto placed = s.Schedule();
    benchmark::DoNotOptimize(placed.data());
    state.PauseTiming();
    placed_total += static_cast<int64_t>(placed.size());
    if (placed.size() != static_cast<size_t>(batch)) state.SkipWithError("not all placed");
    for (auto& [key, p] : placed) s.Release(key, p);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(placed_total);
  state.SetLabel(Label(kind));
}
BENCHMARK(BM_Schedule)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// The whole cycle a task goes through in the scheduler: Enqueue (with its feasibility check),
// Schedule and Release.
void BM_EnqueueScheduleRelease(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const int batch = Batch(kind);
  const ResourceRequest req = Shape(kind);
  Scheduler s(UniformResources(kNodes, kCores, kGpus, 0));
  uint64_t next_key = 0;
  int64_t placed_total = 0;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) {
      if (!s.Enqueue(next_key++, req, 0).ok()) state.SkipWithError("enqueue failed");
    }
    auto placed = s.Schedule();
    placed_total += static_cast<int64_t>(placed.size());
    for (auto& [key, p] : placed) s.Release(key, p);
  }
  state.SetItemsProcessed(placed_total);
  state.SetLabel(Label(kind));
}
BENCHMARK(BM_EnqueueScheduleRelease)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One million tasks queued at once (1-core, three priorities), then scheduled in one call:
// the time covers enqueueing and placing all of them.
void BM_MillionQueued(benchmark::State& state) {
  constexpr int kTasks = 1000000;
  ResourceRequest req;
  int64_t placed_total = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto s = std::make_unique<Scheduler>(UniformResources(kNodes, kCores, kGpus, 0));
    state.ResumeTiming();
    for (int i = 0; i < kTasks; ++i) {
      if (!s->Enqueue(static_cast<uint64_t>(i), req, i % 3).ok()) {
        state.SkipWithError("enqueue failed");
      }
    }
    auto placed = s->Schedule();
    placed_total += static_cast<int64_t>(placed.size());
    state.PauseTiming();
    if (placed.size() != kTasks) state.SkipWithError("not all placed");
    placed.clear();
    s.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(placed_total);
}
BENCHMARK(BM_MillionQueued)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

// Placement rate with a queue kept between 900,000 and 1,000,000 deep: Schedule(1000) per
// iteration; placed tasks are released and requeued outside the timed region.
void BM_DeepQueue(benchmark::State& state) {
  constexpr int kDepth = 1000000;
  constexpr size_t kPerCall = 1000;
  ResourceRequest req;
  Scheduler s(UniformResources(kNodes, kCores, kGpus, 0));
  uint64_t next_key = 0;
  for (int i = 0; i < kDepth; ++i) {
    if (!s.Enqueue(next_key++, req, i % 3).ok()) state.SkipWithError("enqueue failed");
  }
  std::vector<std::pair<Scheduler::TaskKey, Placement>> running;
  int64_t placed_total = 0;
  for (auto _ : state) {
    auto placed = s.Schedule(kPerCall);
    placed_total += static_cast<int64_t>(placed.size());
    state.PauseTiming();
    for (auto& kp : placed) running.push_back(std::move(kp));
    if (s.queued() < static_cast<size_t>(kDepth) - 100000) {
      for (auto& [key, p] : running) {
        s.Release(key, p);
        if (!s.Enqueue(next_key++, req, static_cast<int>(key % 3)).ok()) {
          state.SkipWithError("enqueue failed");
        }
      }
      running.clear();
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(placed_total);
}
BENCHMARK(BM_DeepQueue)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace drc::runtime

BENCHMARK_MAIN();
