#include "src/dl/windows.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

constexpr double kEps = 1e-6;

// Masked median along dim 1 (the lower one for even counts, as torch.nanmedian); 0 where the
// mask is empty.
torch::Tensor MaskedMedian(const torch::Tensor& x, const torch::Tensor& mask) {
  auto x_nan = x.masked_fill(mask < 1, std::numeric_limits<float>::quiet_NaN());
  auto median = std::get<0>(torch::nanmedian(x_nan, /*dim=*/1, /*keepdim=*/true));
  return torch::nan_to_num(median, 0.0);
}

torch::Tensor MaskedMean(const torch::Tensor& x, const torch::Tensor& mask) {
  auto count = mask.sum(1, /*keepdim=*/true);
  return torch::where(count > 0, (x * mask).sum(1, true) / count.clamp_min(1),
                      torch::zeros_like(count));
}

// x [B, T, C] scaled channel by channel with statistics over its first L points where
// in_mask [B, L] is 1 (NF's TemporalNorm over the exogenous columns, fitted with y's mask).
torch::Tensor ScaleChannels(ScalerType type, const torch::Tensor& x, const torch::Tensor& in_mask) {
  if (type == ScalerType::kIdentity) return x;
  const int64_t B = x.size(0), L = in_mask.size(1), C = x.size(2);
  auto input = x.slice(1, 0, L).permute({0, 2, 1}).reshape({B * C, L});
  auto mask = in_mask.unsqueeze(1).expand({B, C, L}).reshape({B * C, L});
  WindowScale s = FitWindowScale(type, input, mask);
  return (x - s.shift.view({B, 1, C})) / s.scale.view({B, 1, C});
}

}  // namespace

Result<ScalerType> ParseScalerType(const std::string& name) {
  if (name == "identity") return ScalerType::kIdentity;
  if (name == "standard") return ScalerType::kStandard;
  if (name == "robust") return ScalerType::kRobust;
  if (name == "minmax") return ScalerType::kMinMax;
  if (name == "revin") return ScalerType::kRevIN;
  return Status::InvalidArgument("unknown scaler '", name,
                                 "' (identity, standard, robust, minmax or revin)");
}

WindowScale FitWindowScale(ScalerType type, const torch::Tensor& x, const torch::Tensor& mask) {
  const auto b = x.size(0);
  WindowScale s;
  if (type == ScalerType::kIdentity) {
    s.shift = torch::zeros({b, 1}, x.options());
    s.scale = torch::ones({b, 1}, x.options());
    return s;
  }
  auto mean = MaskedMean(x, mask);
  auto var = MaskedMean((x - mean).pow(2), mask);
  if (type == ScalerType::kRevIN) {
    s.shift = mean;
    s.scale = torch::sqrt(var + 1e-5);
    return s;
  }
  auto std = torch::sqrt(var);
  switch (type) {
    case ScalerType::kStandard:
      s.shift = mean;
      s.scale = std;
      break;
    case ScalerType::kRobust: {
      s.shift = MaskedMedian(x, mask);
      auto mad = MaskedMedian((x - s.shift).abs(), mask);
      s.scale = torch::where(mad > 0, mad, std * 0.6744897501960817);
      break;
    }
    default: {  // kMinMax
      const float inf = std::numeric_limits<float>::infinity();
      auto lo = x.masked_fill(mask < 1, inf).amin(1, true);
      auto hi = x.masked_fill(mask < 1, -inf).amax(1, true);
      auto empty = mask.sum(1, true) == 0;
      s.shift = torch::where(empty, torch::zeros_like(lo), lo);
      s.scale = torch::where(empty, torch::zeros_like(lo), hi - lo);
      break;
    }
  }
  s.scale = torch::where(s.scale == 0, torch::ones_like(s.scale), s.scale) + kEps;
  return s;
}

torch::Tensor ApplyScale(const torch::Tensor& x, const WindowScale& s) {
  if (x.dim() == 3) return (x - s.shift.unsqueeze(-1)) / s.scale.unsqueeze(-1);
  return (x - s.shift) / s.scale;
}

torch::Tensor InvertScale(const torch::Tensor& z, const WindowScale& s) {
  if (z.dim() == 3) return z * s.scale.unsqueeze(-1) + s.shift.unsqueeze(-1);
  return z * s.scale + s.shift;
}

torch::Tensor MaskedMae(const torch::Tensor& y, const torch::Tensor& y_hat,
                        const torch::Tensor& mask) {
  auto total = mask.sum();
  return torch::where(total > 0, ((y - y_hat).abs() * mask).sum() / total.clamp_min(1e-12),
                      torch::zeros_like(total));
}

Result<WindowedDataset> WindowedDataset::Make(const SeriesData& series, const WindowOptions& o) {
  if (o.shard_count <= 0 || o.shard_rank < 0 || o.shard_rank >= o.shard_count) {
    return Status::InvalidArgument("windows: shard ", o.shard_rank, " of ", o.shard_count,
                                   " (need 0 <= shard_rank < shard_count)");
  }
  if (o.input_size <= 0 || o.horizon <= 0 || o.step_size <= 0 || o.batch_size <= 0) {
    return Status::InvalidArgument(
        "windows: input_size, horizon, step_size and batch_size must "
        "be > 0, got ",
        o.input_size, ", ", o.horizon, ", ", o.step_size, ", ", o.batch_size);
  }
  if (series.offsets.empty() || series.offsets.front() != 0 ||
      series.offsets.back() != series.values.numel() ||
      !std::is_sorted(series.offsets.begin(), series.offsets.end())) {
    return Status::InvalidArgument("windows: series offsets do not cover the ",
                                   series.values.numel(), " values");
  }
  const int64_t L = o.input_size, H = o.horizon, n_series = series.offsets.size() - 1;
  const bool has_exog = series.exog.defined() && series.exog.size(1) > 0;
  if (has_exog && (series.exog.dim() != 2 || series.exog.size(0) != series.values.numel() ||
                   series.futr < 0 || series.futr > series.exog.size(1))) {
    return Status::InvalidArgument("windows: exogenous values ", ShapeOf(series.exog), " for ",
                                   series.values.numel(), " points (", series.futr, " future)");
  }
  if (series.statics.defined() &&
      (series.statics.dim() != 2 || series.statics.size(0) != n_series)) {
    return Status::InvalidArgument("windows: static values ", ShapeOf(series.statics), " for ",
                                   n_series, " series");
  }
  if (series.next_futr.defined() &&
      (series.next_futr.dim() != 3 || series.next_futr.size(0) != n_series ||
       series.next_futr.size(2) != series.futr)) {
    return Status::InvalidArgument("windows: future values after the series' ends ",
                                   ShapeOf(series.next_futr), " for ", n_series, " series and ",
                                   series.futr, " future variables");
  }
  WindowedDataset ds;
  ds.options_ = o;
  int64_t window_index = 0;  // over all series, before sharding
  DRC_RETURN_NOT_OK(Guard("windows over values " + ShapeOf(series.values), [&] {
    auto values = series.values.to(torch::kFloat32).contiguous();
    auto avail = values.isnan().logical_not().to(torch::kFloat32);
    values = torch::nan_to_num(values, 0.0);
    const float* v = values.data_ptr<float>();
    const float* m = avail.data_ptr<float>();
    std::vector<float> padded, padded_mask;
    std::vector<int64_t> source;  // per padded point, its row of series.exog (-1: padding)
    const int64_t n_points = series.values.numel();
    auto pad = [&](int64_t count) {
      padded.insert(padded.end(), count, 0.0f);
      padded_mask.insert(padded_mask.end(), count, 0.0f);
      if (has_exog) source.insert(source.end(), count, int64_t{-1});
    };
    ds.series_windows_.push_back(0);
    const int64_t longest = LongestSeries(series) + std::max<int64_t>(0, o.longer_elsewhere);
    const bool mv = o.multivariate;
    // Multivariate: every series padded to one length, at least the input's (the forecast's
    // input reads L points of each); per position, the available points of all series.
    const int64_t mv_extra = std::max<int64_t>(0, L - longest - (o.start_padding ? L - 1 : 0));
    // Every series then has the same padded length, hence the same positions.
    const int64_t mv_len = (o.start_padding ? L - 1 : 0) + longest + mv_extra + H;
    const size_t mv_positions =
        mv && mv_len >= L + H ? static_cast<size_t>((mv_len - L - H) / o.step_size + 1) : 0;
    std::vector<int64_t> mv_in(mv_positions, 0), mv_out(mv_positions, 0);
    for (int64_t k = 0; k < n_series; ++k) {
      const int64_t begin = series.offsets[k], n = series.offsets[k + 1] - begin;
      // NF pads every series at the front to the longest (its TimeSeriesDataset), so a shorter
      // series has windows that start up to L - 1 points before its first point too; more
      // padding would give windows without an available input point. Its windows start
      // step_size apart from the front of that padding. A multivariate dataset keeps all of it.
      const int64_t nf_front = (o.start_padding ? L - 1 : 0) + (longest - n);
      const int64_t front =
          mv ? nf_front + mv_extra
             : std::max(std::min(nf_front, L - 1), std::max<int64_t>(0, L + 1 - n));
      const int64_t first = mv ? 0 : ((front - nf_front) % o.step_size + o.step_size) % o.step_size;
      const int64_t base = static_cast<int64_t>(padded.size());
      ds.series_bases_.push_back(base);
      pad(front);
      ds.series_begins_.push_back(static_cast<int64_t>(padded.size()));
      padded.insert(padded.end(), v + begin, v + begin + n);
      padded_mask.insert(padded_mask.end(), m + begin, m + begin + n);
      for (int64_t i = 0; has_exog && i < n; ++i) source.push_back(begin + i);
      ds.series_ends_.push_back(static_cast<int64_t>(padded.size()));
      pad(H);
      // Usable windows: >= 1 available point in the input and >= 1 in the horizon.
      const int64_t len = front + n + H;
      std::vector<int64_t> csum(len + 1, 0);
      for (int64_t i = 0; i < len; ++i) {
        csum[i + 1] = csum[i] + (padded_mask[base + i] > 0 ? 1 : 0);
      }
      for (int64_t p = first, i = 0; p + L + H <= len; p += o.step_size, ++i) {
        const int64_t in = csum[p + L] - csum[p], out = csum[p + L + H] - csum[p + L];
        if (mv) {
          mv_in[i] += in;
          mv_out[i] += out;
        } else if (in > 0 && out > 0 && window_index++ % o.shard_count == o.shard_rank) {
          ds.starts_.push_back(base + p);
        }
      }
      ds.series_windows_.push_back(static_cast<int64_t>(ds.starts_.size()));
    }
    for (size_t i = 0; i < mv_in.size(); ++i) {
      if (mv_in[i] > 0 && mv_out[i] > 0 && window_index++ % o.shard_count == o.shard_rank) {
        const int64_t p = static_cast<int64_t>(i) * o.step_size;
        ds.times_.push_back(p);
        for (const int64_t base : ds.series_bases_) ds.starts_.push_back(base + p);
      }
    }
    ds.padded_ = torch::tensor(padded, torch::kFloat32);
    ds.padded_mask_ = torch::tensor(padded_mask, torch::kFloat32);
    if (has_exog) {
      // Padding reads the zero row appended after the last point.
      auto exog = series.exog.to(torch::kFloat32);
      auto rows = torch::tensor(source, torch::kInt64);
      rows = torch::where(rows < 0, torch::full_like(rows, n_points), rows);
      ds.padded_exog_ = torch::cat({exog, torch::zeros({1, exog.size(1)}, exog.options())})
                            .index_select(0, rows)
                            .contiguous();
      ds.futr_ = series.futr;
      for (const CategoricalExog& c : series.categorical) {
        if (c.kind == CategoricalExog::kStat) continue;
        if (!ds.unscaled_.defined()) ds.unscaled_ = torch::zeros({exog.size(1)}, torch::kBool);
        ds.unscaled_[c.kind == CategoricalExog::kFutr ? c.column : series.futr + c.column] = true;
      }
    }
    if (series.statics.defined()) {
      ds.statics_ = series.statics.to(torch::kFloat32).contiguous();
      ds.bases_ = torch::tensor(ds.series_bases_, torch::kInt64);
    }
    if (series.next_futr.defined()) ds.next_futr_ = series.next_futr.to(torch::kFloat32);
  }));
  if (ds.padded_exog_.defined() && torch::isnan(ds.padded_exog_).any().item<bool>()) {
    return Status::InvalidArgument("windows: exogenous values are missing (NaN)");
  }
  if (ds.starts_.empty() && o.shard_count > 1 && window_index > 0) {
    return Status::InvalidArgument("windows: shard ", o.shard_rank, " of ", o.shard_count,
                                   " has no training window (", window_index,
                                   " windows in all); use fewer ranks");
  }
  if (ds.starts_.empty()) {
    return Status::InvalidArgument("windows: no training window (", n_series,
                                   " series; each needs a window of input_size ", L, " + horizon ",
                                   H, " with available points in both parts)");
  }
  ds.order_.resize(n_series);
  std::iota(ds.order_.begin(), ds.order_.end(), 0);
  ds.cursor_ = ds.order_.size();  // shuffled on the first Sample()
  return ds;
}

torch::Tensor WindowedDataset::AllWindows() const {
  auto starts = torch::tensor(starts_, torch::kInt64);
  auto idx = starts.unsqueeze(1) + torch::arange(options_.input_size + options_.horizon);
  return padded_.take(idx);
}

torch::Tensor WindowedDataset::AllMasks() const {
  auto starts = torch::tensor(starts_, torch::kInt64);
  auto idx = starts.unsqueeze(1) + torch::arange(options_.input_size + options_.horizon);
  return padded_mask_.take(idx);
}

void WindowedDataset::GatherExog(const torch::Tensor& starts, const torch::Tensor& idx,
                                 const torch::Tensor& horizon_futr, TrainBatch& batch) const {
  const int64_t L = options_.input_size, B = idx.size(0), T = idx.size(1);
  const auto& in_mask = batch.input.insample_mask;
  if (padded_exog_.defined()) {
    const int64_t C = padded_exog_.size(1);
    auto exog = padded_exog_.index_select(0, idx.reshape({-1})).view({B, T, C});
    // Scaled channel by channel, but for the category codes.
    auto scale = [&](const torch::Tensor& x, int64_t first) {
      auto scaled = ScaleChannels(options_.scaler, x, in_mask);
      if (!unscaled_.defined() || options_.scaler == ScalerType::kIdentity) return scaled;
      return torch::where(unscaled_.slice(0, first, first + x.size(2)), x, scaled);
    };
    if (futr_ > 0) {
      auto futr = exog.slice(2, 0, futr_);
      if (horizon_futr.defined()) futr = torch::cat({futr, horizon_futr}, 1);
      batch.input.futr_exog = scale(futr, 0).contiguous();
    }
    if (C > futr_) {
      batch.input.hist_exog = scale(exog.slice(1, 0, L).slice(2, futr_, C), futr_).contiguous();
    }
  }
  if (statics_.defined()) {
    // Each window's series: the last whose first (padding) point is at or before its start.
    auto series = torch::searchsorted(bases_, starts, /*out_int32=*/false, /*right=*/true) - 1;
    batch.input.stat_exog = statics_.index_select(0, series);
  }
}

TrainBatch WindowedDataset::Gather(const torch::Tensor& starts, bool with_horizon,
                                   const torch::Tensor& horizon_futr) const {
  const int64_t L = options_.input_size, H = options_.horizon;
  auto idx = starts.unsqueeze(1) + torch::arange(with_horizon ? L + H : L);
  auto values = padded_.take(idx);
  auto mask = padded_mask_.take(idx);
  TrainBatch batch;
  auto in_mask = mask.slice(1, 0, L);
  batch.input.scale = FitWindowScale(options_.scaler, values.slice(1, 0, L), in_mask);
  auto scaled = ApplyScale(values, batch.input.scale);
  batch.input.insample_y = scaled.slice(1, 0, L).contiguous();
  batch.input.insample_mask = in_mask.contiguous();
  if (with_horizon) {
    batch.outsample_y = scaled.slice(1, L, L + H).contiguous();
    batch.outsample_mask = mask.slice(1, L, L + H).contiguous();
  }
  GatherExog(starts, idx, horizon_futr, batch);
  return batch;
}

Status WindowedDataset::Shuffle(std::mt19937_64& rng) {
  if (NfDraws()) return Guard("shuffling the series", [&] { ShuffleAsNf(); });
  std::shuffle(order_.begin(), order_.end(), rng);
  return Status::OK();
}

Result<std::vector<int64_t>> WindowedDataset::Draw(int64_t n, int64_t want,
                                                   std::mt19937_64& rng) const {
  std::vector<int64_t> picks(want);
  if (NfDraws() && options_.windows_batch_size <= 0) {  // NF's arange: every window, no draws
    std::iota(picks.begin(), picks.end(), 0);
  } else if (NfDraws()) {
    DRC_RETURN_NOT_OK(Guard("drawing training windows", [&] {
      const torch::Tensor drawn = n < want ? torch::randint(0, n, {want}, torch::kInt64)
                                           : torch::randperm(n, torch::kInt64).slice(0, 0, want);
      std::copy(drawn.data_ptr<int64_t>(), drawn.data_ptr<int64_t>() + want, picks.begin());
    }));
  } else if (n < want) {
    std::uniform_int_distribution<int64_t> pick(0, n - 1);
    for (auto& c : picks) c = pick(rng);
  } else {
    std::vector<int64_t> all(n);
    std::iota(all.begin(), all.end(), 0);
    for (int64_t i = 0; i < want; ++i) {  // partial Fisher-Yates: without replacement
      std::uniform_int_distribution<int64_t> pick(i, n - 1);
      std::swap(all[i], all[pick(rng)]);
      picks[i] = all[i];
    }
  }
  return picks;
}

Result<TrainBatch> WindowedDataset::SampleTimes(std::mt19937_64& rng) {
  if (cursor_ >= order_.size()) {
    DRC_RETURN_NOT_OK(Shuffle(rng));
    cursor_ = 0;
  }
  // NF's batch holds every series, in the epoch's order.
  const std::vector<int64_t> batch(order_.begin() + cursor_, order_.end());
  cursor_ = order_.size();
  const int64_t n = static_cast<int64_t>(times_.size());
  DRC_ASSIGN_OR_RETURN(
      const auto picks,
      Draw(n, options_.windows_batch_size > 0 ? options_.windows_batch_size : n, rng));
  std::vector<int64_t> rows;
  rows.reserve(picks.size() * batch.size());
  for (const int64_t t : picks) {
    for (const int64_t k : batch) rows.push_back(series_bases_[k] + times_[t]);
  }
  return Guard("sampling training windows",
               [&] { return Gather(torch::tensor(rows, torch::kInt64), /*with_horizon=*/true); });
}

Result<TrainBatch> WindowedDataset::Sample(std::mt19937_64& rng, bool merge_repeats) {
  if (options_.multivariate) return SampleTimes(rng);
  // The next batch of series with at least one window (an epoch-shuffled order).
  std::vector<int64_t> candidates;
  for (size_t tries = 0; candidates.empty() && tries <= order_.size() + 1; ++tries) {
    if (cursor_ >= order_.size()) {
      DRC_RETURN_NOT_OK(Shuffle(rng));
      cursor_ = 0;
    }
    const size_t end = std::min(order_.size(), cursor_ + options_.batch_size);
    std::vector<int64_t> batch(order_.begin() + cursor_, order_.begin() + end);
    cursor_ = end;
    for (const int64_t k : batch) {
      for (int64_t w = series_windows_[k]; w < series_windows_[k + 1]; ++w) {
        candidates.push_back(starts_[w]);
      }
    }
  }
  const int64_t n = static_cast<int64_t>(candidates.size());
  const int64_t want = options_.windows_batch_size > 0 ? options_.windows_batch_size : n;
  DRC_ASSIGN_OR_RETURN(const auto picks, Draw(n, want, rng));
  std::vector<int64_t> chosen(want);
  for (int64_t i = 0; i < want; ++i) chosen[i] = candidates[picks[i]];
  if (merge_repeats && n < want) {
    std::sort(chosen.begin(), chosen.end());
    std::vector<int64_t> unique;
    std::vector<float> counts;
    for (int64_t start : chosen) {
      if (unique.empty() || unique.back() != start) {
        unique.push_back(start);
        counts.push_back(0);
      }
      ++counts.back();
    }
    return Guard("sampling training windows", [&] {
      TrainBatch batch = Gather(torch::tensor(unique, torch::kInt64), /*with_horizon=*/true);
      batch.input.weight = torch::tensor(counts, torch::kFloat32);
      return batch;
    });
  }
  return Guard("sampling training windows",
               [&] { return Gather(torch::tensor(chosen, torch::kInt64), /*with_horizon=*/true); });
}

Result<TrainBatch> WindowedDataset::LastWindows() const {
  std::vector<int64_t> starts;
  for (int64_t end : series_ends_) starts.push_back(end - options_.input_size);
  const int64_t H = options_.horizon;
  torch::Tensor horizon_futr;
  if (futr_ > 0) {
    if (!next_futr_.defined() || next_futr_.size(1) < H) {
      return Status::InvalidArgument(
          "forecast windows: the future exogenous variables are known for ",
          next_futr_.defined() ? next_futr_.size(1) : 0, " points after each series' end; the ",
          "forecast needs the horizon's ", H);
    }
    horizon_futr = next_futr_.slice(1, 0, H);
  }
  return Guard("forecast input windows", [&] {
    return Gather(torch::tensor(starts, torch::kInt64), /*with_horizon=*/false, horizon_futr);
  });
}

SeriesData DropLast(const SeriesData& series, int64_t n) {
  SeriesData out;
  out.offsets.push_back(0);
  out.futr = series.futr;
  out.categorical = series.categorical;
  out.statics = series.statics;
  const bool exog = series.exog.defined();
  const int64_t F = series.futr;
  std::vector<torch::Tensor> parts, exog_parts, dropped;
  for (size_t k = 0; k + 1 < series.offsets.size(); ++k) {
    const int64_t begin = series.offsets[k], end = series.offsets[k + 1];
    const int64_t keep = std::max<int64_t>(0, end - begin - n);
    parts.push_back(series.values.slice(0, begin, begin + keep));
    out.offsets.push_back(out.offsets.back() + keep);
    if (!exog) continue;
    exog_parts.push_back(series.exog.slice(0, begin, begin + keep));
    if (F == 0) continue;
    // The future variables of the points dropped; a series shorter than n pads them with zeros
    // at the front (its forecast then starts before its first point and is never read).
    auto after = series.exog.slice(0, begin + keep, end).slice(1, 0, F);
    if (after.size(0) < n) {
      after = torch::cat({torch::zeros({n - after.size(0), F}, after.options()), after});
    }
    dropped.push_back(after);
  }
  out.values = parts.empty() ? series.values.slice(0, 0, 0) : torch::cat(parts);
  if (exog) out.exog = exog_parts.empty() ? series.exog.slice(0, 0, 0) : torch::cat(exog_parts);
  if (exog && F > 0 && !dropped.empty()) {
    out.next_futr = torch::stack(dropped);
    if (series.next_futr.defined())
      out.next_futr = torch::cat({out.next_futr, series.next_futr}, 1);
  }
  return out;
}

int64_t LongestSeries(const SeriesData& series) {
  int64_t longest = 0;
  for (size_t k = 0; k + 1 < series.offsets.size(); ++k) {
    longest = std::max(longest, series.offsets[k + 1] - series.offsets[k]);
  }
  return longest;
}

Result<TrainBatch> WindowedDataset::ValidationWindows(int64_t val_size) const {
  if (val_size <= 0) {
    return Status::InvalidArgument("validation windows: val_size must be > 0, got ", val_size);
  }
  const int64_t L = options_.input_size, H = options_.horizon;
  if (val_size < H) {
    return Status::InvalidArgument("validation windows: val_size must be at least the horizon ", H,
                                   " (NF's rule), got ", val_size);
  }
  // NF's: the windows of the last input_size + val_size points, step_size apart from the first,
  // each horizon inside the last val_size points.
  // A window that would start before the series' front padding has no input point (NF's
  // forecasts it from zeros): left out, the others kept on NF's grid.
  const int64_t step = options_.step_size;
  auto first = [&](int64_t end, int64_t lowest) {
    const int64_t p = end - val_size - L;
    return p >= lowest ? p : p + (lowest - p + step - 1) / step * step;
  };
  std::vector<int64_t> starts;
  if (options_.multivariate && !series_bases_.empty()) {
    // Every series ends at the same place after its base: per position, a row per series in
    // the table's order.
    const int64_t end = series_ends_[0] - series_bases_[0];
    for (int64_t p = first(end, 0); p + L + H <= end; p += step) {
      for (const int64_t base : series_bases_) starts.push_back(base + p);
    }
  }
  for (size_t k = 0; !options_.multivariate && k < series_ends_.size(); ++k) {
    for (int64_t p = first(series_ends_[k], series_bases_[k]); p + L + H <= series_ends_[k];
         p += step) {
      starts.push_back(p);
    }
  }
  return Guard("validation windows",
               [&] { return Gather(torch::tensor(starts, torch::kInt64), true); });
}

void WindowedDataset::ShuffleAsNf() {
  torch::empty({}, torch::kInt64).random_();  // the data loader's base seed (for its workers)
  const int64_t seed = torch::empty({}, torch::kInt64).random_().item<int64_t>();
  const torch::Tensor perm =
      torch::randperm(static_cast<int64_t>(order_.size()),
                      at::make_generator<at::CPUGeneratorImpl>(seed), torch::kInt64);
  std::copy(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + perm.numel(), order_.begin());
}

std::vector<int64_t> WindowedDataset::SamplerState() const {
  std::vector<int64_t> state = order_;
  state.push_back(static_cast<int64_t>(cursor_));
  return state;
}

Status WindowedDataset::SetSamplerState(const std::vector<int64_t>& state) {
  if (state.size() != order_.size() + 1) {
    return Status::InvalidArgument("sampler state of ", state.size() - 1,
                                   " series for a dataset of ", order_.size());
  }
  std::vector<int64_t> order(state.begin(), state.end() - 1);
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i] != static_cast<int64_t>(i)) {
      return Status::InvalidArgument("sampler state is not a permutation of the series");
    }
  }
  if (state.back() < 0 || state.back() > static_cast<int64_t>(order.size())) {
    return Status::InvalidArgument("sampler cursor ", state.back(), " out of range");
  }
  order_ = std::move(order);
  cursor_ = static_cast<size_t>(state.back());
  return Status::OK();
}

}  // namespace drc::dl
