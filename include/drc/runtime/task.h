// Task descriptions and task states.
//
// A TaskDescription is plain data filled by the C++ API or the YAML task file; Validate()
// names the field and the problem. The runtime never passes argv through a shell unless the
// task asks for one (`shell: true`, then `executable` is a shell command line).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "drc/common/result.h"

namespace drc::runtime {

enum class TaskState : uint8_t {
  kNew,
  kScheduling,
  kStagingIn,
  kExecuting,
  kStagingOut,
  kDone,
  kFailed,
  kCanceled,
};
std::string_view TaskStateName(TaskState state);  // "NEW", "SCHEDULING", ...
bool IsFinal(TaskState state);

enum class LaunchMethod : uint8_t { kAuto, kFork, kMpirun, kSrun };
std::string_view LaunchMethodName(LaunchMethod method);
Result<LaunchMethod> ParseLaunchMethod(std::string_view text);

enum class StagingAction : uint8_t { kCopy, kLink, kMove };

// "{uid}" in either path is replaced by the task's uid.
struct StagingDirective {
  std::string source;  // relative paths are relative to the run's work directory (input) or
  std::string target;  // the task's working directory (output source / input target)
  StagingAction action = StagingAction::kCopy;
};

struct TaskDescription {
  std::string uid;   // unique within a run; generated ("task.000042") when empty
  std::string name;  // free text for humans

  std::string executable;
  std::vector<std::string> arguments;
  // A function task names a function registered in the worker program (worker.h) instead of
  // an executable: it runs in the pilot's persistent worker processes, one worker per rank,
  // with a communicator private to the task. `function_args` reach it as FunctionCall::args.
  std::string function;
  std::map<std::string, std::string> function_args;
  bool shell = false;  // run `executable` with /bin/sh -c (arguments must be empty)
  std::map<std::string, std::string> environment;
  std::string workdir;  // default: <run workdir>/<uid>

  int ranks = 1;
  int cores_per_rank = 1;
  int gpus_per_rank = 0;
  int64_t mem_per_rank_mb = 0;
  int threads_per_rank = 0;  // OMP_NUM_THREADS; 0 = cores_per_rank

  std::vector<std::string> pre_exec;   // shell lines run before the task, in its workdir
  std::vector<std::string> post_exec;  // shell lines run after a successful task
  std::vector<StagingDirective> input_staging;
  std::vector<StagingDirective> output_staging;
  std::string stdout_path;  // default: <workdir>/<uid>.out
  std::string stderr_path;  // default: <workdir>/<uid>.err

  int priority = 0;        // higher runs first
  double timeout_s = 0;    // 0 = none; on expiry the process group gets TERM, then KILL
  int retries = 0;         // extra attempts after a failure (not after cancel)
  std::string colocate;    // tasks with the same tag share node(s)
  bool exclusive = false;  // no other task on this task's nodes

  std::vector<std::string> depends_on;        // uids that must be DONE first
  LaunchMethod launch = LaunchMethod::kAuto;  // auto: fork for 1 rank, else mpirun

  // Per-rank MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE for
  // PyTorch-style frameworks, and TF_CONFIG when tf_config is set.
  bool framework_env = false;
  bool tf_config = false;
};

// Checks one description on its own (not its dependencies). The message starts with the
// task uid (or "task") and names the field: "task 'a': ranks must be >= 1, got 0".
Status Validate(const TaskDescription& task);

}  // namespace drc::runtime
