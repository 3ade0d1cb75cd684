// The deep-learning functions of `drc-dl worker` (see worker_cmd.h).
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "drc/common/strings.h"
#include "forecast_cmd.h"
#include "hydro_cmd.h"
#include "worker_cmd.h"

namespace drc::app {
namespace {

using runtime::FunctionCall;

// Relative paths are relative to the task's folder, as for an executable task.
std::string InTaskFolder(const FunctionCall& call, const std::string& path) {
  return path.empty() || path.front() == '/' ? path : call.workdir + "/" + path;
}

// A data path argument: `$DRC_DATA_DIR/...` is the bundled data (drc run sets the variable, as
// for executable tasks); relative paths are relative to the task's folder.
std::string DataPath(const FunctionCall& call, std::string path) {
  const std::string data_var = "$DRC_DATA_DIR/";
  const char* data_dir = std::getenv("DRC_DATA_DIR");
  if (path.rfind(data_var, 0) == 0 && data_dir != nullptr) {
    path = std::string(data_dir) + "/" + path.substr(data_var.size());
  }
  return InTaskFolder(call, path);
}

// An integer argument >= 0 that fits an int into `out`, which keeps its value when absent.
Status CountArg(const FunctionCall& call, const char* name, int& out) {
  DRC_ASSIGN_OR_RETURN(const int64_t v, call.IntArg(name, out));
  if (v < 0 || v > std::numeric_limits<int>::max()) {
    return Status::InvalidArgument(call.function, ": ", name, "=", v, ": expected >= 0");
  }
  out = static_cast<int>(v);
  return Status::OK();
}

// The rank's GPU (the scheduler's choice for the task) unless the task names a device.
std::string Device(const FunctionCall& call) {
  return call.Arg("device", call.gpus.empty() ? "cpu" : "cuda:" + std::to_string(call.gpus[0]));
}

// `drc forecast --json` on the task's ranks (data-parallel over its communicator when it has
// more than one); rank 0 writes the per-model lines to the task's stdout.
Status ForecastFunction(FunctionCall& call) {
  ForecastArgs args;
  DRC_ASSIGN_OR_RETURN(args.data, call.Arg("data"));
  DRC_ASSIGN_OR_RETURN(args.models, call.Arg("models"));
  args.data = DataPath(call, args.data);
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
  args.loss = call.Arg("loss", "");
  args.futr_exog = call.Arg("futr_exog", "");
  args.hist_exog = call.Arg("hist_exog", "");
  args.stat_exog = call.Arg("stat_exog", "");
  args.cat_exog = call.Arg("cat_exog", "");
  args.cat_emb_dim = call.Arg("cat_emb_dim", "fastai");
  if (const std::string s = call.Arg("hierarchy", ""); !s.empty()) {
    args.hierarchy = DataPath(call, s);
  }
  args.reconciliation = call.Arg("reconciliation", "");
  if (const std::string futr = call.Arg("futr_data", ""); !futr.empty()) {
    args.futr_data = DataPath(call, futr);
  }
  // Future forecasts, cross-validation and intervals, as drc forecast's options.
  DRC_ASSIGN_OR_RETURN(args.future, call.BoolArg("future", false));
  DRC_ASSIGN_OR_RETURN(args.partition, call.BoolArg("partition", false));
  for (const auto& item : SplitList(call.Arg("level", ""), ',')) {
    char* end = nullptr;
    const double level = std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size()) {
      return Status::InvalidArgument("dl.forecast: level=", item, ": expected numbers in (0, 100)");
    }
    args.level.push_back(level);
  }
  DRC_RETURN_NOT_OK(CountArg(call, "cv_windows", args.cv_windows));
  DRC_RETURN_NOT_OK(CountArg(call, "cv_step", args.cv_step));
  DRC_RETURN_NOT_OK(CountArg(call, "cv_refit", args.cv_refit));
  DRC_ASSIGN_OR_RETURN(args.warm_start, call.BoolArg("warm_start", false));
  args.init_from = InTaskFolder(call, call.Arg("init_from", ""));
  DRC_RETURN_NOT_OK(CountArg(call, "conformal_windows", args.conformal_windows));
  DRC_RETURN_NOT_OK(CountArg(call, "conformal_step", args.conformal_step));
  args.conformal_method = call.Arg("conformal_method", args.conformal_method);
  args.device = Device(call);
  args.out = InTaskFolder(call, call.Arg("out", ""));
  args.importances = InTaskFolder(call, call.Arg("importances", ""));
  // Hyper-parameter overrides: a config file (as --config) and MODEL.KEY=VALUE items separated
  // by ';' (as --param).
  args.model_config = InTaskFolder(call, call.Arg("config", ""));
  for (auto& item : SplitList(call.Arg("params", ""), ';')) args.params.push_back(std::move(item));
  args.json = true;
  return ForecastToStream(args, call.comm, *call.out);
}

// `drc hydro --json` on the task's ranks (data-parallel over its communicator when it has more
// than one); rank 0 writes the lines to the task's stdout.
Status HydroFunction(FunctionCall& call) {
  HydroArgs args;
  args.data = DataPath(call, call.Arg("data", "$DRC_DATA_DIR/camels_us_sample"));
  if (const std::string table = call.Arg("table", ""); !table.empty()) {
    args.table = DataPath(call, table);
  }
  if (const std::string attributes = call.Arg("attributes", ""); !attributes.empty()) {
    args.attributes = DataPath(call, attributes);
  }
  args.inputs = call.Arg("inputs", "");
  args.statics = call.Arg("static", "");
  args.model = call.Arg("model", args.model);
  args.basins = call.Arg("basins", "");
  args.train = call.Arg("train", args.train);
  args.test = call.Arg("test", args.test);
  DRC_RETURN_NOT_OK(CountArg(call, "epochs", args.epochs));
  DRC_RETURN_NOT_OK(CountArg(call, "seq_length", args.seq_length));
  DRC_RETURN_NOT_OK(CountArg(call, "hidden_size", args.hidden_size));
  DRC_RETURN_NOT_OK(CountArg(call, "batch_size", args.batch_size));
  args.threads = call.threads;
  DRC_RETURN_NOT_OK(CountArg(call, "threads", args.threads));
  if (args.threads < 1) return Status::InvalidArgument("dl.hydro: threads must be >= 1");
  DRC_ASSIGN_OR_RETURN(args.learning_rate, call.DoubleArg("learning_rate", args.learning_rate));
  DRC_ASSIGN_OR_RETURN(args.dropout, call.DoubleArg("dropout", args.dropout));
  args.loss = call.Arg("loss", args.loss);
  DRC_ASSIGN_OR_RETURN(const int64_t seed, call.IntArg("seed", 1));
  args.seed = static_cast<uint64_t>(seed);
  args.device = Device(call);
  args.out = InTaskFolder(call, call.Arg("out", ""));
  args.json = true;
  return HydroToStream(args, call.comm, *call.out);
}

}  // namespace

Status RegisterDeepLearningFunctions(runtime::FunctionRegistry& registry) {
  DRC_RETURN_NOT_OK(registry.Register(
      "dl.forecast", ForecastFunction,
      "data= models= h=24 input_size=24 steps=100 seed=1 freq= scaler= loss= futr_exog=A,B "
      "hist_exog= stat_exog= cat_exog= cat_emb_dim=fastai futr_data= hierarchy= "
      "reconciliation= threads= device= out= importances= "
      "config= params=M.K=V;... future=false partition=false level=80,90 cv_windows=0 cv_step=1 "
      "cv_refit=0 warm_start=false init_from=DIR conformal_windows=0 conformal_step=1 "
      "conformal_method=: "
      "drc forecast --json on the task's ranks (data-parallel; each rank on its GPU when the "
      "task has gpus_per_rank); rank 0 prints a line per model"));
  return registry.Register(
      "dl.hydro", HydroFunction,
      "data=$DRC_DATA_DIR/camels_us_sample (or table=FILE attributes=FILE) inputs=A,B static=A,B "
      "model=LSTM basins=A,B train=START:END test=START:END "
      "epochs=30 seq_length=365 hidden_size=128 learning_rate=0.001 dropout=0.4 batch_size=256 "
      "loss=NSE seed=1 threads= device= out=: drc hydro --json on the task's ranks "
      "(data-parallel); rank 0 prints a line per basin, then the summary; out= writes observed "
      "and simulated discharge");
}

}  // namespace drc::app
