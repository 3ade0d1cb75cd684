// Resuming a run from its event log, the journal of what ended: `drc run --resume` runs again
// only the tasks that did not end DONE. The log is flushed at every final state and process start
// (JsonlEventSink), so a run killed at any point loses no task that ended and no process it
// started.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "drc/common/result.h"
#include "drc/runtime/task.h"

namespace drc::runtime {

// A process that a run started and never saw end: its task's last launch has no exit in the
// log. After a crash it may still be running (tasks run in process groups of their own).
// The worker pool of a run that did not stop (no pilot "stop" after its "workers" event) is
// left running too: uid "worker pool", and its folder instead of a task's.
struct LeftRunning {
  std::string uid;
  int pid = 0;         // its process group too
  std::string folder;  // where it works; empty: the task's folder
};

struct ResumePlan {
  // The tasks still to run, in their order, without the DONE tasks in their depends_on.
  std::vector<TaskDescription> remaining;
  std::vector<std::string> done;          // the uids that ended DONE in a run of the log
  int runs = 0;                           // runs the log records
  int64_t cut_lines = 0;                  // lines cut off by a crash, skipped
  std::vector<LeftRunning> left_running;  // of the tasks in `remaining`, and worker pools
};

// What is left of `tasks` after the runs recorded in `events_path`: a task is DONE when any run
// in the log ended it DONE (matched by uid; uids the log has and `tasks` has not are ignored).
// IOError when the log cannot be read, InvalidArgument for a malformed one (ReadEvents).
Result<ResumePlan> PlanResume(const std::string& events_path, std::vector<TaskDescription> tasks);

// Ends what a crashed run left running before its tasks run again in the same folders: each
// process of `plan.left_running` that is alive, leads its process group and still works in its
// task's folder (the task's workdir, else `workdir`/uid, or the pool's folder; so a reused pid
// is left alone) gets
// SIGTERM on its group, then SIGKILL after `grace`. Returns "uid (pid N)" for each one stopped.
// A run killed between a spawn and its journal record (microseconds) leaves that process
// unknown; it is not stopped.
std::vector<std::string> StopLeftRunning(const ResumePlan& plan, const std::string& workdir,
                                         std::chrono::milliseconds grace);

}  // namespace drc::runtime
