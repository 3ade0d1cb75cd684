// Launch methods: how a placed task becomes a command line.
//
//  - fork:   one rank, the executable itself (no shell unless the task asks for one);
//  - mpirun: OpenMPI's mpirun with the placement's hosts and slots;
//  - srun:   Slurm's srun inside an allocation, with the placement's node list.
// Per-rank environment: DRC_TASK_ID, DRC_RANK, DRC_RANKS, DRC_NODE, OMP_NUM_THREADS,
// CUDA_VISIBLE_DEVICES (the rank's GPUs, or empty for a CPU task on a GPU pilot), and for
// framework tasks MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE (and
// TF_CONFIG when asked). Multi-rank launches write a small per-task launch script that sets
// the per-rank variables from the launcher's rank variable and then execs the task, so users
// can read exactly what ran.
#pragma once

#include <string>
#include <vector>

#include "drc/common/result.h"
#include "drc/runtime/process.h"
#include "drc/runtime/resources.h"
#include "drc/runtime/scheduler.h"
#include "drc/runtime/task.h"

namespace drc::runtime {

struct LaunchContext {
  const ResourceSpec* resources = nullptr;
  std::vector<std::string> base_env;  // the environment every task starts from ("K=V")
  std::string mpirun = "mpirun";      // path or name of the launchers
  std::string srun = "srun";
  bool as_root = false;     // add OpenMPI's allow-run-as-root flags
  int master_port = 29500;  // MASTER_PORT for framework tasks (+ attempt offset)
};

// Builds the process to start for `task` at `placement`. `workdir` exists; launch scripts are
// written there. stdout/stderr paths are taken from the task (already defaulted by the caller).
Result<ProcessSpec> BuildLaunch(const TaskDescription& task, const Placement& placement,
                                const LaunchContext& context, const std::string& workdir);

// The launch method that kAuto resolves to for this task.
LaunchMethod ResolveLaunchMethod(const TaskDescription& task);

}  // namespace drc::runtime
