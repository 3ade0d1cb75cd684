// `drc forecast`: trains models of the zoo on a long-format series table (unique_id, ds, y),
// forecasts the last H points of every series and prints MAE, RMSE, MAPE, sMAPE and fit+predict
// seconds per model (one JSON object per line with --json), and for models that forecast a
// distribution the share of actual values inside each prediction interval (--level); with
// --future, trains on every point and forecasts the H stamps after each series' end (no
// metrics). Also the table printer and the forecast writer shared with `drc demo`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "drc/comm/communicator.h"
#include "drc/common/status.h"
#include "drc/dl/forecast.h"

namespace drc::app {

struct ForecastArgs {
  std::string data;    // CSV (or Parquet/IPC by extension)
  std::string models;  // comma-separated registry names
  int horizon = 24;
  int input_size = 24;
  int steps = 100;
  std::string freq;  // pandas alias; empty: inferred
  uint64_t seed = 1;
  std::string scaler;      // empty: each model's default
  std::string loss;        // point models' loss (dl::ForecastConfig::loss); empty: MAE
  std::string valid_loss;  // early stopping's loss (dl::ForecastConfig::valid_loss)
  // Comma-separated exogenous columns (dl::ForecastConfig::futr_exog, hist_exog, stat_exog).
  std::string futr_exog, hist_exog, stat_exog;
  // Comma-separated categorical ones among them, and their embedding width
  // (dl::ForecastConfig::cat_exog, cat_emb_dim).
  std::string cat_exog;
  std::string cat_emb_dim = "fastai";
  // NF's HINT: a summing matrix CSV and a reconciliation (dl::ForecastConfig::hierarchy).
  std::string hierarchy, reconciliation;
  std::string futr_data;  // with --future: the future variables' values (dl::ForecastConfig)
  int ranks = 1;
  std::string backend = "mpi";  // for ranks > 1: mpi or gloo
  // With ranks > 1: each rank reads a share of the one file and takes a range of whole series
  // (data::ReadSeriesSplit, data::RangePartition), then trains as on parts (partitioned).
  bool partition = false;
  int threads = 0;
  int val_size = 0;
  int val_check_steps = 100;
  int early_stop_patience = -1;
  std::string checkpoint_dir;
  int checkpoint_every = 0;
  bool resume = false;
  bool exact_repeats = false;
  bool nf_dropout = false;
  int window_parts = 0;
  std::string device = "cpu";
  bool future = false;        // forecast after the series' ends instead of scoring the last H
  std::vector<double> level;  // prediction interval levels (dl::ForecastConfig::level)
  int cv_windows = 0;         // cross-validation windows (dl::ForecastConfig::cv_windows)
  int cv_step = 1;
  int cv_refit = 0;           // NF's refit (dl::ForecastConfig::cv_refit)
  bool warm_start = false;    // NF's chained fits (dl::ForecastConfig::warm_start)
  std::string init_from;      // start from these checkpoints (dl::ForecastConfig::init_from)
  int conformal_windows = 0;  // conformal intervals of point models (dl::ForecastConfig)
  int conformal_step = 1;
  std::string conformal_method = "conformal_distribution";
  std::string model_config;         // YAML/JSON hyper-parameter overrides (dl::ReadModelParams)
  std::vector<std::string> params;  // MODEL.KEY=VALUE overrides, after model_config's
  bool json = false;
  std::string out;  // .csv or .parquet: unique_id, ds, y (not with future), one column per model
  // .csv or .parquet: each model's variable importances (dl::ForecastConfig::importances).
  std::string importances;
};

// With ranks > 1 the command re-runs itself under mpirun; rank 0 prints and writes.
// `args.backend` is checked by main.cc's CLI (IsMember), the only caller.
int RunForecast(const ForecastArgs& args);

// The forecast on the ranks of `comm` (null: this process alone), without the banner: rank 0
// writes `--json`'s lines to `out` and the forecasts to args.out when set. For function tasks.
Status ForecastToStream(const ForecastArgs& args, comm::Communicator* comm, std::ostream& out);

// "model  MAE  RMSE  MAPE%  sMAPE%  seconds" table on stdout.
void PrintForecastTable(const std::vector<dl::ModelForecast>& results);
// unique_id, ds, cutoff (with cross-validation), y (left out with `future`: no actual values),
// then per model its y_hat column named after it and its quantile columns (MODEL-median,
// MODEL-lo-80, ...; NF's names); CSV or Parquet by extension.
Status WriteForecasts(const std::vector<dl::ModelForecast>& results, const std::string& path,
                      bool future = false);
// model, kind, variable, step, importance (dl::ModelForecast::importances), every model's rows;
// CSV or Parquet by extension.
Status WriteImportances(const std::vector<dl::ModelForecast>& results, const std::string& path);

}  // namespace drc::app
