// Resuming a run from its event log, the journal of what ended: `drc run --resume` runs again
// only the tasks that did not end DONE. The log is flushed at every final state
// (JsonlEventSink), so a run killed at any point loses no task that ended.
#pragma once

#include <string>
#include <vector>

#include "drc/common/result.h"
#include "drc/runtime/task.h"

namespace drc::runtime {

struct ResumePlan {
  // The tasks still to run, in their order, without the DONE tasks in their depends_on.
  std::vector<TaskDescription> remaining;
  std::vector<std::string> done;  // the uids that ended DONE in a run of the log
  int runs = 0;                   // runs the log records
  int64_t cut_lines = 0;          // lines cut off by a crash, skipped
};

// What is left of `tasks` after the runs recorded in `events_path`: a task is DONE when any run
// in the log ended it DONE (matched by uid; uids the log has and `tasks` has not are ignored).
// IOError when the log cannot be read, InvalidArgument for a malformed one (ReadEvents).
Result<ResumePlan> PlanResume(const std::string& events_path, std::vector<TaskDescription> tasks);

}  // namespace drc::runtime
