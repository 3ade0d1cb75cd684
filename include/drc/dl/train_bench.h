// `drc bench train`: training throughput of one model of the zoo (no libtorch types here).
#pragma once

#include <map>
#include <string>

#include "drc/comm/communicator.h"
#include "drc/common/result.h"

namespace drc::dl {

struct TrainBenchConfig {
  std::string model = "MLP";
  int steps = 100;
  int input_size = 24;
  int horizon = 24;
  // Synthetic data, the same on every rank: `series` seasonal series of `length` points
  // (sine of period 12 + trend + noise, seeded). Each rank trains on its shard of the windows.
  int series = 64;
  int length = 512;
  uint64_t seed = 1;
  int threads = 0;             // intra-op threads per rank; 0: DefaultThreads(ranks)
  int window_parts = 0;        // window-parallel steps: 0 automatic, 1 off, N parts (forecast.h)
  std::string device = "cpu";  // cpu, cuda, cuda:N or auto (forecast.h)
  // Hyper-parameter overrides by NF's names: the model's own and NF's training keys
  // (ForecastConfig::params); scaler: NF's scaler_type (empty: the model's default).
  std::map<std::string, double> params;
  std::string scaler;
  // The training loss, as drc forecast --loss names it (ForecastConfig::loss); empty: the
  // model's own (MAE for point models).
  std::string loss;
  // Non-empty: libtorch's operator profile of the training steps, written to this file as a
  // Chrome trace (chrome://tracing, Perfetto); rank r > 0 writes "<path>.rank<r>".
  std::string profile_path;
  comm::Communicator* comm = nullptr;  // data-parallel world; null: this process
};

struct TrainBenchResult {
  std::string model;
  int ranks = 1;
  int steps = 0;
  int64_t windows_per_step = 0;   // per rank (the model's windows_batch_size)
  double seconds = 0;             // the training steps alone (model build and data excluded)
  double samples_per_second = 0;  // windows per second over all ranks
  double final_loss = 0;          // mean over the ranks
  int64_t parameters = 0;
  int window_parts = 1;  // parts each step's windows ran in
  int threads = 1;       // intra-op threads per rank
  std::string device;    // where the steps ran ("cpu", "cuda:0")
  std::string loss;      // the training loss ("MAE", "DistributionLoss(Poisson, ...)", ...)
};

Result<TrainBenchResult> BenchTrain(const TrainBenchConfig& config);

}  // namespace drc::dl
