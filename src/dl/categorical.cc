#include "src/dl/categorical.h"

#include <torch/nn/module.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "src/dl/torch_status.h"

namespace drc::dl {

namespace {

int KindCount(const ModelConfig& config, CategoricalExog::Kind kind) {
  switch (kind) {
    case CategoricalExog::kFutr: return config.futr_exog;
    case CategoricalExog::kHist: return config.hist_exog;
    case CategoricalExog::kStat: return config.stat_exog;
  }
  return 0;
}

int& KindCount(ModelConfig& config, CategoricalExog::Kind kind) {
  switch (kind) {
    case CategoricalExog::kFutr: return config.futr_exog;
    case CategoricalExog::kHist: return config.hist_exog;
    case CategoricalExog::kStat: break;
  }
  return config.stat_exog;
}

const char* KindKey(CategoricalExog::Kind kind) {
  switch (kind) {
    case CategoricalExog::kFutr: return "futr_exog";
    case CategoricalExog::kHist: return "hist_exog";
    case CategoricalExog::kStat: break;
  }
  return "stat_exog";
}

}  // namespace

Result<int> CatEmbeddingDim(const std::string& strategy, int cardinality) {
  if (cardinality < 1) {
    return Status::InvalidArgument("cat_emb_dim: cardinality must be >= 1, got ", cardinality);
  }
  const double c = cardinality;
  if (strategy == "fastai")
    return std::min(50, static_cast<int>(std::ceil(1.6 * std::pow(c, 0.56))));
  if (strategy == "sqrt") return std::min(50, static_cast<int>(std::ceil(std::sqrt(c))));
  if (strategy == "half") return std::min(50, (cardinality + 1) / 2);
  const bool digits =
      !strategy.empty() && strategy.size() <= 6 &&
      std::all_of(strategy.begin(), strategy.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (digits && std::stoi(strategy) >= 1) return std::stoi(strategy);
  return Status::InvalidArgument("cat_emb_dim '", strategy,
                                 "': expected fastai, sqrt, half or a whole number >= 1");
}

ModelConfig EmbeddedConfig(const ModelConfig& config) {
  ModelConfig inner = config;
  inner.categorical.clear();
  for (const CategoricalExog& c : config.categorical) KindCount(inner, c.kind) += c.dim - 1;
  return inner;
}

Result<std::shared_ptr<ForecastModel>> CategoricalExogModel::Make(const ModelConfig& config,
                                                                  const ModelMaker& make,
                                                                  bool recurrent) {
  std::vector<int64_t> used[3];
  for (const CategoricalExog& c : config.categorical) {
    const int count = KindCount(config, c.kind);
    auto& seen = used[c.kind];
    if (c.column < 0 || c.column >= count ||
        std::find(seen.begin(), seen.end(), c.column) != seen.end()) {
      return Status::InvalidArgument("categorical ", KindKey(c.kind), " column ", c.column,
                                     ": expected a distinct column in [0, ", count, ")");
    }
    if (c.cardinality < 1 || c.dim < 1) {
      return Status::InvalidArgument("categorical ", KindKey(c.kind), " column ", c.column,
                                     ": cardinality and embedding width must be >= 1, got ",
                                     c.cardinality, " and ", c.dim);
    }
    seen.push_back(c.column);
  }
  std::shared_ptr<CategoricalExogModel> model(new CategoricalExogModel());
  model->recurrent_ = recurrent;
  model->horizon_ = config.horizon;
  // NF's BaseModel builds the historic embeddings, then the future and static ones, all before
  // the model's own layers: the same draws from a seeded generator.
  for (auto kind : {CategoricalExog::kHist, CategoricalExog::kFutr, CategoricalExog::kStat}) {
    Stream& stream = model->streams_[kind];
    std::vector<int64_t> continuous;
    for (int64_t i = 0; i < KindCount(config, kind); ++i) {
      if (std::find(used[kind].begin(), used[kind].end(), i) == used[kind].end()) {
        continuous.push_back(i);
      }
    }
    if (!continuous.empty()) stream.continuous = torch::tensor(continuous, torch::kInt64);
    for (const CategoricalExog& c : config.categorical) {
      if (c.kind != kind) continue;
      stream.columns.push_back(c.column);
      const std::string name =
          std::string(KindKey(kind)) + "_embedding_" + std::to_string(stream.embeddings.size());
      stream.embeddings.push_back(model->register_module(
          name, torch::nn::Embedding(torch::nn::EmbeddingOptions(c.cardinality + 1, c.dim))));
    }
  }
  DRC_ASSIGN_OR_RETURN(auto inner, make(EmbeddedConfig(config)));
  if (!inner) return Status::Internal("the model factory returned null");
  model->inner_ = model->register_module("model", std::move(inner));
  return std::shared_ptr<ForecastModel>(std::move(model));
}

torch::Tensor CategoricalExogModel::EmbedStream(const Stream& stream,
                                                const torch::Tensor& x) const {
  if (!x.defined() || stream.embeddings.empty()) return x;
  std::vector<torch::Tensor> pieces;
  if (stream.continuous.defined()) {
    pieces.push_back(x.index_select(-1, stream.continuous.to(x.device())));
  }
  for (size_t i = 0; i < stream.embeddings.size(); ++i) {
    const auto& table = stream.embeddings[i]->weight;
    auto codes = x.select(-1, stream.columns[i]).to(torch::kInt64);
    // Code 0 (a category not seen in training) reads the mean of the learned rows.
    auto unseen = table.slice(0, 1).mean(0);
    pieces.push_back(
        torch::where((codes == 0).unsqueeze(-1), unseen, torch::embedding(table, codes)));
  }
  return torch::cat(pieces, -1);
}

WindowBatch CategoricalExogModel::Embed(const WindowBatch& batch) const {
  WindowBatch out = batch;
  out.futr_exog = EmbedStream(streams_[CategoricalExog::kFutr], batch.futr_exog);
  torch::Tensor hist = batch.hist_exog;
  if (recurrent_ && hist.defined() && !streams_[CategoricalExog::kHist].embeddings.empty()) {
    hist =
        torch::cat({hist, torch::zeros({hist.size(0), horizon_, hist.size(2)}, hist.options())}, 1);
  }
  out.hist_exog = EmbedStream(streams_[CategoricalExog::kHist], hist);
  out.stat_exog = EmbedStream(streams_[CategoricalExog::kStat], batch.stat_exog);
  return out;
}

torch::Tensor CategoricalExogModel::Forward(const WindowBatch& batch) {
  return inner_->Forward(Embed(batch));
}

torch::Tensor CategoricalExogModel::TrainingLoss(const WindowBatch& batch, const torch::Tensor& y,
                                                 const torch::Tensor& mask) {
  return inner_->TrainingLoss(Embed(batch), y, mask);
}

torch::Tensor CategoricalExogModel::PointForecast(const WindowBatch& batch) {
  return inner_->PointForecast(Embed(batch));
}

QuantileForecast CategoricalExogModel::Quantiles(const WindowBatch& batch, const torch::Tensor& q) {
  return inner_->Quantiles(Embed(batch), q);
}

}  // namespace drc::dl
