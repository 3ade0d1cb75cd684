#include "drc/runtime/resume.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "drc/runtime/events.h"

namespace drc::runtime {
namespace fs = std::filesystem;

Result<ResumePlan> PlanResume(const std::string& events_path, std::vector<TaskDescription> tasks) {
  std::unordered_set<std::string> done;
  std::unordered_map<std::string, int> launched;  // uid -> pid of a launch without its exit
  std::vector<LeftRunning> pools;                 // started by runs that have not stopped (yet)
  ResumePlan plan;
  DRC_RETURN_NOT_OK(ReadEvents(
      events_path,
      [&](const Event& e, int64_t) {
        if (e.kind == "pilot" && e.value == "start") ++plan.runs;
        if (e.kind == "pilot" && e.value == "stop") pools.clear();
        if (e.kind == "pilot" && e.value == "workers") {
          // "2 workers up (mpirun pid 1234, /run/worker-pool.0)"
          const std::string key = "(mpirun pid ";
          const size_t at = e.detail.find(key), comma = e.detail.find(", ", at);
          if (at != std::string::npos && comma != std::string::npos && e.detail.back() == ')') {
            const size_t folder = comma + 2;
            pools.push_back({"worker pool", std::atoi(e.detail.c_str() + at + key.size()),
                             e.detail.substr(folder, e.detail.size() - 1 - folder)});
          }
        }
        if (e.task.empty()) return Status::OK();
        if (e.kind == "state" && e.value == "DONE") done.insert(e.task);
        if (e.kind == "launch" && e.value == "start") {
          // "pid 1234 fork"
          if (e.detail.rfind("pid ", 0) == 0) launched[e.task] = std::atoi(e.detail.c_str() + 4);
        } else if (e.kind == "exit") {
          launched.erase(e.task);
        }
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
    if (auto it = launched.find(task.uid); it != launched.end() && it->second > 0) {
      plan.left_running.push_back({task.uid, it->second, ""});
    }
    plan.remaining.push_back(std::move(task));
  }
  for (auto& pool : pools) {
    if (pool.pid > 0) plan.left_running.push_back(std::move(pool));
  }
  return plan;
}

std::vector<std::string> StopLeftRunning(const ResumePlan& plan, const std::string& workdir,
                                         std::chrono::milliseconds grace) {
  std::unordered_map<std::string, const TaskDescription*> by_uid;
  for (const auto& t : plan.remaining) by_uid[t.uid] = &t;
  std::vector<std::pair<std::string, pid_t>> stopped;
  for (const auto& left : plan.left_running) {
    fs::path folder = left.folder;
    if (folder.empty()) {
      auto it = by_uid.find(left.uid);
      if (it == by_uid.end()) continue;
      folder = it->second->workdir.empty() ? fs::path(workdir) / left.uid
                                           : fs::path(it->second->workdir);
    }
    const pid_t pid = left.pid;
    if (::getpgid(pid) != pid) continue;  // gone, or no longer a task's group leader
    std::error_code ec;
    const fs::path cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
    if (ec || cwd != fs::weakly_canonical(folder, ec)) continue;
    if (::kill(-pid, SIGTERM) == 0) {
      stopped.emplace_back(left.uid + " (pid " + std::to_string(pid) + ")", pid);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (const auto& [what, pid] : stopped) {
    while (::kill(-pid, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(-pid, SIGKILL);  // ESRCH when the group has ended
  }
  std::vector<std::string> names;
  for (const auto& s : stopped) names.push_back(s.first);
  return names;
}

}  // namespace drc::runtime
