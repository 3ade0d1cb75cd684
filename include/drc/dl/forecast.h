// Forecasting: train models of the zoo on a long-format table (unique_id, ds, y), forecast the
// last `horizon` points of every series, and score them. No libtorch types here: the CLI and
// the pipeline layer use this header; the models live in src/dl.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "drc/comm/communicator.h"
#include "drc/common/exog_lists.h"
#include "drc/common/result.h"
#include "drc/data/context.h"
#include "drc/data/timeseries.h"

namespace drc::dl {

struct ForecastConfig {
  std::vector<std::string> models;  // registry names, e.g. {"MLP", "NBEATS", "LSTM"}
  int horizon = 24;
  int input_size = 24;
  int max_steps = 100;
  std::string freq;  // pandas alias; empty: inferred from the time stamps
  uint64_t seed = 1;
  // Per-window scaler for every model (identity, standard, robust, minmax, revin); empty: each
  // model's NeuralForecast default.
  std::string scaler;
  // Data-parallel world (not owned): every rank calls Forecast() with the same config and,
  // unless `partitioned`, the same table; each trains on its shard of the windows, gradients
  // are averaged, and every rank returns the same forecasts. Null: this process alone.
  comm::Communicator* comm = nullptr;
  // The table is this rank's part of a partitioned one (drc forecast --data 'part-{rank}.csv'):
  // each series whole on one rank (data::Shuffle by the id column puts it there), every rank
  // holding at least one. The ranks train one model data-parallel, each drawing its windows
  // from its own series (validation losses are summed over the ranks), and every rank returns
  // the forecasts and metrics of all series, its rows sorted as one rank's would be. The
  // frequency, inferred on each rank when not given, must agree; an error on one rank is an
  // error on every rank. Host-memory communicators only (local, mpi, gloo). Each rank writes a
  // checkpoint (its own sampler), and `resume` needs every rank's, at one step. False: every
  // rank passes the whole table.
  bool partitioned = false;
  int threads = 0;  // intra-op threads per rank; 0: DefaultThreads(ranks) (common/cpus.h)
  // NF's val_size: the last val_size training points of each series are held out, NF's
  // validation windows are those of the last input_size + val_size points with each horizon
  // inside them (checked every val_check_steps steps, on valid_loss), and training stops after
  // early_stop_patience_steps checks without improvement (-1: never). 0: no validation; else at
  // least the horizon (InvalidArgument, as NF).
  int val_size = 0;
  int val_check_steps = 100;
  int early_stop_patience_steps = -1;
  // Checkpoints: DIR/<model>.ckpt every checkpoint_every steps (0: at the end only); with
  // `resume`, a model whose checkpoint exists continues from it. Empty: none. A partitioned
  // table's rank r > 0 writes DIR/<model>.rank<r>.ckpt too.
  std::string checkpoint_dir;
  int checkpoint_every = 0;
  bool resume = false;
  // A window drawn several times in one step (NF samples windows with replacement when a
  // series has fewer than windows_batch_size) is computed once, weighted by its draws. For
  // models with dropout (Autoformer, FEDformer, VanillaTransformer, DeepAR) its copies then
  // share one dropout mask; `exact_repeats` computes every draw instead, as NF (slower).
  bool exact_repeats = false;
  // Dropout masks drawn as NF 3.3 draws them (torch's bernoulli from the default generator,
  // element by element), so that at one seed a model with dropout follows NF's training as the
  // models without do (window draws and initial weights are NF's already). Implies
  // exact_repeats; slower where dropout is heavy.
  bool nf_dropout = false;
  // Each model's variable importances (ModelForecast::importances): the weights its variable
  // selection gives the inputs of the windows it forecasts from, NF's TFT.feature_importances(),
  // and its attention weights (NF's TFT.attention_weights() over the horizon steps). Only for
  // models that select variables (TFT; others are an InvalidArgument before any training) and
  // without categorical variables (not built: NotImplemented).
  bool importances = false;
  // Window-parallel training steps: 0 = automatic (models whose windows are independent, with
  // two or more threads: the step's windows in parts on separate threads), 1 = off, N = N
  // parts (an error for a model that couples its windows).
  int window_parts = 0;
  // Where the models train: "cpu", "cuda" (one GPU per rank), "cuda:N" or "auto" (CUDA when
  // libtorch sees a GPU). CUDA needs a CUDA-enabled libtorch (Debian's is CPU-only): otherwise
  // an error says so.
  std::string device = "cpu";
  // Train on every point of each series and forecast the `horizon` stamps after its end (what
  // NeuralForecast's fit then predict gives), instead of holding the last `horizon` points out
  // and scoring the forecast against them. No metrics then (NaN), and y is null.
  bool future = false;
  // Cross-validation, as NeuralForecast's cross_validation(n_windows, step_size, refit):
  // each model trains on every series without its last h + cv_step * (cv_windows - 1) points,
  // then forecasts h points from each of cv_windows cutoffs cv_step points apart (the model
  // seeing each series up to its cutoff). The metrics are over every window's points, and the
  // predictions have one row per series, window and step, with a `cutoff` column (the last
  // stamp the forecast saw) after ds. 0: none (the last h points are held out once). Not with
  // `future`.
  int cv_windows = 0;
  int cv_step = 1;
  // NF's refit: 0 (False) trains once, at the first cutoff; N >= 1 trains again on the data up
  // to every N-th window's cutoff (1: NF's refit=True, a fit per window), each fit from the
  // model's initial weights and seed, as a run stopped at that cutoff would (with warm_start,
  // as NF's refit, from the previous fit's weights with a new optimizer). Conformal intervals
  // within cross-validation need it (each fit calibrates on its own data, as NF's). With
  // checkpoint_dir, window w's fit checkpoints as MODEL.cv<w>.ckpt (window 0's as MODEL.ckpt),
  // so a resumed run skips the finished fits. `steps`, `final_loss` and `stopped_early` are the
  // last fit's. One difference from a run stopped at the cutoff: the codes of categorical
  // variables (cat_exog) are those of the first window's training rows for every fit, so a
  // value first seen after that cutoff is coded unseen (0); NF's refit rebuilds its
  // vocabulary at each fit.
  int cv_refit = 0;
  // NF's chained fits (its fit(use_init_models=False)): each fit of a model after its first
  // starts from the weights the one before it ended with, with a new optimizer and learning-rate
  // schedule, its seed restarted; false (default): each from the model's initial weights. The fits
  // chain in NF's order: a conformal calibration model (conformal_windows), then the fit it
  // calibrates; with cv_refit, the next window's calibration model and fit. So the forecast of
  // a model with conformal intervals changes (its fit goes on from the calibration model), and
  // a refit window's is no longer that of a run stopped at its cutoff. Needs cv_refit >= 1 or
  // conformal_windows (with a single fit it would change nothing).
  bool warm_start = false;
  // A folder of checkpoints that an earlier run wrote (its checkpoint_dir): each model starts
  // from the parameters and buffers of <init_from>/<MODEL>.ckpt instead of its initial weights,
  // with a new optimizer, learning-rate schedule and step count, its seed as usual (NF's
  // fit(use_init_models=False) after NeuralForecast.load()): fine-tuning a saved model on other
  // data, or training it further. Every fit that would start from the initial weights starts
  // from these: the first of a warm_start chain, each refit window's without warm_start, a
  // conformal calibration copy. A missing file is NotFound before any training; a checkpoint of
  // another model or of other hyper-parameters is InvalidArgument naming the file and the
  // tensor, when that model starts. Not checkpoint_dir itself (the run's checkpoints would
  // replace the weights its later fits start from). Empty: none.
  std::string init_from;
  // Prediction intervals, as NeuralForecast's predict(level=...): for each level L in (0, 100),
  // the (50 - L/2) % and (50 + L/2) % quantiles of the forecast distribution, as prediction
  // columns y_hat-lo-L and y_hat-hi-L (ascending by quantile), and without `future` the share
  // of held-out values inside them (ModelForecast::intervals). Models with a distribution loss
  // (DeepAR, or a point model trained on a DistributionLoss) take the quantiles of their forecast
  // distribution; a point model trained on MQLoss gives its outputs, so each level's quantiles
  // must be among the loss's (InvalidArgument before any training otherwise); other point models
  // need conformal_windows (below), and without it a level is InvalidArgument before any
  // training. Empty: each model's default, as NF's predict() without level: y_hat-median and the
  // 80 and 90 intervals for DeepAR, all of the loss's quantiles (y_hat-median first) for an
  // MQLoss or DistributionLoss model, nothing for point models.
  std::vector<double> level;
  // Conformal intervals for point models, as NF's fit(prediction_intervals=
  // PredictionIntervals(n_windows, method, step_size)): before the model itself, a copy trained
  // on each series without its last h + step * (windows - 1) points forecasts h points from
  // `conformal_windows` cutoffs `conformal_step` apart; its absolute errors there (the
  // conformity scores) set the intervals around the model's forecast, per horizon step.
  // conformal_distribution: quantiles of forecast -+ score; conformal_error: the forecast -+ the
  // score's quantile. 0 windows: none; otherwise >= 2. The calibration run trains as the model
  // does (validation, ranks) but writes no checkpoint, and its time counts in `seconds`. The
  // model then trains from its own initial weights, so its forecast is that of a run without
  // intervals; NF's final fit instead goes on training the calibration copy (its
  // use_init_models=False), which changes its forecasts, as warm_start does.
  int conformal_windows = 0;
  int conformal_step = 1;
  std::string conformal_method = "conformal_distribution";
  // Per model name: hyper-parameters by NeuralForecast's names overriding the defaults, e.g.
  // {"MLP", {{"hidden_size", 256}, {"learning_rate", 1e-4}}}: the model's own (hidden_size,
  // n_blocks, ...) and NF's training ones (learning_rate, max_steps, batch_size,
  // windows_batch_size, num_lr_decays, random_seed), which override max_steps and seed above for
  // that model. Checked before any training: an unknown key (the message lists the model's)
  // or a bad value is InvalidArgument, an unregistered model NotFound; overrides of registered
  // models not in `models` are ignored.
  std::map<std::string, std::map<std::string, double>> params;
  // Per model name: NF's scaler_type for that model, overriding `scaler`.
  std::map<std::string, std::string> model_scalers;
  // The point models' training loss, as NF's loss= of a point model: MAE (NF's default), MSE,
  // RMSE, MAPE, SMAPE, MASE(M) (input_size > M), HuberLoss, HuberLoss(DELTA), FreDF(alpha=A)
  // (MSE and the spectra's mean absolute difference; losses.h), QuantileLoss(Q),
  // HuberQLoss(Q, delta=D), or NF's implicit quantile IQLoss and HuberIQLoss (y_hat is the
  // forecast at the median; any `level` can be asked, the quantiles of the forecasts at NF's 11
  // quantiles), or NF's
  // multi-quantile MQLoss, MQLoss(level=[L, ...]) or MQLoss(quantiles=[Q, ...]), or
  // HuberMQLoss with the same arguments and delta=D, whose model forecasts each quantile (y_hat
  // is the median; see `level`), or NF's DistributionLoss(Normal), DistributionLoss(StudentT),
  // DistributionLoss(Poisson) or DistributionLoss(NegativeBinomial) (optionally with level=[L,
  // ...] or quantiles=[Q, ...] and num_samples=N), whose model forecasts the distribution's
  // parameters (y_hat is its mean, the quantiles those of num_samples draws, 1000 by default,
  // seeded with the run's seed; under the revin scaler RevIN's inverse maps a Normal or StudentT;
  // Poisson and NegativeBinomial are fitted in the series' units, as NF's, need values >= 0 and
  // do not go with revin). Computed on the scaled windows; early
  // stopping's validation loss is the same loss in the series' units (NF's valid_loss defaults to
  // the loss). Empty: MAE. Per model name, model_losses overrides it. A model with a distribution
  // loss of its own (DeepAR) takes a DistributionLoss as its likelihood (as its `distribution`
  // parameter would; InvalidArgument when that parameter says otherwise); any other loss for it
  // is InvalidArgument before any training, as is an unknown name.
  std::string loss;
  std::map<std::string, std::string> model_losses;
  // Early stopping's loss, NF's valid_loss (ParsePointLoss's names); empty: the training loss.
  // A point loss scores the point forecast (a DistributionLoss's mean); MQLoss or HuberMQLoss
  // the quantiles of an MQLoss or HuberMQLoss (as many), of a DistributionLoss (its sampled
  // quantiles, as many) or of DeepAR. NF's rules, InvalidArgument before any training: IQLoss
  // and HuberIQLoss validate only themselves; an MQLoss only a multi-quantile loss; a
  // DistributionLoss only on its own likelihood or a point or multi-quantile loss; a point
  // model needs a point valid_loss. Per model name, model_valid_losses overrides it.
  std::string valid_loss;
  std::map<std::string, std::string> model_valid_losses;
  // Exogenous variables, as NF's futr_exog_list, hist_exog_list and stat_exog_list: numeric
  // columns of the table, other than the three. Future ones are known over the horizon too (the
  // forecast of the held-out points reads their values there; with `future`, futr_data gives
  // them), historic ones over the input window only; both are
  // scaled per window as y is (each by its own statistics). A static column holds one value per
  // series. Every row needs a value: a null, or a gap in a series' time stamps, is
  // InvalidArgument naming the column, the series and the stamp (except historic values in each
  // series' last h rows without `future`, which no forecast reads). Each model reads the kinds
  // that NF's reads; a kind it does not read is InvalidArgument, as is the revin scaler, before
  // any training.
  std::vector<std::string> futr_exog, hist_exog, stat_exog;
  // Those of the columns above that are categorical, as NF's cat_exog_list: their values (text,
  // whole numbers, booleans) are categories, each learned as an embedding of cat_emb_dim
  // numbers that the model reads in place of the column (NF's fastai, sqrt or half rule on the
  // number of categories, or a whole number). The categories are the distinct values of the
  // training rows (of every rank's part of a partitioned table); a value seen only after them,
  // or a null, reads the mean of the learned embeddings (NF's unseen category). Not scaled.
  std::vector<std::string> cat_exog;
  std::string cat_emb_dim = "fastai";
  // NF's HINT: a summing matrix (a CSV as HierarchicalForecast's S_df.to_csv() writes it: a
  // column of series ids, then one 0/1 column per bottom series) over the table's series, and a
  // reconciliation (BottomUp, MinTraceOLS, MinTraceWLS or Identity; required with a hierarchy).
  // Every model needs a distribution loss (DistributionLoss or a mixture; DeepAR's own): it
  // trains on every series as without a hierarchy, and its forecasts become NF's HINT.predict's:
  // num_samples sample quantiles per series and step, resampled with replacement and reconciled
  // (y = S P y_base), y_hat their mean and the quantile columns theirs, coherent over the
  // hierarchy. The matrix's series and the table's must be the same (a partitioned table's:
  // every rank's together; each rank then receives every series' samples, N x H x num_samples
  // values, reconciles them all as one rank would, and keeps its own series' rows). Empty: none.
  std::string hierarchy;
  std::string reconciliation;
  // The three lists in NF's order, with their keys and kinds (drc/common/exog_lists.h).
  std::array<ExogList, 3> ExogLists() const {
    return drc::ExogLists(futr_exog, hist_exog, stat_exog);
  }
  // With `future` and futr_exog, the future variables over the horizon after each series' end
  // (NF's futr_df): the id and time columns and every futr_exog column, a row per series and
  // stamp forecast (other rows are ignored). A stamp without its row or a value is
  // InvalidArgument naming the series and the stamp.
  data::TablePtr futr_data;
};

// Adds hyper-parameter overrides (ForecastConfig::params, ::model_scalers, ::model_losses) read
// from a YAML or JSON file with one mapping per model, e.g.
//   MLP: {hidden_size: 256, learning_rate: 1.0e-4, loss: HuberLoss(0.5)}
//   DeepAR:
//     distribution: Normal      # or StudentT (NF's DistributionLoss)
//     scaler_type: standard     # identity, standard, robust, minmax or revin
// Values are numbers (true/false count as 1/0) but for those three keys. Errors give
// FILE:LINE:COLUMN. Later values override earlier ones.
Status ReadModelParams(const std::string& path, ForecastConfig& config);
// Adds one override written MODEL.KEY=VALUE (drc forecast --param), e.g. "MLP.hidden_size=256",
// with the values ReadModelParams takes.
Status ParseModelParam(const std::string& text, ForecastConfig& config);
// An override's value as it was written, for a key whose NF values are names: `gru` for TFT's
// rnn_type 1, `trend,exogenous` for NBEATSx's stack_types 24; empty for any other key or a value
// that is no name's code (the number is then the value).
std::string ParamText(const std::string& key, double value);

// How a prediction interval did on the held-out values.
struct IntervalScore {
  double coverage = 0;  // the share of actual values inside [lo, hi]; NaN with `future`
  double width = 0;     // the mean of hi - lo
};

struct ModelForecast {
  std::string model;
  double mae = 0, rmse = 0, mape = 0, smape = 0;  // NaN with ForecastConfig::future
  double seconds = 0;                             // fit + predict
  double final_loss = 0;                          // training loss of the last step
  int steps = 0;  // steps trained (fewer than max_steps after early stopping)
  bool stopped_early = false;
  // The validation loss at each check (with ForecastConfig::val_size; the last fit's), in the
  // series' units as NF's valid_trajectories.
  std::vector<double> val_losses;
  int threads = 1;             // intra-op threads per rank
  std::string reconciliation;  // ForecastConfig::reconciliation with a hierarchy, else empty
  // unique_id, ds, [cutoff with cv_windows,] y (actual; null with `future`), y_hat, then any
  // quantile columns (y_hat-median, y_hat-lo-L, y_hat-hi-L; see ForecastConfig::level).
  data::TablePtr predictions;
  // Per prediction interval level (none for a point model without conformal intervals).
  std::map<double, IntervalScore> intervals;
  // With ForecastConfig::importances: kind (history, future, static, attention), variable, step
  // (-L .. -1 over the input, 1 .. H over the horizon, null for a static variable) and
  // importance, the selection weight averaged over the windows forecast from (every series' last
  // window, every cross-validation window; on every rank of a partitioned run). Per kind and
  // step the importances add up to 1. The historic selection reads the historic variables, the
  // future ones over the input and the target (`observed_target`); without future variables TFT
  // reads the window's last value, repeated, in their place (`repeated_target`, as NF names
  // it). The attention rows give, per horizon step (`step` 1 .. H, the query), the attention
  // weight, averaged over the heads and the windows, of each step it attends to (`variable`
  // t-L .. t-1 over the input, t+1 .. t+H over the horizon; 0 after the step itself): NF's
  // TFT.attention_weights()'s last H rows.
  data::TablePtr importances;
};

// Trains each model on all but the last `horizon` points of every series and forecasts them
// (with ForecastConfig::future, on every point, forecasting the `horizon` stamps after).
Result<std::vector<ModelForecast>> Forecast(const data::TablePtr& table,
                                            const data::SeriesColumns& cols,
                                            const ForecastConfig& config);

// The table's rows sorted by series and time, after checking that it has the three columns and
// numeric values (InvalidArgument naming what is missing). Forecast and InferFreq take rows in
// any order; they sort them too, and a sorted table costs them only a pass that finds it so.
Result<data::TablePtr> SortSeries(const data::TablePtr& table, const data::SeriesColumns& cols);

// The pandas alias of the series' time step (D, W, MS, ME, QS, QE, YS, YE, h, min; an integer
// step for integer time columns), read from the longest series; InvalidArgument when none fits.
// With `comm`, the table is this rank's part of a partitioned one (ForecastConfig::partitioned):
// every rank infers from its own series, the ranks must agree (InvalidArgument naming two
// ranks' otherwise), and an error on one rank is an error on every rank. Collective then.
Result<std::string> InferFreq(const data::TablePtr& table, const data::SeriesColumns& cols,
                              comm::Communicator* comm = nullptr);

// The registered model names.
std::vector<std::string> ModelNames();

}  // namespace drc::dl
