// How NeuralForecast's encoder-decoder models read exogenous variables (internal to the model
// zoo): the encoder (RNN, LSTM, GRU, TCN) reads at each input step y, the historic variables,
// the static ones and the future ones, and the decoder reads at each horizon step its context
// beside the future variables there.
#pragma once

#include <ATen/ops/constant_pad_nd.h>
#include <torch/types.h>

#include <algorithm>
#include <vector>

#include "src/dl/model.h"

namespace drc::dl {

// [B, L, 1 + X + S + F]: y, hist_exog, stat_exog (repeated per step) and futr_exog over the
// input, per input step; [B, L, 1] when the batch has none.
inline torch::Tensor EncoderSteps(const WindowBatch& batch) {
  const torch::Tensor& y = batch.insample_y;
  std::vector<torch::Tensor> parts = {y.unsqueeze(-1)};
  if (batch.hist_exog.defined()) parts.push_back(batch.hist_exog);
  if (batch.stat_exog.defined()) {
    parts.push_back(batch.stat_exog.unsqueeze(1).expand({-1, y.size(1), -1}));
  }
  if (batch.futr_exog.defined()) parts.push_back(batch.futr_exog.slice(1, 0, y.size(1)));
  return parts.size() == 1 ? parts[0] : torch::cat(parts, 2);
}

// The decoder's input: `context` [B, H, C] with the future variables over the horizon after it,
// [B, H, C + F] (`context` itself when there are none).
inline torch::Tensor WithHorizonFutures(const torch::Tensor& context, const WindowBatch& batch) {
  if (!batch.futr_exog.defined()) return context;
  return torch::cat({context, batch.futr_exog.slice(1, batch.insample_y.size(1))}, 2);
}

// The order of the variables beside y in a recurrent model's steps: NF's RNN, LSTM and GRU read
// [y | hist | stat | futr], its DeepAR [y | hist | futr | stat].
enum class StepOrder { kHistStatFutr, kHistFutrStat };

// NF's RECURRENT windows (DeepAR; RNN, LSTM and GRU with recurrent=True): the step that reads
// value t reads beside it the variables of the value it predicts, at t + 1: the historic ones
// while t + 1 is in the input window (zeros after it), the static ones and the future ones (over
// the horizon too). The steps that read `values` [B, T], from step `first` of the window on:
// [B, T, 1 + X + S + F] in `order`.
inline torch::Tensor ShiftedSteps(const WindowBatch& batch, const torch::Tensor& values,
                                  int64_t first, StepOrder order) {
  const int64_t steps = values.size(1);
  torch::Tensor hist, futr, stat;
  if (batch.hist_exog.defined()) {  // [B, L, X]: zeros from step L on
    const int64_t length = batch.hist_exog.size(1);
    const int64_t begin = std::min(first + 1, length);
    const int64_t end = std::min(first + 1 + steps, length);
    hist =
        at::constant_pad_nd(batch.hist_exog.slice(1, begin, end), {0, 0, 0, steps - (end - begin)});
  }
  if (batch.futr_exog.defined()) {  // [B, L + H, F]
    futr = batch.futr_exog.slice(1, first + 1, first + 1 + steps);
  }
  if (batch.stat_exog.defined()) stat = batch.stat_exog.unsqueeze(1).expand({-1, steps, -1});
  std::vector<torch::Tensor> parts = {values.unsqueeze(-1)};
  const bool stat_first = order == StepOrder::kHistStatFutr;
  for (const torch::Tensor& part : {hist, stat_first ? stat : futr, stat_first ? futr : stat}) {
    if (part.defined()) parts.push_back(part);
  }
  return parts.size() == 1 ? parts[0] : torch::cat(parts, 2);
}

// The variables of a recurrent model's horizon step t >= 1 (which reads step t - 1's forecast),
// for a window of `input_size` values: [B, 1, X + S + F] in `order`, undefined without variables.
inline torch::Tensor HorizonStepExog(const WindowBatch& batch, int64_t input_size, int64_t t,
                                     StepOrder order) {
  const int64_t rows = batch.insample_y.size(0);
  const torch::Tensor steps = ShiftedSteps(
      batch, torch::zeros({rows, 1}, batch.insample_y.options()), input_size - 1 + t, order);
  return steps.size(2) == 1 ? torch::Tensor() : steps.slice(2, 1);
}

}  // namespace drc::dl
