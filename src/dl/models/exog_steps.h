// How NeuralForecast's encoder-decoder models read exogenous variables (internal to the model
// zoo): the encoder (RNN, LSTM, GRU, TCN) reads at each input step y, the historic variables,
// the static ones and the future ones, and the decoder reads at each horizon step its context
// beside the future variables there.
#pragma once

#include <torch/types.h>

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

}  // namespace drc::dl
