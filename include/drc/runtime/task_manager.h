// TaskManager: the client API of the local pilot runtime.
//
// It owns a Scheduler (placement), a ProcessManager (processes) and one control thread that
// drives tasks through NEW -> SCHEDULING -> STAGING_IN -> EXECUTING -> STAGING_OUT -> DONE |
// FAILED | CANCELED. Every transition is time-stamped, emitted as an Event (events.jsonl in the
// work directory plus any added sinks) and passed to the state callbacks. A task with
// dependencies waits in NEW until they are all DONE and is CANCELED with the reason when one of
// them fails or is canceled. A task that can never fit on the pilot fails at once with the
// reason; a missing executable fails that task only. Function tasks (TaskDescription::function)
// are placed like any task and run on the persistent worker pool (worker_pool.h). Retries re-run a
// failed attempt (not a canceled or timed-out-by-cancel one) up to TaskDescription::retries times.
//
// Thread-safe: Submit, Cancel, Query, Wait and Counts may be called from any thread. Callbacks
// run on a runtime thread (the control thread, or the thread that reaps processes), one at a
// time; they must not block, and must not call Wait.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drc/common/clock.h"
#include "drc/common/result.h"
#include "drc/runtime/events.h"
#include "drc/runtime/launch.h"
#include "drc/runtime/resources.h"
#include "drc/runtime/scheduler.h"
#include "drc/runtime/task.h"

namespace drc::runtime {

struct RuntimeOptions {
  ResourceSpec resources;
  std::string workdir;  // created if missing; holds events.jsonl and the task directories
  SchedulerOptions scheduler;
  LaunchContext launch;  // resources and base_env are filled in by Make when left empty
  std::vector<std::shared_ptr<EventSink>> sinks;  // in addition to <workdir>/events.jsonl
  std::chrono::milliseconds kill_grace{2000};
  // The worker program for function tasks (worker.h), e.g. {"/path/to/drc", "worker"}. The
  // pool starts at the first function task, one worker per core of the pilot, and stays up
  // until the task manager ends. Empty: function tasks fail saying that there is none.
  std::vector<std::string> worker_command;
  std::chrono::milliseconds worker_start_timeout{60000};
  // After one rank of a function task fails, how long the others may take to end before the
  // pool is stopped (WorkerPoolOptions::failure_grace).
  std::chrono::milliseconds worker_failure_grace{30000};
  const Clock* clock = nullptr;  // default RealClock()
};

struct TaskInfo {
  std::string uid;
  TaskState state = TaskState::kNew;
  int attempt = 0;
  std::string reason;  // why FAILED or CANCELED
  std::string exit;    // the last process exit, described ("exit code 3")
  std::string workdir;
  std::string stdout_path;
  std::string stderr_path;
  std::vector<std::string> nodes;  // where the last attempt ran, one entry per rank
  // Wall-clock time of the first entry into each state (0 = never), indexed by TaskState.
  std::array<double, 8> times{};
};

using StateCounts = std::array<int64_t, 8>;  // indexed by TaskState

// What a task asks of the pilot's resources.
ResourceRequest RequestOf(const TaskDescription& d);

// What Submit checks of a batch before it takes any of it, for use without a run (drc run
// --check): each description is valid (Validate); a uid (empty: Submit generates one) has no
// '/' and is used once in the batch and not by a task already `submitted` (null: none);
// dependencies name tasks of the batch or submitted ones; no cycle. Whether tasks fit the pilot is
// Placer::CheckFeasible's.
Status CheckBatch(const std::vector<TaskDescription>& batch,
                  const std::function<bool(const std::string&)>& submitted = nullptr);

class TaskManager {
 public:
  using StateCallback = std::function<void(const TaskInfo&)>;

  static Result<std::unique_ptr<TaskManager>> Make(RuntimeOptions options);
  // Cancels unfinished tasks, waits for their processes and flushes the events.
  ~TaskManager();

  // Submits tasks; dependencies may refer to tasks of the same batch or submitted before.
  // Returns the uids (generated where empty). Validation errors, duplicate uids, unknown
  // dependencies and cycles reject the whole batch (nothing is submitted); infeasible resource
  // requests do not: those tasks fail at once with the reason.
  Result<std::vector<std::string>> Submit(std::vector<TaskDescription> tasks);
  Result<std::string> Submit(TaskDescription task);

  // Cancels a task that is not final (its process group is killed); `reason` becomes its
  // final state's. NotFound for unknown uids.
  Status Cancel(const std::string& uid, std::string reason = "canceled by the user");
  Result<TaskInfo> Query(const std::string& uid) const;
  std::vector<TaskInfo> QueryAll() const;
  StateCounts Counts() const;

  // Waits until every submitted task is final, or the timeout passes (Timeout).
  Status WaitAll(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  Status Wait(const std::string& uid, std::optional<std::chrono::milliseconds> timeout = {});

  // Called for every state change, on the control thread.
  void OnStateChange(StateCallback callback);

  // Writes and syncs the events so far (events.jsonl and the options' sinks); the first error
  // any sink met since the start (a full disk: the journal lacks lines, and --resume may run
  // finished tasks again).
  Status FlushEvents();

  const ResourceSpec& resources() const;
  const std::string& workdir() const;

 private:
  TaskManager() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drc::runtime
