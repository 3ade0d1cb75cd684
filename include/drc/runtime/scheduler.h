// Placement of tasks on a pilot's resources.
//
// Placer is the resource map: which cores, GPUs and memory of which node are free. It places
// one request (ranks x (cores, GPUs, memory)), packing ranks onto as few nodes as possible,
// honouring co-location tags and exclusive requests, and gives each rank explicit core and GPU
// ids (GPU ids become CUDA_VISIBLE_DEVICES). A request that cannot fit even on the empty pilot
// is rejected by CheckFeasible with the reason, so no task ever waits forever.
//
// Scheduler is the continuous scheduling policy on top: a queue ordered by priority (higher
// first), FIFO within a priority; when the head does not fit, smaller tasks behind it are
// backfilled into the free resources (at most `backfill_depth` queued tasks are examined per
// Schedule call, so a full queue never makes scheduling quadratic). To keep a large task from
// starving, once a head task has been passed over `max_head_skips` times the scheduler stops
// backfilling until it runs.
//
// Neither class is thread-safe; the runtime drives them from one thread. Neither reads a clock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drc/common/result.h"
#include "drc/runtime/resources.h"

namespace drc::runtime {

struct ResourceRequest {
  int ranks = 1;
  int cores_per_rank = 1;
  int gpus_per_rank = 0;
  int64_t mem_per_rank_mb = 0;
  std::string colocate;    // same tag -> same node(s) as the first task placed with it
  bool exclusive = false;  // the task's nodes carry no other task while it runs
};

struct RankPlacement {
  int32_t node = -1;
  std::vector<int32_t> cores;
  std::vector<int32_t> gpus;
  int64_t mem_mb = 0;
};

struct Placement {
  std::vector<RankPlacement> ranks;  // ranks[i] is rank i; ranks on one node are adjacent
};

class Placer {
 public:
  explicit Placer(ResourceSpec resources);
  ~Placer();
  Placer(Placer&&) noexcept;
  Placer& operator=(Placer&&) noexcept;

  // OK if the request could fit on the empty pilot; else InvalidArgument saying why
  // ("needs 4 GPUs per rank but the largest node has 2").
  Status CheckFeasible(const ResourceRequest& request) const;
  // A placement if the request fits now (resources are then taken), else nullopt.
  std::optional<Placement> TryPlace(const ResourceRequest& request);
  // Returns what a placement took. Each placement must be released exactly once.
  void Release(const Placement& placement, const ResourceRequest& request);

  const ResourceSpec& resources() const;
  int64_t free_cores() const;
  int64_t free_gpus() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct SchedulerOptions {
  size_t backfill_depth = 1024;
  int max_head_skips = 10000;
};

class Scheduler {
 public:
  using TaskKey = uint64_t;

  Scheduler(ResourceSpec resources, SchedulerOptions options = {});
  ~Scheduler();

  // Queues a task. InvalidArgument (from CheckFeasible) if it can never fit; AlreadyExists if
  // the key is queued already.
  Status Enqueue(TaskKey key, const ResourceRequest& request, int priority);
  // Removes a queued task (e.g. canceled). False if it is not queued.
  bool Remove(TaskKey key);
  // Places queued tasks that fit now, in policy order; at most `max` of them.
  std::vector<std::pair<TaskKey, Placement>> Schedule(size_t max = SIZE_MAX);
  // Frees what a placed task took (it finished, failed or was canceled).
  void Release(TaskKey key, const Placement& placement);

  size_t queued() const;
  size_t running() const;
  const Placer& placer() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drc::runtime
