#include "drc/dl/train_bench.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <cmath>
#include <fstream>
#include <random>

#include "drc/common/clock.h"
#include "drc/common/cpus.h"
#include "src/dl/data_parallel.h"
#include "src/dl/torch_status.h"
#include "src/dl/trainer.h"
#include "src/dl/windows.h"

namespace drc::dl {

Result<TrainBenchResult> BenchTrain(const TrainBenchConfig& config) {
  if (config.steps <= 0 || config.series <= 0 || config.length <= 0) {
    return Status::InvalidArgument("bench train: steps, series and length must be > 0, got ",
                                   config.steps, ", ", config.series, ", ", config.length);
  }
  const auto& registry = DefaultModelRegistry();
  DRC_ASSIGN_OR_RETURN(auto defaults, registry.Defaults(config.model, config.params));
  if (!config.scaler.empty()) defaults.scaler = config.scaler;
  // NF's training keys among the overrides (learning_rate, windows_batch_size, ...).
  std::map<std::string, double> params = config.params;
  int steps = config.steps;
  uint64_t seed = config.seed;
  DRC_RETURN_NOT_OK(TakeTrainingParams(config.model, params, defaults, steps, seed));
  if (steps <= 0) return Status::InvalidArgument("bench train: max_steps must be > 0");
  const int rank = config.comm ? config.comm->rank() : 0;
  const int ranks = config.comm ? config.comm->size() : 1;

  std::vector<float> values(static_cast<size_t>(config.series) * config.length);
  std::vector<int64_t> offsets = {0};
  std::mt19937_64 gen(config.seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  for (int k = 0; k < config.series; ++k) {
    const float level = 10.0f + k % 7, phase = static_cast<float>(k);
    for (int t = 0; t < config.length; ++t) {
      values[static_cast<size_t>(k) * config.length + t] =
          level + 0.01f * t + 2.0f * std::sin(2.0f * static_cast<float>(M_PI) * t / 12 + phase) +
          noise(gen);
    }
    offsets.push_back(offsets.back() + config.length);
  }
  DRC_ASSIGN_OR_RETURN(auto wopts, WindowOptionsFrom(defaults, config.input_size, config.horizon));
  wopts.shard_rank = rank;
  wopts.shard_count = ranks;
  auto made = WindowedDataset::Make(SeriesData{torch::tensor(values), offsets}, wopts);
  DRC_RETURN_NOT_OK(AgreeOnStatus(config.comm, made.status()));
  WindowedDataset& data = *made;

  ModelConfig mc;
  mc.input_size = ModelInputSize(defaults, config.input_size);
  mc.horizon = config.horizon;
  mc.seed = seed;
  mc.params = params;
  mc.n_series = static_cast<int>(offsets.size()) - 1;
  TrainOptions topts = OptionsFrom(defaults, steps, seed);
  topts.threads = config.threads > 0 ? config.threads : DefaultThreads(ranks);
  topts.comm = config.comm;
  topts.window_parts = config.window_parts;
  topts.device = config.device;
  topts.loss = config.loss;
  DRC_ASSIGN_OR_RETURN(auto trainer, Trainer::Make(config.model, mc, topts, registry));

  std::string profile = config.profile_path;
  if (!profile.empty()) {
    if (config.comm != nullptr && config.comm->rank() > 0) {
      profile += ".rank" + std::to_string(config.comm->rank());
    }
    Status writable = std::ofstream(profile)
                          ? Status::OK()
                          : Status::InvalidArgument("bench train: --profile ", profile,
                                                    ": cannot write this file");
    DRC_RETURN_NOT_OK(AgreeOnStatus(config.comm, writable));
  }

  if (config.comm) DRC_RETURN_NOT_OK(config.comm->Barrier());
  Stopwatch watch;
  Result<double> fitted = 0.0;
  if (profile.empty()) {
    fitted = trainer->Fit(data);
  } else {
    // The trace is written when `recorder` goes out of scope, after the steps.
    Status written = Guard("bench train: profiling to " + profile, [&] {
      torch::autograd::profiler::RecordProfile recorder(profile);
      fitted = trainer->Fit(data);
    });
    DRC_RETURN_NOT_OK(AgreeOnStatus(config.comm, written));
  }
  DRC_ASSIGN_OR_RETURN(double loss, std::move(fitted));
  if (config.comm) DRC_RETURN_NOT_OK(config.comm->Barrier());
  TrainBenchResult r;
  r.seconds = watch.Seconds();
  r.model = config.model;
  r.ranks = ranks;
  r.steps = trainer->step();
  r.window_parts = trainer->window_parts();
  r.threads = trainer->threads();
  r.device = trainer->device().str();
  r.loss = config.loss.empty() ? defaults.loss : config.loss;
  r.windows_per_step = wopts.windows_batch_size > 0 ? wopts.windows_batch_size : 0;
  r.samples_per_second =
      r.seconds > 0 ? static_cast<double>(r.windows_per_step) * r.steps * ranks / r.seconds : 0;
  r.final_loss = loss;
  for (const auto& p : trainer->model().parameters()) r.parameters += p.numel();
  return r;
}

}  // namespace drc::dl
