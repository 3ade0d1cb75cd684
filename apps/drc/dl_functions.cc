// The deep-learning functions of `drc-dl worker` (see worker_cmd.h).
#include <cstdlib>
#include <filesystem>

#include "drc/common/strings.h"
#include "forecast_cmd.h"
#include "worker_cmd.h"

namespace drc::app {
namespace {

using runtime::FunctionCall;

// Relative paths are relative to the task's folder, as for an executable task.
std::string InTaskFolder(const FunctionCall& call, const std::string& path) {
  return path.empty() || path.front() == '/' ? path : call.workdir + "/" + path;
}

// `drc forecast --json` on the task's ranks (data-parallel over its communicator when it has
// more than one); rank 0 writes the per-model lines to the task's stdout.
Status ForecastFunction(FunctionCall& call) {
  ForecastArgs args;
  DRC_ASSIGN_OR_RETURN(args.data, call.Arg("data"));
  DRC_ASSIGN_OR_RETURN(args.models, call.Arg("models"));
  // `$DRC_DATA_DIR/...` is the bundled data (drc run sets the variable, as for executable tasks).
  const std::string data_var = "$DRC_DATA_DIR/";
  const char* data_dir = std::getenv("DRC_DATA_DIR");
  if (args.data.rfind(data_var, 0) == 0 && data_dir != nullptr) {
    args.data = std::string(data_dir) + "/" + args.data.substr(data_var.size());
  }
  args.data = InTaskFolder(call, args.data);
  DRC_ASSIGN_OR_RETURN(int64_t h, call.IntArg("h", 24));
  DRC_ASSIGN_OR_RETURN(int64_t input_size, call.IntArg("input_size", 24));
  DRC_ASSIGN_OR_RETURN(int64_t steps, call.IntArg("steps", 100));
  DRC_ASSIGN_OR_RETURN(int64_t seed, call.IntArg("seed", 1));
  DRC_ASSIGN_OR_RETURN(int64_t threads, call.IntArg("threads", call.threads));
  if (h < 1 || input_size < 1 || steps < 1 || threads < 1) {
    return Status::InvalidArgument("dl.forecast: h, input_size, steps and threads must be >= 1");
  }
  args.horizon = static_cast<int>(h);
  args.input_size = static_cast<int>(input_size);
  args.steps = static_cast<int>(steps);
  args.seed = static_cast<uint64_t>(seed);
  args.threads = static_cast<int>(threads);
  args.freq = call.Arg("freq", "");
  args.scaler = call.Arg("scaler", "");
  // The rank's GPU (the scheduler's choice for the task) unless the task names a device.
  args.device =
      call.Arg("device", call.gpus.empty() ? "cpu" : "cuda:" + std::to_string(call.gpus[0]));
  args.out = InTaskFolder(call, call.Arg("out", ""));
  // Hyper-parameter overrides: a config file (as --config) and MODEL.KEY=VALUE items separated
  // by ';' (as --param).
  args.model_config = InTaskFolder(call, call.Arg("config", ""));
  for (auto& item : SplitList(call.Arg("params", ""), ';')) args.params.push_back(std::move(item));
  args.json = true;
  return ForecastToStream(args, call.comm, *call.out);
}

}  // namespace

Status RegisterDeepLearningFunctions(runtime::FunctionRegistry& registry) {
  return registry.Register(
      "dl.forecast", ForecastFunction,
      "data= models= h=24 input_size=24 steps=100 seed=1 freq= scaler= threads= device= out= "
      "config= params=M.K=V;...: "
      "drc forecast --json on the task's ranks (data-parallel; each rank on its GPU when the "
      "task has gpus_per_rank); rank 0 prints a line per model");
}

}  // namespace drc::app
