// WorkerPool: the task manager's side of function tasks.
//
// Start() launches the worker program (worker.h) under mpirun with one process per core of the
// pilot — worker w serves core c of node n, w = (cores of the nodes before n) + c — and waits
// until every worker has said hello over ZeroMQ. Call() sends a function task to the workers
// that serve its placed cores (rank i of the task = the worker of its rank i's first core); the
// done callback fires once every rank has answered, with the first failure's message.
//
// Failure is never silent, and never a hang: when the pool's mpirun exits (a worker crashed, or
// was killed) every call in flight ends with the exit and the tail of the pool's stderr; a call
// past its timeout, or whose other ranks have not ended `failure_grace` after one rank failed,
// stops the whole pool (a function cannot be interrupted inside a shared process), and the
// other calls in flight end saying why. A stopped pool takes no calls; the task manager starts
// a fresh one for the next function task.
//
// Thread-safe. Callbacks run on the pool's I/O thread, its reaper thread, or the thread that
// called Kill; never with a pool lock held.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "drc/common/result.h"
#include "drc/runtime/launch.h"
#include "drc/runtime/resources.h"
#include "drc/runtime/scheduler.h"
#include "drc/runtime/task.h"

namespace drc::runtime {

struct WorkerPoolOptions {
  std::vector<std::string> command;  // the worker program; "--connect ENDPOINT" is appended
  const ResourceSpec* resources = nullptr;
  LaunchContext launch;  // mpirun, as_root and base_env are used
  std::string dir;       // where pool.out and pool.err go (exists)
  std::chrono::milliseconds start_timeout{60000};
  std::chrono::milliseconds kill_grace{2000};
  // After one rank of a call fails, how long its other ranks have to end before the pool is
  // stopped (they may wait for the failed rank in a collective that it never entered).
  std::chrono::milliseconds failure_grace{30000};
};

struct CallResult {
  bool ok = false;
  std::string error;   // why not, for the task's reason
  double start_s = 0;  // the first rank's start and the last rank's end (wall-clock seconds)
  double end_s = 0;
};

struct CallSpec {
  const TaskDescription* task = nullptr;
  const Placement* placement = nullptr;
  std::string workdir, stdout_path, stderr_path;
};

class WorkerPool {
 public:
  using DoneCallback = std::function<void(uint64_t key, const CallResult& result)>;

  static Result<std::unique_ptr<WorkerPool>> Start(WorkerPoolOptions options, DoneCallback done);
  // Asks the workers to stop, waits up to the grace period, then kills what is left. Calls
  // still in flight end as failed.
  ~WorkerPool();

  // Sends a call; `key` comes back in the done callback. Returns the workers (world ranks of the
  // pool) that serve the task's ranks, in rank order; Unavailable when the pool has stopped.
  Result<std::vector<int>> Call(uint64_t key, const CallSpec& spec);
  // Stops the pool at once. Each call in flight ends with `reason`, except `key`'s own, which
  // ends with `own_reason` (a timeout or a cancel).
  void Kill(uint64_t key, const std::string& own_reason, const std::string& reason);
  bool alive() const;
  int size() const;
  pid_t pid() const;  // the pool's mpirun

 private:
  WorkerPool() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drc::runtime
