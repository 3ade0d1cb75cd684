// Trains one model of the zoo on a WindowedDataset as NeuralForecast does by default: Adam(lr),
// StepLR(step_size = max(max_steps / num_lr_decays, 1), gamma 0.5) per step (no decay when
// num_lr_decays <= 0), optional gradient-norm clipping, MAE on the masked horizon in the scaled
// space, `max_steps` steps. Seeds: torch::manual_seed(seed) before the model is built (its
// initial weights) and a std::mt19937_64(seed) for window sampling, so runs are repeatable.
//
// libtorch's seed and thread count are process-wide: one Trainer at a time per process.
// Internal to src/dl (it exposes torch types).
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "drc/common/result.h"
#include "src/dl/model.h"
#include "src/dl/windows.h"

namespace drc::dl {

struct TrainOptions {
  int max_steps = 100;
  double learning_rate = 1e-3;
  int num_lr_decays = 3;
  double grad_clip_norm = 0;  // 0: none
  uint64_t seed = 1;
  int threads = 0;  // torch intra-op threads; 0: all cores
};

// The options NeuralForecast uses for a model with these defaults.
TrainOptions OptionsFrom(const TrainDefaults& defaults, int max_steps, uint64_t seed);
// The window options NeuralForecast uses for a model with these defaults.
Result<WindowOptions> WindowOptionsFrom(const TrainDefaults& defaults, int input_size, int horizon);

class Trainer {
 public:
  // Builds `name` from the registry (seeded first). Errors name the model.
  static Result<std::unique_ptr<Trainer>> Make(const std::string& name, const ModelConfig& config,
                                               const TrainOptions& options,
                                               const ModelRegistry& registry);

  // Runs max_steps steps; returns the loss of the last step. Errors name the model and the
  // shapes of the batch.
  Result<double> Fit(WindowedDataset& data);
  // One forecast per series from its last input window, in the original scale: [S, H].
  Result<torch::Tensor> Predict(const WindowedDataset& data);

  ForecastModel& model() { return *model_; }
  const std::vector<double>& losses() const { return losses_; }

 private:
  Trainer(std::string name, ModelConfig config, TrainOptions options,
          std::shared_ptr<ForecastModel> model)
      : name_(std::move(name)),
        config_(std::move(config)),
        options_(options),
        model_(std::move(model)),
        rng_(options.seed) {}

  std::string name_;
  ModelConfig config_;
  TrainOptions options_;
  std::shared_ptr<ForecastModel> model_;
  std::mt19937_64 rng_;
  std::vector<double> losses_;
};

}  // namespace drc::dl
