// StemGNN, the spectral temporal graph network (Cao et al., "Spectral Temporal Graph Neural
// Network for Multivariate Time-series Forecasting", NeurIPS 2020), as NeuralForecast 3.3's
// StemGNN, layer for layer. It is multivariate (TrainDefaults::multivariate): a window holds every
// series over the same L steps, x [W, L, N].
//   - Latent correlation: a GRU(L, N) reads the series as a sequence of N steps (each series'
//     window one step); from its outputs a key and a query per series give attention logits
//     key_i + query_j, LeakyReLU(leaky_rate), softmax over j, dropout. Their mean over the batch,
//     symmetrised, is the graph; its normalised Laplacian (the degrees taken before the
//     symmetrisation, as NF's) gives NF's four "Chebyshev" orders [0, L, 2L^2, 4L^3 - 3L] (NF's
//     first order is zeros, not the identity).
//   - n_stacks (2) StemGNN blocks on [W, 1, N, L]: the four graph convolutions of the window, an
//     FFT over the four orders, three GLU layers each on its real and imaginary parts (4L ->
//     4 * multi_layer * L), an inverse real FFT back to four orders, a learned mixing of those
//     (weight [4, 5L, 5L] with multi_layer 5) summed over the orders, then the block's forecast
//     (Linear(5L, 5L), sigmoid, Linear(5L, L)) and, in the first block, the backcast that feeds
//     the second (sigmoid(Linear(5L, L) - Linear(L, L) of the block's input)).
//   - The blocks' forecasts are summed and mapped to h by Linear(L, L), LeakyReLU, Linear(L, h).
//
// NF builds the backcast's shortcut in the second block too and never reads it: it is not built
// here; its initial draws are made and dropped (the count of parameters is NF's less L * L + L).
// On a single series the graph is one node, whose Laplacian is zero: every order is zero, and
// the forecast does not read the window (NF's neither); StemGNN needs several series.
//
// NF defaults: n_stacks 2 (the only value NF's takes), multi_layer 5, dropout_rate 0.5, leaky_rate
// 0.2; Adam lr 1e-3 with 3 LR decays, 32 windows per step, the robust scaler. Not built:
// exclude_insample_y (NF's forward ignores it). With Q outputs per step (MQLoss, a
// DistributionLoss) the last Linear gives h * Q per series, as NF's (MultivariateRows).
#include <torch/nn/init.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/fused_rnn.h"
#include "src/dl/model.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "StemGNN";

struct StemGnnOptions {
  int multi_layer = 5;
  double dropout = 0.5, leaky_rate = 0.2;
};

// NF's GLU: Linear(in, out)(x) * sigmoid(Linear(in, out)(x)); Forward(x, start, count) computes
// only the outputs [start, start + count), which are those of the full product.
struct Glu {
  Glu(torch::nn::Module& m, const std::string& at, int64_t in, int64_t out) {
    left = m.register_module(at + "linear_left", torch::nn::Linear(in, out));
    right = m.register_module(at + "linear_right", torch::nn::Linear(in, out));
  }
  torch::Tensor Forward(const torch::Tensor& x) {
    return Dense(left, x) * torch::sigmoid(Dense(right, x));
  }
  torch::Tensor Forward(const torch::Tensor& x, int64_t start, int64_t count) {
    const torch::Tensor rows = x.reshape({-1, x.size(-1)});
    auto part = [&](torch::nn::Linear& l) {
      return Linear2d(rows, l->weight.narrow(0, start, count), l->bias.narrow(0, start, count));
    };
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = count;
    return (part(left) * torch::sigmoid(part(right))).view(shape);
  }
  torch::nn::Linear left{nullptr}, right{nullptr};
};

// NF's StockBlockLayer: x [W, 1, N, L] and the orders [4, N, N] -> the block's forecast
// [W, N, L] and, with a backcast, the next block's input [W, 1, N, L].
class StemBlock {
 public:
  StemBlock(torch::nn::Module& m, const std::string& at, int64_t L, int multi, bool backcast)
      : width_(L * multi) {
    weight_ = m.register_parameter(at + "weight", torch::empty({1, 4, 1, width_, width_}));
    {
      torch::NoGradGuard no_grad;
      torch::nn::init::xavier_normal_(weight_);
    }
    forecast_ = m.register_module(at + "forecast", torch::nn::Linear(width_, width_));
    forecast_result_ = m.register_module(at + "forecast_result", torch::nn::Linear(width_, L));
    if (backcast) backcast_ = m.register_module(at + "backcast", torch::nn::Linear(width_, L));
    if (backcast) {
      backcast_short_cut_ = m.register_module(at + "backcast_short_cut", torch::nn::Linear(L, L));
    } else {  // NF builds it in every block and reads it in the first only
      torch::nn::Linear unused(L, L);
    }
    const int64_t out = 4 * width_;
    for (int i = 0; i < 6; ++i) {
      glus_.emplace_back(m, at + "GLUs_" + std::to_string(i) + "_", i < 2 ? 4 * L : out, out);
    }
  }

  // The FFT over the four orders is a 4-point DFT, whose coefficients are 0 and +-1: sums and
  // differences of the orders' convolutions. NF's inverse (irfft, n = 4) reads the real parts of
  // frequencies 0 to 2 and the imaginary part of frequency 1 only, so the last GLUs compute just
  // those outputs (the others get no gradient in NF, and stay as initialised).
  std::pair<torch::Tensor, torch::Tensor> Forward(const torch::Tensor& x,
                                                  const torch::Tensor& orders) {
    const int64_t W = x.size(0), N = x.size(2), L = x.size(3);
    // The graph convolutions of each order, [W, 4, N, L].
    const torch::Tensor conv = torch::matmul(orders, x);
    const torch::Tensor c0 = conv.select(1, 0), c1 = conv.select(1, 1), c2 = conv.select(1, 2),
                        c3 = conv.select(1, 3);
    const torch::Tensor even = c0 + c2, odd = c1 + c3, c0_c2 = c0 - c2, c3_c1 = c3 - c1;
    const torch::Tensor zeros = torch::zeros_like(c0);
    // Per series, frequency-major as NF's: [W, N, 4L].
    torch::Tensor real =
        torch::stack({even + odd, c0_c2, even - odd, c0_c2}, 2).view({W, N, 4 * L});
    torch::Tensor imag = torch::stack({zeros, c3_c1, zeros, -c3_c1}, 2).view({W, N, 4 * L});
    for (int i = 0; i < 2; ++i) {
      real = glus_[2 * i].Forward(real);
      imag = glus_[2 * i + 1].Forward(imag);
    }
    real = glus_[4].Forward(real, 0, 3 * width_).view({W, N, 3, width_});  // frequencies 0-2
    const torch::Tensor i1 = glus_[5].Forward(imag, width_, width_);       // frequency 1
    const torch::Tensor r0 = real.select(2, 0), r1 = real.select(2, 1), r2 = real.select(2, 2);
    // The inverse of order k: (r0 + 2 (r1 cos(k pi / 2) - i1 sin(k pi / 2)) + r2 cos(k pi)) / 4.
    const torch::Tensor sum02 = r0 + r2, diff02 = r0 - r2;
    const torch::Tensor back = torch::stack(
        {(sum02 + 2 * r1) / 4, (diff02 - 2 * i1) / 4, (sum02 - 2 * r1) / 4, (diff02 + 2 * i1) / 4},
        2);  // [W, N, 4, width]
    // Each order's learned mixing, summed over the orders: one product, [W, N, width].
    const torch::Tensor mixed =
        torch::mm(back.view({W * N, 4 * width_}), weight_.view({4 * width_, width_}))
            .view({W, N, width_});
    const torch::Tensor forecast = Dense(forecast_result_, torch::sigmoid(Dense(forecast_, mixed)));
    if (!backcast_) return {forecast, {}};
    const torch::Tensor shortcut = Dense(backcast_short_cut_, x.squeeze(1));
    return {forecast, torch::sigmoid(Dense(backcast_, mixed) - shortcut).unsqueeze(1)};
  }

 private:
  int64_t width_;
  torch::Tensor weight_;
  torch::nn::Linear forecast_{nullptr}, forecast_result_{nullptr}, backcast_{nullptr},
      backcast_short_cut_{nullptr};
  std::vector<Glu> glus_;
};

class StemGnn final : public ForecastModel {
 public:
  StemGnn(const ModelConfig& c, const StemGnnOptions& o)
      : input_size_(c.input_size),
        horizon_(c.horizon),
        n_series_(c.n_series),
        outputs_(c.outputs),
        o_(o) {
    const int64_t L = input_size_, N = n_series_;
    // Built in NF's order, so that a seed gives NF's initial weights.
    weight_key_ = register_parameter("weight_key", torch::zeros({N, 1}));
    weight_query_ = register_parameter("weight_query", torch::zeros({N, 1}));
    {
      torch::NoGradGuard no_grad;
      torch::nn::init::xavier_uniform_(weight_key_, 1.414);
      torch::nn::init::xavier_uniform_(weight_query_, 1.414);
    }
    gru_ = register_module("GRU", torch::nn::GRU(torch::nn::GRUOptions(L, N)));
    for (int i = 0; i < 2; ++i) {
      blocks_.emplace_back(*this, "stock_block_" + std::to_string(i) + "_", L, o.multi_layer,
                           i == 0);
    }
    fc_0_ = register_module("fc_0", torch::nn::Linear(L, L));
    fc_2_ = register_module("fc_2", torch::nn::Linear(L, horizon_ * outputs_));
  }

  RepeatedDraws Repeats() const override { return RepeatedDraws::kCompute; }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kNone; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor y = MultivariateWindows(kName, batch.insample_y, n_series_, input_size_);
    const torch::Tensor orders = Orders(y);
    torch::Tensor x = y.unsqueeze(1);  // [W, 1, N, L]
    torch::Tensor forecast;
    for (StemBlock& b : blocks_) {
      auto [f, next] = b.Forward(x, orders);
      forecast = forecast.defined() ? forecast + f : f;
      x = next;
    }
    // [W, N, h * Q]
    const torch::Tensor z = Dense(fc_2_, torch::leaky_relu(Dense(fc_0_, forecast)));
    return MultivariateRows(z, horizon_, outputs_);
  }

 private:
  // NF's latent_correlation_layer: the four orders [4, N, N] of the batch's graph.
  torch::Tensor Orders(const torch::Tensor& y) {
    const int64_t N = n_series_;
    // The series as the GRU's sequence: [N, W, L] -> [N, W, N] -> [W, N (hidden), N (series)].
    const torch::Tensor states =
        std::get<0>(FusedGru(gru_, y.permute({1, 0, 2}))).permute({1, 2, 0});
    const torch::Tensor key = torch::matmul(states, weight_key_);      // [W, N, 1]
    const torch::Tensor query = torch::matmul(states, weight_query_);  // [W, N, 1]
    torch::Tensor attention =
        torch::softmax(torch::leaky_relu(key + query.transpose(1, 2), o_.leaky_rate), 2);
    attention = Dropout(attention.contiguous(), o_.dropout, is_training()).mean(0);
    const torch::Tensor degree = attention.sum(1);
    attention = 0.5 * (attention + attention.t());
    const torch::Tensor scale = torch::diag(1 / (torch::sqrt(degree) + 1e-7));
    const torch::Tensor laplacian =
        torch::matmul(scale, torch::matmul(torch::diag(degree) - attention, scale));
    const torch::Tensor first = torch::zeros({1, N, N}, y.options());
    const torch::Tensor second = laplacian.unsqueeze(0);
    const torch::Tensor third = 2 * torch::matmul(second, second) - first;
    const torch::Tensor fourth = 2 * torch::matmul(second, third) - second;
    return torch::cat({first, second, third, fourth}, 0);
  }

  int64_t input_size_, horizon_, n_series_, outputs_;
  StemGnnOptions o_;
  torch::Tensor weight_key_, weight_query_;
  torch::nn::GRU gru_{nullptr};
  std::vector<StemBlock> blocks_;
  torch::nn::Linear fc_0_{nullptr}, fc_2_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeStemGnn(const ModelConfig& config) {
  Params p(kName, config.params);
  StemGnnOptions o;
  const int stacks = p.TakeInt("n_stacks", 2);
  o.multi_layer = p.TakeInt("multi_layer", o.multi_layer);
  o.dropout = p.Take("dropout_rate", o.dropout);
  o.leaky_rate = p.Take("leaky_rate", o.leaky_rate);
  DRC_RETURN_NOT_OK(p.Finish());
  if (stacks != 2) {
    return Status::InvalidArgument(kName, ": n_stacks must be 2 (NF's StemGNN takes only 2), got ",
                                   stacks);
  }
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "multi_layer", o.multi_layer, 1));
  DRC_RETURN_NOT_OK(CheckRate(kName, "dropout_rate", o.dropout));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "leaky_rate", o.leaky_rate, 0));
  DRC_RETURN_NOT_OK(CheckMultivariateConfig(kName, config));
  return std::shared_ptr<ForecastModel>(std::make_shared<StemGnn>(config, o));
}

}  // namespace

Status RegisterStemGnnModels(ModelRegistry& registry) {
  TrainDefaults d = MultivariateTrainDefaults();
  d.num_lr_decays = 3;
  d.scaler = "robust";
  return registry.Register(kName, MakeStemGnn, d);
}

}  // namespace drc::dl
