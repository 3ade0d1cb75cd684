// The YAML task file of `drc run`: pilot resources plus a list of tasks.
//
//   worker: [bin/my_worker] # optional: the program that serves function tasks (worker.h)
//   pilot:                 # optional; default: detect this machine
//     nodes: 2             # an explicit (possibly simulated) pilot ...
//     cores: 8             # ... per node
//     gpus: 0
//     mem_mb: 0
//   tasks:
//     - uid: prep
//       executable: /usr/bin/python3
//       arguments: [prep.py, --out, data.parquet]
//       count: 4          # replicas prep.0 .. prep.3; depending on "prep" means on all four
//     - uid: train
//       ranks: 2
//       depends_on: [prep]
//     - uid: sort
//       function: data.sort  # a function task (worker.h): a registered function, not a program
//       args: {rows: 1000}    # its arguments, as text
//       ranks: 2
//
// Every field of TaskDescription is accepted under its name (stdout/stderr for the paths,
// mem_per_rank in MiB, timeout in seconds, args for function_args). Errors carry
// file:line:column and name the field; unknown fields are errors, with the closest known name
// suggested.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drc/common/result.h"
#include "drc/runtime/resources.h"
#include "drc/runtime/task.h"

namespace YAML {
class Node;
}

namespace drc::runtime {

struct TaskFile {
  std::optional<ResourceSpec> resources;  // absent: detect the local machine
  std::string workdir;                    // absent: chosen by the caller
  // The worker program of the function tasks and its arguments (`worker: [prog, args...]`);
  // a relative program path is relative to the file's folder. Absent: the caller's default.
  std::vector<std::string> worker;
  std::vector<TaskDescription> tasks;
};

Result<TaskFile> ParseTaskFile(std::string_view yaml, const std::string& file_name);
Result<TaskFile> LoadTaskFile(const std::string& path);

// Reads `pilot`, `workdir` and `worker` of a file's top-level mapping into `out` (the keys
// are optional; other keys are the caller's to check).
Status ParseRunSettings(const YAML::Node& root, const std::string& file_name, TaskFile& out);

// The tasks of a YAML list in the syntax above (`count` replicas expanded, a dependency on a
// replicated uid meaning all replicas), for files that hold tasks among other things (pipeline
// files). Errors name `file_name`:line:column.
Result<std::vector<TaskDescription>> ParseTaskList(const YAML::Node& tasks,
                                                   const std::string& file_name);

}  // namespace drc::runtime
