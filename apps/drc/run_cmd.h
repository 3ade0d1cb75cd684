// `drc run FILE.yaml`, `drc bench tasks` and `drc profile`: the local pilot runtime from the
// command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "drc/pipeline/pipeline.h"

namespace drc::app {

struct RunArgs {
  std::string file;
  std::string workdir;         // default: the file's workdir, else ./drc-run-<time>
  std::string pilot = "auto";  // auto (slurm inside a Slurm job, else local), local or slurm
  int cores = 0;               // 0: the file's pilot, else detected
  int gpus = -1;               // -1: the file's pilot, else detected
  bool resume = false;
  bool quiet = false;    // no progress display
  bool check = false;    // check the file and list its tasks; run nothing
  std::string data_dir;  // the bundled data, given to tasks as DRC_DATA_DIR unless it is set
  std::string worker;    // the worker program of function tasks (default: the file's, else drc's)
};
int RunTaskFile(const RunArgs& args);
// A pipeline planned in code (`drc demo`): run as `drc run` runs a pipeline file, its report
// at the end; `args.file` names it in messages.
int RunPipeline(const RunArgs& args, const pipeline::Pipeline& plan);

struct BenchTasksArgs {
  int64_t n = 1000;
  std::string kind = "exec";      // exec: /bin/true; function: a call on the worker pool
  std::string function = "noop";  // --kind function: what each task calls (drc worker --list)
  std::vector<std::string> function_args;  // KEY=VALUE
  int ranks = 1;
  int cores = 0;        // pilot cores; 0 = detected
  std::string workdir;  // where the run folder goes; default /dev/shm, else temp
  bool json = false;
  bool baseline = true;  // also time a raw posix_spawn loop of /bin/true
};
int BenchTasks(const BenchTasksArgs& args);

// `drc profile WORKDIR`: the utilization, overhead and timeline report of a run, read from
// WORKDIR/events.jsonl (or WORKDIR itself, when it is the log).
struct ProfileArgs {
  std::string workdir;
  std::string out;  // default: WORKDIR/profile
  bool json = false;
};
int ProfileRun(const ProfileArgs& args);

}  // namespace drc::app
