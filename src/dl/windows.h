// NeuralForecast-compatible training windows and per-window scaling (internal to src/dl).
//
// Series live in one flat tensor. Each series is padded with `horizon` zeros at the end and, at
// the start, as NF pads it: NF pads every series at the front to the longest one (and by
// input_size - 1 more when start_padding is on), so here a shorter series gets as much of that
// padding as a window can start in, at most input_size - 1 zeros (or as many as a series shorter
// than input_size + 1 needs to give one window); padded points have mask 0. A window is
// input_size + horizon consecutive points, starting every `step_size` points from the front of
// NF's padding; windows with no available point in their input part or none in their horizon
// are dropped (NF's BaseModel `_create_windows`). A training step takes `batch_size` series (an
// epoch-shuffled order, as NF's data loader) and samples `windows_batch_size` of their windows
// uniformly (with replacement only when there are fewer). Each window is scaled by NF's
// TemporalNorm fitted on its available input points; forecasts are un-scaled with the same
// statistics.
//
// The draws are NF's own (WindowOptions::nf_draws): libtorch's default CPU generator, which
// the trainer seeds at the start of a fit as NF's on_fit_start does, gives them as NF 3.3's
// training takes them from torch's, the same generator and algorithms. Per epoch, NF's data
// loader takes two int64 draws (the base seed of its worker processes, of which NF has none,
// then its sampler's seed) and orders the series by a randperm from a generator seeded with the
// second; a batch takes the next batch_size series in that order; per step, randint(0, n,
// windows_batch_size) over the batch's n windows in the batch's series order, then time order
// (randperm(n)[:windows_batch_size] when n is larger). A seed then draws the windows that NF's
// training draws at that seed: checked against NF 3.3 on one series, on three of one length, on
// 40 of different lengths in epochs of two batches (Windows.DrawsAreNfs), and for the windows
// of the front padding with step_size 3 (Windows.FrontPaddingIsNfs).
//
// Thread-compatible: Sample() advances the series order and, drawing as NF, libtorch's default
// CPU generator; everything else is const.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "drc/common/result.h"
#include "src/dl/model.h"

namespace drc::dl {

enum class ScalerType { kIdentity, kStandard, kRobust, kMinMax, kRevIN };
// "identity", "standard", "robust", "minmax", "revin"; InvalidArgument names the others.
Result<ScalerType> ParseScalerType(const std::string& name);

// TemporalNorm's statistics of x [B, T] over the points where mask [B, T] is 1: standard =
// mean / population std, robust = median (lower) / median absolute deviation (std * 0.6745
// when it is 0), minmax = min / (max - min); zero scales become 1, then + 1e-6 (as NF). revin
// = mean / sqrt(population variance + 1e-5) (NF's revin statistics; the learnable affine part
// of RevIN lives in the model: see RevinScaledModel in trainer.h).
WindowScale FitWindowScale(ScalerType type, const torch::Tensor& x, const torch::Tensor& mask);
// x -> z and back, for [B, T] or [B, T, Q] (a window's outputs per step, e.g. MQLoss's
// quantiles).
torch::Tensor ApplyScale(const torch::Tensor& x, const WindowScale& s);
torch::Tensor InvertScale(const torch::Tensor& z, const WindowScale& s);

struct WindowOptions {
  int input_size = 24;
  int horizon = 24;
  int step_size = 1;
  bool start_padding = false;  // NF's start_padding_enabled
  // How much longer the longest series of the whole panel is than the longest given to Make (a
  // rank of a partitioned table holds only some series): NF pads to the panel's longest.
  int64_t longer_elsewhere = 0;
  int batch_size = 32;            // series per step
  int windows_batch_size = 1024;  // windows per step; <= 0: all windows of the batch's series
  ScalerType scaler = ScalerType::kIdentity;
  // Data-parallel shard: this rank samples only the windows whose index (over all series, in
  // series then time order) is shard_rank modulo shard_count. Forecast windows are not sharded.
  int shard_rank = 0;
  int shard_count = 1;
  // Draw as NF (see the file comment); otherwise, and always for a shard, from the generator
  // given to Sample().
  bool nf_draws = true;
  // NF's windows of a multivariate model (TrainDefaults::multivariate): every series is padded
  // at the front to the longest (the series end together, as in NF's dataset), a window is a
  // time position of all series at once, usable when some series has an available point in its
  // input and some in its horizon, and a step draws windows_batch_size of those positions (as
  // NF, with NF's draws) and gives, per position, one row per series in the epoch's series
  // order: [W * N, L] rows, window-major. Every step takes all series (NF's batch_size is at
  // least n_series), so every step is an epoch. A shard takes every shard_count-th position.
  bool multivariate = false;
};

// Series k is values[offsets[k] .. offsets[k + 1]) of a 1-D float tensor; NaN marks a missing
// value.
struct SeriesData {
  torch::Tensor values;
  std::vector<int64_t> offsets;  // size = series + 1
  // Exogenous variables, if any (undefined otherwise): `exog` [N, futr + X] float32 gives each
  // point's values, the `futr` future ones (known for the forecast's horizon too) first, then
  // the historic ones; `statics` [series, S] one row per series. `next_futr` [series, K, futr]
  // holds the future variables of the K points after each series' end, which the forecast from
  // that end reads (DropLast keeps the points it drops there); undefined: not known.
  torch::Tensor exog = {};
  int64_t futr = 0;
  // The categorical ones among them (categorical.h): their columns hold category codes, which
  // are not scaled.
  std::vector<CategoricalExog> categorical = {};
  torch::Tensor statics = {};
  torch::Tensor next_futr = {};
};

// The series without their last `n` points each (NF trains on what is left before the
// validation part); a series shorter than n becomes empty. The future variables of the points
// dropped go to the front of next_futr.
SeriesData DropLast(const SeriesData& series, int64_t n);

// The number of points of the longest series (0 without series).
int64_t LongestSeries(const SeriesData& series);

// One batch, scaled: the model's input [B, L]; the horizon [B, H] (training batches only);
// the scale [B, 1].
struct TrainBatch {
  WindowBatch input;  // with its scale
  torch::Tensor outsample_y, outsample_mask;
};

class WindowedDataset {
 public:
  // InvalidArgument when no series has a usable window.
  static Result<WindowedDataset> Make(const SeriesData& series, const WindowOptions& options);

  const WindowOptions& options() const { return options_; }
  int64_t num_series() const { return static_cast<int64_t>(series_bases_.size()); }
  // Rows: windows of one series, or for a multivariate dataset one per series and position.
  int64_t num_windows() const { return static_cast<int64_t>(starts_.size()); }

  // Every usable window, unscaled, in series then time order (multivariate: time, then series):
  // values and masks [W, L + H].
  torch::Tensor AllWindows() const;
  torch::Tensor AllMasks() const;
  // The windows of one training step (see the file comment), scaled. With `merge_repeats`, a
  // window drawn c times appears once with input.weight c (the draws, and so the random stream,
  // are the same either way). `rng` draws them unless they are NF's (NfDraws()).
  Result<TrainBatch> Sample(std::mt19937_64& rng, bool merge_repeats = false);
  // Whether Sample() draws from libtorch's default CPU generator, as NF's training.
  bool NfDraws() const { return options_.nf_draws && options_.shard_count == 1; }
  // Per series, the last input_size points (the input of the forecast after its end), scaled:
  // insample [S, L] and scale [S, 1]. With future variables, their horizon part is the series'
  // next_futr (InvalidArgument when it does not cover the horizon).
  Result<TrainBatch> LastWindows() const;
  // The validation windows of NF's val_size (at least the horizon, as NF requires): per series,
  // the windows of its last input_size + val_size points, step_size apart from the first, each
  // horizon inside the last val_size points (NF 3.3's _create_windows(step="val")).
  // Multivariate: those positions with a row per series (window-major).
  // Build it on the full series; train on DropLast(series, val_size).
  Result<TrainBatch> ValidationWindows(int64_t val_size) const;

  // The sampler's position (epoch order of the series and cursor), for checkpoints.
  std::vector<int64_t> SamplerState() const;
  Status SetSamplerState(const std::vector<int64_t>& state);

 private:
  // A new epoch's series order, drawn as NF's data loader draws it (see the file comment).
  void ShuffleAsNf();
  // A new epoch's series order, as NF's or from `rng`.
  Status Shuffle(std::mt19937_64& rng);
  // `want` indices into n windows, drawn as NF's (with windows_batch_size <= 0: all n, in
  // order) or from `rng` (see the file comment).
  Result<std::vector<int64_t>> Draw(int64_t n, int64_t want, std::mt19937_64& rng) const;
  // Sample() of a multivariate dataset.
  Result<TrainBatch> SampleTimes(std::mt19937_64& rng);
  // The windows at `starts` (offsets into padded_): input and, `with_horizon`, the horizon.
  // Without it, `horizon_futr` [B, H, F] is the future variables' horizon part (when F > 0).
  TrainBatch Gather(const torch::Tensor& starts, bool with_horizon,
                    const torch::Tensor& horizon_futr = {}) const;
  // The exogenous variables of the windows at `starts` (see WindowBatch), into batch.input.
  void GatherExog(const torch::Tensor& starts, const torch::Tensor& idx,
                  const torch::Tensor& horizon_futr, TrainBatch& batch) const;

  WindowOptions options_;
  torch::Tensor padded_;                 // flat float32, zeros where missing or padded
  torch::Tensor padded_mask_;            // flat float32, 1 where available
  torch::Tensor padded_exog_;            // [padded points, F + X], zeros where padded
  int64_t futr_ = 0;                     // F: the first columns of padded_exog_
  torch::Tensor unscaled_;               // [F + X] bool: category codes; undefined: none
  torch::Tensor statics_;                // [series, S]
  torch::Tensor bases_;                  // series_bases_ as a tensor, with statics_
  torch::Tensor next_futr_;              // SeriesData::next_futr
  std::vector<int64_t> starts_;          // usable window starts (offsets into padded_)
  std::vector<int64_t> series_windows_;  // series k's windows: starts_[sw[k] .. sw[k + 1])
                                         // (univariate)
  std::vector<int64_t> times_;           // multivariate: usable positions (from each base)
  std::vector<int64_t> series_bases_;    // offset of series k's first (padding) point
  std::vector<int64_t> series_begins_;   // offset of series k's first real value
  std::vector<int64_t> series_ends_;     // offset just past series k's last real value
  std::vector<int64_t> order_;           // epoch order of the series
  size_t cursor_ = 0;
};

// NF's masked MAE: sum(|y - y_hat| * mask) / sum(mask) (0 when the mask is empty).
torch::Tensor MaskedMae(const torch::Tensor& y, const torch::Tensor& y_hat,
                        const torch::Tensor& mask);

}  // namespace drc::dl
