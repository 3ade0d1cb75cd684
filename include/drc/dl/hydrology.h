// Rainfall-runoff modelling on CAMELS-US after NeuralHydrology: train one model (NH's CudaLSTM
// "LSTM" or "EA-LSTM") on several basins' training period, then predict each basin's test
// period day by day and score it (NSE, KGE). No libtorch types here: the CLI uses this header.
//
// What follows NH (config defaults of its CAMELS-US examples):
//  - inputs: the dynamic forcings plus static attributes (camels.h defaults); target
//    QObs(mm/d). Every feature and the target normalised by the mean and std over all training
//    basins' training period (NH's scaler); attributes by their mean and std across the
//    training basins.
//  - samples: every day of the period whose seq_length-day input window (it may reach back
//    before the period start, as NH's warm-up does) is complete and whose target (any of the
//    last predict_last_n) is observed; shuffled each epoch; batches of batch_size.
//  - loss "NSE" (NH's NSE*: mean of (y_hat - y)² / (s_b + 0.1)², s_b the std of basin b's
//    observed discharge over the training period, in mm/day as NH computes it before
//    normalising) or "MSE" (NH's 0.5 · mean squared error), on the normalised target.
//  - Adam, learning rate by epoch (NH's dict {epoch: lr}), gradient-norm clipping 1.
//  - evaluation: predictions back in mm/day; NSE and KGE over the observed test days.
//
// Data-parallel (`comm` with several ranks): the basins are sharded. Basin b of the run (in the
// order of its gauge list) belongs to rank b mod R, which alone reads its files from a CAMELS
// folder. From a table of one part per rank ("{rank}" in its path, parts 0 to R-1, as a
// partitioned prepare stage writes them; no basins named) a rank reads only its part and holds
// its basins, which must be in no other part; any other table every rank reads whole (every
// part) and keeps its basins. Every rank reads every basin's static attributes. The normalisation
// still spans every basin: the ranks' sums are added up (one all-reduce). The ranks gather the list
// of all basins' training samples, so that all shuffle it alike and draw the batches a one-rank run
// draws; each batch's samples go to the ranks that hold their basins, each rank's loss is its
// samples' share of the batch's loss, and the gradients are summed over the ranks
// (GradientAllReducer) before clipping and the Adam step, so that every rank takes the same step,
// the one the whole batch gives, and ends with the same parameters. With dropout the masks differ
// from a one-rank run's; without, the result equals it up to the order of floating-point sums. Each
// rank evaluates its basins, and every rank returns all basins' evaluations. An error on one rank
// (a basin's file) is an error on every rank.
//
// Deviations: NH refuses attributes whose std across basins is 0 or undefined (one basin);
// here such an attribute is only centred (scale 1), so a single basin can be trained. NH can
// clip negative predictions (clip_target_to_zero, off in its CAMELS configs); not offered.
// libtorch's seed and thread count are process-wide: one run at a time per process.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "drc/common/result.h"
#include "drc/dl/camels.h"
#include "drc/dl/hydro_defaults.h"

namespace drc::comm {
class Communicator;
}

namespace drc::dl {

struct HydroConfig {
  std::string data_dir;  // CAMELS-US root (forcing_daymet/, streamflow/, attributes/)
  // Or a series table (basin_table.h: unique_id, ds, the inputs, y in mm/day; "{rank}" for a
  // partitioned one, every part read) and, for static attributes, an attribute table. With a
  // table, dynamic_inputs empty means every number column but unique_id, ds and y, and the
  // static attributes are those of `attributes_table` (empty: all its number columns), none
  // without one.
  std::string table;
  std::string attributes_table;
  std::string model = "LSTM";       // "LSTM" (NH's CudaLSTM) or "EA-LSTM"
  std::vector<std::string> basins;  // gauge ids; empty: every basin under data_dir or in table
  std::string train_start = hydro_defaults::kTrainStart, train_end = hydro_defaults::kTrainEnd;
  std::string test_start = hydro_defaults::kTestStart, test_end = hydro_defaults::kTestEnd;
  std::vector<std::string> dynamic_inputs = DefaultCamelsDynamicInputs();
  std::vector<std::string> static_attributes = DefaultCamelsStaticAttributes();
  // NH's seq_length 365. On the 3-year sample a 2000-2001 training period then keeps the days
  // from 2000-12-30 on (about 367 per basin): enough to learn, but short seq_length trains more.
  int seq_length = hydro_defaults::kSeqLength;
  int predict_last_n = 1;
  int hidden_size = hydro_defaults::kHiddenSize;
  double output_dropout = hydro_defaults::kOutputDropout;
  double initial_forget_bias = 3;
  std::map<int, double> learning_rate = {{0, hydro_defaults::kLearningRate}};  // from epoch on
  int epochs = hydro_defaults::kEpochs;
  int batch_size = hydro_defaults::kBatchSize;
  double clip_gradient_norm = 1;             // 0: none
  std::string loss = hydro_defaults::kLoss;  // "NSE" (NSE*) or "MSE"
  uint64_t seed = 1;
  int threads = 0;  // torch intra-op threads; 0: DefaultThreads() (common/cpus.h)
  // Where the model trains: "cpu", "cuda", "cuda:N" or "auto" (as drc forecast's --device).
  std::string device = "cpu";
  // Data-parallel over these ranks (null or one rank: this process alone). Must outlive the call.
  comm::Communicator* comm = nullptr;
};

struct BasinEvaluation {
  std::string basin;
  double nse = 0, kge = 0;
  std::vector<Day> days;          // the test period
  std::vector<double> observed;   // mm/day, NaN where missing
  std::vector<double> simulated;  // mm/day, NaN where the input window is incomplete
};

// The normalisation a run used (NH's scaler): inputs and target by the mean and std (ddof 0)
// over every training basin's training period, attributes across basins (ddof 1), and each
// basin's raw target std for the NSE* loss.
struct HydroScaler {
  std::vector<double> dynamic_mean, dynamic_std;      // per dynamic input
  std::vector<double> attribute_mean, attribute_std;  // per static attribute
  double target_mean = 0, target_std = 1;             // mm/day
  std::vector<double> basin_target_std;               // per basin, mm/day
};

struct HydroResult {
  std::string model;
  HydroScaler scaler;
  std::vector<BasinEvaluation> basins;
  double median_nse = 0;
  double seconds = 0;  // data loading, training and evaluation
  int64_t train_samples = 0;
  std::vector<double> epoch_losses;  // mean training loss per epoch
  std::string device;                // where it trained ("cpu", "cuda:0")
  // The inputs it read, in their order (with a table, those found when none were named).
  std::vector<std::string> dynamic_inputs, static_attributes;
};

// Reads the data, trains, evaluates. Errors name the config field, the basin or the file.
Result<HydroResult> TrainAndEvaluateHydro(const HydroConfig& config);

}  // namespace drc::dl
