#include "drc/runtime/task.h"

#include <set>

namespace drc::runtime {

std::string_view TaskStateName(TaskState state) {
  switch (state) {
    case TaskState::kNew: return "NEW";
    case TaskState::kScheduling: return "SCHEDULING";
    case TaskState::kStagingIn: return "STAGING_IN";
    case TaskState::kExecuting: return "EXECUTING";
    case TaskState::kStagingOut: return "STAGING_OUT";
    case TaskState::kDone: return "DONE";
    case TaskState::kFailed: return "FAILED";
    case TaskState::kCanceled: return "CANCELED";
  }
  return "UNKNOWN";
}

bool IsFinal(TaskState state) {
  return state == TaskState::kDone || state == TaskState::kFailed || state == TaskState::kCanceled;
}

std::string_view LaunchMethodName(LaunchMethod method) {
  switch (method) {
    case LaunchMethod::kAuto: return "auto";
    case LaunchMethod::kFork: return "fork";
    case LaunchMethod::kMpirun: return "mpirun";
    case LaunchMethod::kSrun: return "srun";
  }
  return "unknown";
}

Result<LaunchMethod> ParseLaunchMethod(std::string_view text) {
  for (LaunchMethod m :
       {LaunchMethod::kAuto, LaunchMethod::kFork, LaunchMethod::kMpirun, LaunchMethod::kSrun}) {
    if (text == LaunchMethodName(m)) return m;
  }
  return Status::InvalidArgument("unknown launch method '", text,
                                 "' (expected auto, fork, mpirun or srun)");
}

Status Validate(const TaskDescription& task) {
  const std::string who = task.uid.empty() ? std::string("task") : "task '" + task.uid + "'";
  auto bad = [&](auto&&... parts) {
    return Status::InvalidArgument(who, ": ", std::forward<decltype(parts)>(parts)...);
  };
  if (task.executable.empty() && task.function.empty()) {
    return bad("executable (or function) is required");
  }
  if (!task.function.empty()) {
    // A function runs inside a shared worker process: what a process of its own would give a
    // task cannot be given to one function call.
    auto unsupported = [&](const char* field) {
      return bad("a function task cannot have '", field,
                 "' (functions run in the shared worker processes; use an executable task)");
    };
    if (!task.executable.empty()) return bad("has both executable and function; give one");
    if (!task.arguments.empty()) return unsupported("arguments");
    if (task.shell) return unsupported("shell");
    if (!task.environment.empty()) return unsupported("environment");
    if (!task.pre_exec.empty()) return unsupported("pre_exec");
    if (!task.post_exec.empty()) return unsupported("post_exec");
    if (task.framework_env || task.tf_config) return unsupported("framework_env");
    if (task.launch != LaunchMethod::kAuto) return unsupported("launch");
  }
  if (task.shell && !task.arguments.empty()) {
    return bad("arguments must be empty when shell is true (put them in the command line)");
  }
  if (task.ranks < 1) return bad("ranks must be >= 1, got ", task.ranks);
  if (task.cores_per_rank < 1) return bad("cores_per_rank must be >= 1, got ", task.cores_per_rank);
  if (task.gpus_per_rank < 0) return bad("gpus_per_rank must be >= 0, got ", task.gpus_per_rank);
  if (task.mem_per_rank_mb < 0) {
    return bad("mem_per_rank must be >= 0, got ", task.mem_per_rank_mb, " MiB");
  }
  if (task.threads_per_rank < 0) {
    return bad("threads_per_rank must be >= 0, got ", task.threads_per_rank);
  }
  if (task.timeout_s < 0) return bad("timeout must be >= 0 seconds, got ", task.timeout_s);
  if (task.retries < 0) return bad("retries must be >= 0, got ", task.retries);
  if (task.launch == LaunchMethod::kFork && task.ranks > 1) {
    return bad("launch method fork runs one rank, but ranks is ", task.ranks,
               " (use mpirun or srun)");
  }
  for (const auto& [key, value] : task.environment) {
    if (key.empty() || key.find('=') != std::string::npos) {
      return bad("environment variable name '", key, "' is empty or contains '='");
    }
  }
  for (const auto* list : {&task.input_staging, &task.output_staging}) {
    for (const auto& d : *list) {
      if (d.source.empty() || d.target.empty()) {
        return bad(list == &task.input_staging ? "input_staging" : "output_staging",
                   " entries need both source and target");
      }
    }
  }
  std::set<std::string> deps;
  for (const auto& dep : task.depends_on) {
    if (dep == task.uid && !dep.empty()) return bad("depends on itself");
    if (!deps.insert(dep).second) return bad("depends_on lists '", dep, "' twice");
  }
  return Status::OK();
}

}  // namespace drc::runtime
