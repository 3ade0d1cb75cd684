// Categorical exogenous variables, as NeuralForecast 3.3's cat_exog_list (internal to src/dl).
//
// A categorical variable's column holds category codes: 1..cardinality for the categories seen
// in training (in sorted order of their values), 0 for any other (a value first seen in the
// forecast's part, or a null). The codes bypass the window scaler (windows.h). Before the model
// reads a batch, each kind's columns (future, historic, static) become its continuous columns,
// in their order, followed by one learned embedding per categorical column (nn.Embedding with
// cardinality + 1 rows), in the order of ModelConfig::categorical, as NF's BaseModel
// `_embed_stream` does. Code 0 reads the mean of the learned rows 1..cardinality instead of its
// own row (NF's `_lookup_embedding`), so an unseen category sits in the middle of the seen ones.
//
// The model itself sees only wider exogenous inputs: ModelRegistry::Make builds it with
// EmbeddedConfig's counts and wraps it in a CategoricalExogModel.
#pragma once

#include <torch/nn/modules/embedding.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "drc/common/result.h"
#include "src/dl/model.h"

namespace drc::dl {

// The embedding width of a variable with `cardinality` categories under NF's cat_emb_dim
// strategy: "fastai" min(50, ceil(1.6 c^0.56)) (NF's default), "sqrt" min(50, ceil(sqrt c)),
// "half" min(50, (c + 1) / 2), or a positive whole number written out ("8"). InvalidArgument
// names the others.
Result<int> CatEmbeddingDim(const std::string& strategy, int cardinality);

// `config` as the wrapped model is built: each kind's count is its continuous columns plus the
// widths of its embeddings, and no column is categorical.
ModelConfig EmbeddedConfig(const ModelConfig& config);

using ModelMaker = std::function<Result<std::shared_ptr<ForecastModel>>(const ModelConfig& config)>;

class CategoricalExogModel final : public ForecastModel {
 public:
  // Builds the embeddings, drawing their initial weights from the default generator first
  // (historic, future, then static ones, as NF's base class does before the model's layers),
  // then the model by `make(EmbeddedConfig(config))`. `recurrent` (TrainDefaults::recurrent):
  // the historic inputs are followed by `horizon` steps of code 0 and zeros (NF zeroes a
  // recurrent model's historic variables after the input window before embedding them), so that
  // those steps read the unseen-category embedding. InvalidArgument for an entry that names no
  // column of its kind or has a cardinality or width below 1.
  static Result<std::shared_ptr<ForecastModel>> Make(const ModelConfig& config,
                                                     const ModelMaker& make, bool recurrent);

  torch::Tensor Forward(const WindowBatch& batch) override;
  torch::Tensor TrainingLoss(const WindowBatch& batch, const torch::Tensor& y,
                             const torch::Tensor& mask) override;
  torch::Tensor PointForecast(const WindowBatch& batch) override;
  QuantileForecast Quantiles(const WindowBatch& batch, const torch::Tensor& q) override;
  void SetPointLoss(const PointLoss& loss) override {
    ForecastModel::SetPointLoss(loss);
    inner_->SetPointLoss(loss);
  }
  RepeatedDraws Repeats() const override { return inner_->Repeats(); }
  WindowParallelism WindowParallel() const override { return inner_->WindowParallel(); }

  // The batch as the wrapped model reads it.
  WindowBatch Embed(const WindowBatch& batch) const;
  const ForecastModel& inner() const { return *inner_; }

 private:
  // One kind's columns: which are continuous, and the categorical ones with their embeddings.
  struct Stream {
    torch::Tensor continuous;  // int64 column indices; undefined: none
    std::vector<int64_t> columns;
    std::vector<torch::nn::Embedding> embeddings;
  };
  CategoricalExogModel() = default;
  torch::Tensor EmbedStream(const Stream& stream, const torch::Tensor& x) const;

  Stream streams_[3];  // by CategoricalExog::Kind
  bool recurrent_ = false;
  int64_t horizon_ = 0;
  std::shared_ptr<ForecastModel> inner_;
};

}  // namespace drc::dl
