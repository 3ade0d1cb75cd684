// The doubly residual stacking shared by NBEATS and NHITS (internal to the model zoo): blocks
// read the reversed, masked input window, each block's backcast is subtracted from the
// residuals it passes on, and the forecasts of all blocks add up on top of the last input
// value (NeuralForecast's "naive level").
#pragma once

#include <torch/types.h>

#include <memory>
#include <vector>

#include "src/dl/model.h"

namespace drc::dl {

// Block::forward(residuals, batch) returns {backcast [B, L], forecast [B, H]} ([B, H, Q] with
// Q = `outputs` > 1, every output on the same level); `batch` gives the blocks that read them
// the exogenous variables (not reversed, as NF's).
template <typename Block>
torch::Tensor ResidualStackForecast(const WindowBatch& batch, int64_t horizon, int64_t outputs,
                                    const std::vector<std::shared_ptr<Block>>& blocks) {
  auto residuals = batch.insample_y.flip({-1});
  auto mask = batch.insample_mask.flip({-1});
  auto level = batch.insample_y.slice(1, -1);  // [B, 1]
  auto forecast = outputs == 1 ? level.expand({-1, horizon})
                               : level.unsqueeze(-1).expand({-1, horizon, outputs});
  for (const auto& block : blocks) {
    auto [backcast, block_forecast] = block->forward(residuals, batch);
    residuals = (residuals - backcast) * mask;
    forecast = forecast + block_forecast;
  }
  return forecast;
}

}  // namespace drc::dl
