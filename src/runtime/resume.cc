#include "drc/runtime/resume.h"

#include <algorithm>
#include <unordered_set>

#include "drc/runtime/events.h"

namespace drc::runtime {

Result<ResumePlan> PlanResume(const std::string& events_path, std::vector<TaskDescription> tasks) {
  std::unordered_set<std::string> done;
  ResumePlan plan;
  DRC_RETURN_NOT_OK(ReadEvents(
      events_path,
      [&](const Event& e, int64_t) {
        if (e.kind == "pilot" && e.value == "start") ++plan.runs;
        if (e.kind == "state" && e.value == "DONE" && !e.task.empty()) done.insert(e.task);
        return Status::OK();
      },
      &plan.cut_lines));
  for (auto& task : tasks) {
    if (done.count(task.uid) > 0) {
      plan.done.push_back(task.uid);
      continue;
    }
    auto& deps = task.depends_on;
    deps.erase(std::remove_if(deps.begin(), deps.end(),
                              [&done](const std::string& d) { return done.count(d) > 0; }),
               deps.end());
    plan.remaining.push_back(std::move(task));
  }
  return plan;
}

}  // namespace drc::runtime
