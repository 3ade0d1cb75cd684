// RMoK, the reversible mixture of KAN experts (Han et al., "KAN4TSF: Are KAN and KAN-based models
// Effective for Time Series Forecasting?", 2024), as NeuralForecast 3.3's RMoK, layer for layer.
// It is multivariate (TrainDefaults::multivariate): a window holds every series over the same L
// steps, [W, L, N], and NF's RevINMultivariate normalises each series' window (mean and
// population std over the L steps plus 1e-5, an affine weight and bias per series with
// revin_affine). The series are then forecast one by one, x [W * N, L] after dropout, by four
// experts from L to h, mixed by a softmax gate (Linear(L, 4)):
//   - a Taylor KAN: sum over the inputs and the powers i < taylor_order of c[o, l, i] * x_l^i,
//     plus a bias;
//   - a Jacobi KAN: the Jacobi polynomials P_0 .. P_jacobi_degree (a = b = 1) of tanh(x), weighted
//     per input and output;
//   - a wavelet KAN: wavelet((x_l - t[o, l]) / s[o, l]) weighted by w[o, l] and summed over the
//     inputs, then BatchNorm1d over the h outputs (the wavelet_function: mexican_hat, morlet, dog,
//     meyer or shannon, NF's formulas);
//   - a Linear(L, h).
// NF's wavelet layer also has a weight1 that its forward never reads (trainable in NF, without a
// gradient): it is not built here; its initial draws are made and dropped, so that a seed gives
// NF's initial weights (the count of parameters is NF's less h * L, or h * Q * L with Q outputs
// per step).
//
// NF defaults: taylor_order 3, jacobi_degree 6, wavelet_function mexican_hat, dropout 0.1,
// revin_affine on; Adam lr 1e-3 without LR decays, 32 windows per step, the identity scaler.
// With Q outputs per step (MQLoss, a DistributionLoss) every expert gives h * Q, as NF's.
#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/model.h"
#include "src/dl/revin.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "RMoK";

struct RmokOptions {
  int taylor_order = 3, jacobi_degree = 6;
  int wavelet = 0;  // index in named_params.h's wavelet_function names
  double dropout = 0.1;
  bool revin_affine = true;
};

// The wavelet of NF's WaveKANLayer on the scaled inputs u = (x - t) / s, [B, h, L].
torch::Tensor Wavelet(const torch::Tensor& u, int kind) {
  constexpr double kPi = 3.14159265358979323846;
  switch (kind) {
    case 0:  // mexican_hat
      return (2 / (std::sqrt(3.0) * std::pow(kPi, 0.25))) * (torch::pow(u, 2) - 1) *
             torch::exp(-0.5 * torch::pow(u, 2));
    case 1:  // morlet, omega0 5
      return torch::exp(-0.5 * torch::pow(u, 2)) * torch::cos(5.0 * u);
    case 2:  // dog
      return -u * torch::exp(-0.5 * torch::pow(u, 2));
    case 3: {  // meyer
      const torch::Tensor v = torch::abs(u);
      const torch::Tensor t = 2 * v - 1;
      const torch::Tensor nu =
          torch::pow(t, 4) * (35 - 84 * t + 70 * torch::pow(t, 2) - 20 * torch::pow(t, 3));
      const torch::Tensor aux =
          torch::where(v <= 0.5, torch::ones_like(v),
                       torch::where(v >= 1, torch::zeros_like(v), torch::cos(kPi / 2 * nu)));
      return torch::sin(kPi * v) * aux;
    }
    default: {  // shannon: sinc times a Hamming window over the inputs
      const torch::Tensor window =
          torch::hamming_window(u.size(-1), /*periodic=*/false,
                                torch::TensorOptions().dtype(u.dtype()).device(u.device()));
      return torch::sinc(u / kPi) * window;
    }
  }
}

class Rmok final : public ForecastModel {
 public:
  Rmok(const ModelConfig& c, const RmokOptions& o)
      : input_size_(c.input_size),
        horizon_(c.horizon),
        n_series_(c.n_series),
        outputs_(c.outputs),
        o_(o) {
    const int64_t L = input_size_, h = horizon_ * outputs_;  // each expert's outputs
    // Built in NF's order, so that a seed gives NF's initial weights.
    taylor_ = register_parameter("experts_0_coeffs", torch::randn({h, L, o.taylor_order}) * 0.01);
    taylor_bias_ = register_parameter("experts_0_bias", torch::zeros({1, h}));
    jacobi_ =
        register_parameter("experts_1_jacobi_coeffs", torch::empty({L, h, o.jacobi_degree + 1}));
    torch::NoGradGuard no_grad;
    jacobi_.normal_(0.0, 1.0 / static_cast<double>(L * (o.jacobi_degree + 1)));
    scale_ = register_parameter("experts_2_scale", torch::ones({h, L}));
    translation_ = register_parameter("experts_2_translation", torch::zeros({h, L}));
    wavelet_weights_ = register_parameter("experts_2_wavelet_weights", torch::empty({h, L}));
    torch::nn::init::kaiming_uniform_(wavelet_weights_, std::sqrt(5.0));
    torch::Tensor unused = torch::empty({h, L});  // NF's weight1, never read
    torch::nn::init::kaiming_uniform_(unused, std::sqrt(5.0));
    wavelet_norm_ = register_module("experts_2_bn", torch::nn::BatchNorm1d(h));
    linear_ = register_module("experts_3", torch::nn::Linear(L, h));
    gate_ = register_module("gate", torch::nn::Linear(L, 4));
    RevINOptions r;
    r.num_features = n_series_;
    r.affine = o.revin_affine;
    r.eps_in_denormalize = false;
    rev_ = register_module("rev", std::make_shared<RevIN>(r));
  }

  RepeatedDraws Repeats() const override { return RepeatedDraws::kCompute; }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kNone; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    const torch::Tensor y = MultivariateWindows(kName, batch.insample_y, n_series_, input_size_);
    const int64_t W = y.size(0), N = n_series_, L = input_size_, h = horizon_ * outputs_;
    // NF's [W, L, N], laid out series by series as NF's windows are, so that NF's dropout masks
    // fall where NF's do.
    torch::Tensor x = rev_->Normalize(y.permute({0, 2, 1}));
    x = Dropout(x, o_.dropout, is_training()).permute({0, 2, 1}).reshape({W * N, L});
    const torch::Tensor score = torch::softmax(Dense(gate_, x), -1);  // [W * N, 4]
    const torch::Tensor experts =
        torch::stack({Taylor(x), Jacobi(x), Wave(x), Dense(linear_, x)}, -1);  // [W * N, h, 4]
    torch::Tensor z = torch::bmm(experts, score.unsqueeze(-1)).view({W, N, h});
    z = rev_->Denormalize(z.permute({0, 2, 1})).permute({0, 2, 1});  // [W, N, h]
    return MultivariateRows(z, horizon_, outputs_);
  }

 private:
  // sum over l and i of c[o, l, i] x_l^i, plus the bias: one product over the [l, i] pairs.
  torch::Tensor Taylor(const torch::Tensor& x) const {
    std::vector<torch::Tensor> powers;
    for (int i = 0; i < o_.taylor_order; ++i) powers.push_back(torch::pow(x, i));
    const torch::Tensor p = torch::stack(powers, -1).flatten(1);  // [B, L * order]
    return torch::mm(p, taylor_.flatten(1).t()) + taylor_bias_;
  }

  // NF's Jacobi recurrence with a = b = 1 on tanh(x), then sum over inputs and degrees.
  torch::Tensor Jacobi(const torch::Tensor& x) const {
    constexpr double a = 1.0, b = 1.0;
    const torch::Tensor t = torch::tanh(x);
    std::vector<torch::Tensor> p = {torch::ones_like(t)};
    if (o_.jacobi_degree > 0) p.push_back(((a + b + 2) * t + (a - b)) / 2);
    for (int i = 2; i <= o_.jacobi_degree; ++i) {
      const double k = 2.0 * i + a + b;
      const double theta_k = k * (k - 1) / (2 * i * (i + a + b));
      const double theta_k1 = (k - 1) * (a * a - b * b) / (2 * i * (i + a + b) * (k - 2));
      const double theta_k2 = (i + a - 1) * (i + b - 1) * k / (i * (i + a + b) * (k - 2));
      p.push_back((theta_k * t + theta_k1) * p[i - 1] - theta_k2 * p[i - 2]);
    }
    const torch::Tensor polys = torch::stack(p, -1).flatten(1);  // [B, L * (degree + 1)]
    return torch::mm(polys, jacobi_.permute({0, 2, 1}).reshape({-1, horizon_ * outputs_}));
  }

  torch::Tensor Wave(const torch::Tensor& x) {
    if (o_.wavelet == 0 && x.is_cpu() && x.scalar_type() == torch::kFloat) {  // mexican_hat
      return wavelet_norm_->forward(MexicanHatWavelets(x, translation_, scale_, wavelet_weights_));
    }
    const torch::Tensor u = (x.unsqueeze(1) - translation_) / scale_;  // [B, h, L]
    return wavelet_norm_->forward((Wavelet(u, o_.wavelet) * wavelet_weights_).sum(2));
  }

  int64_t input_size_, horizon_, n_series_, outputs_;
  RmokOptions o_;
  torch::Tensor taylor_, taylor_bias_, jacobi_, scale_, translation_, wavelet_weights_;
  torch::nn::BatchNorm1d wavelet_norm_{nullptr};
  torch::nn::Linear linear_{nullptr}, gate_{nullptr};
  std::shared_ptr<RevIN> rev_;
};

Result<std::shared_ptr<ForecastModel>> MakeRmok(const ModelConfig& config) {
  Params p(kName, config.params);
  RmokOptions o;
  o.taylor_order = p.TakeInt("taylor_order", o.taylor_order);
  o.jacobi_degree = p.TakeInt("jacobi_degree", o.jacobi_degree);
  o.wavelet = p.TakeInt("wavelet_function", o.wavelet);
  o.dropout = p.Take("dropout", o.dropout);
  const double affine = p.Take("revin_affine", 1);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "taylor_order", o.taylor_order, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "jacobi_degree", o.jacobi_degree, 0));
  DRC_RETURN_NOT_OK(CheckNamedCode(kName, "wavelet_function", o.wavelet));
  DRC_RETURN_NOT_OK(CheckRate(kName, "dropout", o.dropout));
  DRC_RETURN_NOT_OK(CheckFlag(kName, "revin_affine", affine));
  o.revin_affine = affine == 1;
  DRC_RETURN_NOT_OK(CheckMultivariateConfig(kName, config));
  return std::shared_ptr<ForecastModel>(std::make_shared<Rmok>(config, o));
}

}  // namespace

Status RegisterRmokModels(ModelRegistry& registry) {
  return registry.Register(kName, MakeRmok, MultivariateTrainDefaults());
}

}  // namespace drc::dl
