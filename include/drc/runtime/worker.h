// The worker side of function tasks: registered functions and the worker loop.
//
// A worker program (`drc worker`, or a test binary) fills a FunctionRegistry and calls
// RunWorker. The task manager starts the program once per pilot as a pool of processes under
// mpirun, one per core of the pilot (WorkerPool, worker_pool.h); the processes stay up for the
// whole run. For each function task the workers that serve the task's placed cores build a
// communicator private to the task (MPI_Comm_create_group over the pool's world, the way
// Radical-Cylon's Raptor workers do), call the function once on each rank with it, free it, and
// report the outcome (a one-rank task gets the worker's own one-rank communicator, kept between
// calls). Everything the function needs is in FunctionCall; what it returns (OK, an
// error Status, or a thrown exception) becomes the task's DONE or FAILED with the message.
//
// A function shares its process with the functions that run on that worker before and after
// it: it must not exit, must free what it allocates, and must not keep the communicator.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "drc/comm/communicator.h"
#include "drc/common/result.h"

namespace drc::runtime {

struct FunctionCall {
  std::string task_uid;
  std::string function;
  const std::map<std::string, std::string>* args = nullptr;
  comm::Communicator* comm = nullptr;  // private to this task; rank i = the task's rank i
  int threads = 1;                     // cores this rank holds (use at most this many threads)
  std::vector<int> gpus;               // device ordinals of this rank on its node
  std::string workdir;                 // the task's folder (exists)
  std::ostream* out = nullptr;         // the task's stdout and stderr files; every rank
  std::ostream* err = nullptr;         // appends to them (flush whole lines to keep them whole)

  // An argument as text; InvalidArgument naming the task, function and argument if missing.
  Result<std::string> Arg(std::string_view name) const;
  std::string Arg(std::string_view name, std::string_view fallback) const;
  // An integer, number or true/false argument; `fallback` when absent; InvalidArgument when
  // malformed.
  Result<int64_t> IntArg(std::string_view name, int64_t fallback) const;
  Result<double> DoubleArg(std::string_view name, double fallback) const;
  Result<bool> BoolArg(std::string_view name, bool fallback) const;
};

using Function = std::function<Status(FunctionCall& call)>;

class FunctionRegistry {
 public:
  // AlreadyExists when the name is taken; InvalidArgument for an empty name.
  Status Register(std::string name, Function function, std::string help = "");
  const Function* Find(std::string_view name) const;
  std::vector<std::string> Names() const;         // sorted
  std::string Help(std::string_view name) const;  // "" when unknown

 private:
  struct Entry {
    Function function;
    std::string help;
  };
  std::map<std::string, Entry, std::less<>> functions_;
};

struct WorkerOptions {
  std::string connect;          // the task manager's endpoint ("tcp://127.0.0.1:PORT")
  std::string backend = "mpi";  // the pool's world communicator
  // A worker that hears nothing from the task manager for this long (it sends a heartbeat every
  // second) concludes that the run is gone and exits, so a killed drc leaves no workers behind;
  // in the middle of a call it ends its process, which ends the pool. The environment variable
  // DRC_WORKER_SILENCE_S overrides it.
  double silence_s = 30;
};

// Runs this process as one worker of a pool until the task manager says stop (OK) or falls
// silent (Unavailable). Errors: the world communicator or the connection cannot be made.
Status RunWorker(const FunctionRegistry& registry, const WorkerOptions& options);

// The whole main() of a worker program: reads `--connect ENDPOINT` from the command line, runs
// RunWorker, prints an error to stderr; returns the exit code. A program of your own functions
// (examples/custom_worker.cc) is a registry and this call; `drc run --worker PROGRAM` (or
// `worker:` in the task file) makes it the run's worker program.
int WorkerMain(const FunctionRegistry& registry, int argc, char** argv);

}  // namespace drc::runtime
