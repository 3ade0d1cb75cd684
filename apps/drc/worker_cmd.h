// `drc worker --connect ENDPOINT`: one process of a run's worker pool (drc/runtime/worker.h).
// `drc run` and `drc bench tasks --kind function` start it under mpirun (`drc-dl worker` when a
// task names a dl.* function: only drc-dl loads libtorch); `drc worker --list` prints the
// functions that function tasks can name.
#pragma once

#include <string>

#include "drc/runtime/worker.h"

namespace drc::app {

// The functions that `drc worker` serves:
//   noop                       nothing (the runtime's own cost per call)
//   sleep      seconds=1       sleeps
//   allreduce  bytes=8 iters=1 sums float64 values over the task's communicator and checks them
//   data.join, data.groupby, data.sort, data.shuffle  rows=1000000 iters=1
//              `drc bench data` on the task's ranks; rank 0 writes its JSON line to stdout
Status RegisterBuiltinFunctions(runtime::FunctionRegistry& registry);
// drc-dl's worker adds (dl_functions.cc):
//   dl.forecast  data= models= h=24 input_size=24 steps=100 seed=1 freq= scaler= threads=
//                device= out= config= params= future= level= cv_windows= cv_step=
//                conformal_windows= conformal_step= conformal_method=
//                `drc forecast --json` on the task's ranks, data-parallel over its communicator,
//                each rank on its GPU (cuda:N of the scheduler's GPU ids) when the task has
//                gpus_per_rank, unless device= says otherwise; relative paths are relative to the
//                task's folder
//   dl.hydro     data=$DRC_DATA_DIR/camels_us_sample model=LSTM basins= train= test= epochs=
//                seq_length= hidden_size= learning_rate= dropout= batch_size= loss= seed=
//                threads= device= out=
//                `drc hydro --json` on the task's ranks, data-parallel; rank 0 prints a line per
//                basin, then the summary; out= writes the observed and simulated discharge
Status RegisterDeepLearningFunctions(runtime::FunctionRegistry& registry);

struct WorkerArgs {
  std::string connect;
  bool list = false;
};
// `more` registers further functions (drc-dl passes RegisterDeepLearningFunctions).
int RunWorkerCommand(const WorkerArgs& args,
                     Status (*more)(runtime::FunctionRegistry& registry) = nullptr);

}  // namespace drc::app
