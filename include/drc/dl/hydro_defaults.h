#pragma once

// The published evaluation's hydrology configuration (NeuralHydrology's, see docs/dl-benchmarks.md)
// as the defaults of dl::HydroConfig, `drc hydro` and a pipeline's hydro stages: one place for
// them, in a header without libtorch that the CLI and the pipeline layer include.

#include <string>

namespace drc::dl::hydro_defaults {

inline constexpr char kTrainStart[] = "2000-01-01";
inline constexpr char kTrainEnd[] = "2001-12-31";
inline constexpr char kTestStart[] = "2002-01-01";
inline constexpr char kTestEnd[] = "2002-12-31";
inline constexpr int kEpochs = 30;
inline constexpr int kSeqLength = 365;
inline constexpr int kHiddenSize = 128;
inline constexpr double kLearningRate = 1e-3;
inline constexpr double kOutputDropout = 0.4;
inline constexpr int kBatchSize = 256;
inline constexpr char kLoss[] = "NSE";  // NSE* (NH's "NSE"), or MSE

// "START:END", as drc hydro's --train and --test and a hydro stage's train and test take them.
inline constexpr char kTrain[] = "2000-01-01:2001-12-31";
inline constexpr char kTest[] = "2002-01-01:2002-12-31";

}  // namespace drc::dl::hydro_defaults

namespace drc::dl {

// The training settings that `drc hydro`'s options (app::HydroArgs) and a pipeline's hydro
// stage (pipeline::HydroSpec) share, as they take them (periods as START:END), with the
// defaults above; drc hydro turns them into a HydroConfig.
struct HydroSettings {
  std::string train = hydro_defaults::kTrain;
  std::string test = hydro_defaults::kTest;
  int epochs = hydro_defaults::kEpochs;
  int seq_length = hydro_defaults::kSeqLength;
  int hidden_size = hydro_defaults::kHiddenSize;
  double learning_rate = hydro_defaults::kLearningRate;
  double dropout = hydro_defaults::kOutputDropout;  // the head's output dropout
  int batch_size = hydro_defaults::kBatchSize;
  std::string loss = hydro_defaults::kLoss;
};

}  // namespace drc::dl
