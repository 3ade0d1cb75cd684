#include "src/dl/trainer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/schedulers/step_lr.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "src/dl/torch_status.h"

namespace drc::dl {

TrainOptions OptionsFrom(const TrainDefaults& defaults, int max_steps, uint64_t seed) {
  TrainOptions o;
  o.max_steps = max_steps;
  o.learning_rate = defaults.learning_rate;
  o.num_lr_decays = defaults.num_lr_decays;
  o.grad_clip_norm = defaults.grad_clip_norm;
  o.seed = seed;
  return o;
}

Result<WindowOptions> WindowOptionsFrom(const TrainDefaults& defaults, int input_size,
                                        int horizon) {
  WindowOptions w;
  w.input_size = input_size;
  w.horizon = horizon;
  w.batch_size = defaults.batch_size;
  w.windows_batch_size = defaults.windows_batch_size;
  DRC_ASSIGN_OR_RETURN(w.scaler, ParseScalerType(defaults.scaler));
  return w;
}

Result<std::unique_ptr<Trainer>> Trainer::Make(const std::string& name, const ModelConfig& config,
                                               const TrainOptions& options,
                                               const ModelRegistry& registry) {
  if (options.max_steps < 0) {
    return Status::InvalidArgument(name, ": max_steps must be >= 0, got ", options.max_steps);
  }
  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  DRC_RETURN_NOT_OK(Guard(name + ": seeding", [&] {
    torch::set_num_threads(threads);
    torch::manual_seed(options.seed);
  }));
  DRC_ASSIGN_OR_RETURN(auto model, registry.Make(name, config));
  if (!model) return Status::Internal(name, ": the model factory returned null");
  return std::unique_ptr<Trainer>(new Trainer(name, config, options, std::move(model)));
}

Result<double> Trainer::Fit(WindowedDataset& data) {
  if (data.options().input_size != config_.input_size ||
      data.options().horizon != config_.horizon) {
    return Status::InvalidArgument(name_, ": windows of input_size ", data.options().input_size,
                                   " and horizon ", data.options().horizon,
                                   " for a model built for ", config_.input_size, " and ",
                                   config_.horizon);
  }
  torch::optim::Adam optimizer(model_->parameters(),
                               torch::optim::AdamOptions(options_.learning_rate));
  const int64_t decay_steps =
      options_.num_lr_decays > 0 ? std::max<int64_t>(options_.max_steps / options_.num_lr_decays, 1)
                                 : int64_t{100000000};  // NF: 10e7, i.e. never
  torch::optim::StepLR scheduler(optimizer, static_cast<unsigned>(decay_steps), 0.5);
  model_->train();
  double last = std::nan("");
  for (int step = 0; step < options_.max_steps; ++step) {
    DRC_ASSIGN_OR_RETURN(TrainBatch batch, data.Sample(rng_));
    DRC_ASSIGN_OR_RETURN(
        double loss,
        Guard(name_ + " training step " + std::to_string(step) + " on input " +
                  ShapeOf(batch.input.insample_y),
              [&]() -> Result<double> {
                optimizer.zero_grad();
                auto l = model_->TrainingLoss(batch.input, batch.outsample_y,
                                              batch.outsample_mask);
                l.backward();
                if (options_.grad_clip_norm > 0) {
                  torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.grad_clip_norm);
                }
                optimizer.step();
                scheduler.step();
                return l.item<double>();
              }));
    if (!std::isfinite(loss)) {
      return Status::FailedPrecondition(name_, ": training loss is ", loss, " at step ", step);
    }
    losses_.push_back(loss);
    last = loss;
  }
  return last;
}

Result<torch::Tensor> Trainer::Predict(const WindowedDataset& data) {
  DRC_ASSIGN_OR_RETURN(TrainBatch batch, data.LastWindows());
  return Guard(name_ + " forecast on input " + ShapeOf(batch.input.insample_y),
               [&]() -> Result<torch::Tensor> {
                 torch::NoGradGuard no_grad;
                 model_->eval();
                 auto y_hat = model_->PointForecast(batch.input);
                 const int64_t s = batch.input.insample_y.size(0);
                 if (y_hat.dim() != 2 || y_hat.size(0) != s || y_hat.size(1) != config_.horizon) {
                   return Status::InvalidArgument(name_, ": forward gave ", ShapeOf(y_hat),
                                                  " for input ", ShapeOf(batch.input.insample_y),
                                                  "; expected [", s, ", ", config_.horizon, "]");
                 }
                 return InvertScale(y_hat, batch.scale);
               });
}

}  // namespace drc::dl
