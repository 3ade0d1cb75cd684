// KAN (NeuralForecast 3.3's KAN; Liu et al., "KAN: Kolmogorov-Arnold Networks", 2024): layers
// whose every edge is a learned function, here NF's KANLinear (the "efficient KAN" form): for
// an input x [B, in],
//   out = SiLU(x) W_base^T + B(x) (W_spline * scaler)^T,
// where B(x) [B, in * (G + k)] are the B-spline bases of order k over a fixed grid of G
// intervals on [-1, 1] (extended by k knots on each side), per input feature, and W_spline
// [out, in, G + k] their coefficients, each edge's scaled by its own `spline_scaler`. There is
// no activation between layers: the splines are the non-linearity. Read from NF's models/kan.py;
// written anew here.
//
// Layers: [y (L) | hist (L x X) | futr ((L + H) x F) | stat (S)] flattened as MLP's, then
// n_hidden_layers KANLinear of hidden_size, then one to H (x Q outputs per step with MQLoss or a
// DistributionLoss), read as [B, H(, Q)].
//
// Initial weights, as NF's, in its order per layer: W_base Kaiming-uniform (a = sqrt(5) *
// scale_base); W_spline the least-squares spline fit (the minimum-norm solution: G + 1 points
// for G + k coefficients) to noise uniform in +-scale_noise / (2 G) at the grid's G + 1 inner
// knots; the scalers Kaiming-uniform (a = sqrt(5) * scale_spline). A seed gives NF's initial
// weights (Models.KanLayersAreNfs).
//
// NF defaults: grid_size 5, spline_order 3, scale_noise 0.1, scale_base 1, scale_spline 1,
// enable_standalone_scale_spline true, n_hidden_layers 1, hidden_size 512; Adam lr 1e-3 without
// LR decay, 32 series and 1024 windows per step, identity scaler, MAE.
//
// Differences from NF:
//  - hidden_size is one width for every hidden layer (NF also takes a list, one per layer);
//    grid_range is NF's default [-1, 1] (Params holds numbers: not offered).
//  - NF's update_grid (refitting the grid to the data) and regularization_loss are methods its
//    training never calls; they are not built. grid_eps, read only by update_grid, is accepted
//    and changes nothing, as in NF.
//  - NF's KAN does not pass enable_standalone_scale_spline to its layers, so every layer has
//    its spline scalers whatever the value; the same here (the value is checked, then unused).
#include <torch/linalg.h>
#include <torch/nn/init.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "src/dl/model.h"

namespace drc::dl {
namespace {

constexpr const char* kName = "KAN";

struct KanOptions {
  int grid_size = 5;
  int spline_order = 3;
  double scale_noise = 0.1;
  double scale_base = 1.0;
  double scale_spline = 1.0;
  int n_hidden_layers = 1;
  int hidden_size = 512;
};

class KanLinear final : public torch::nn::Module {
 public:
  KanLinear(int64_t in, int64_t out, const KanOptions& o)
      : in_(in), out_(out), order_(o.spline_order) {
    const int64_t g = o.grid_size, k = o.spline_order;
    const double step = 2.0 / static_cast<double>(g);  // NF's grid_range [-1, 1]
    grid_ = register_buffer(
        "grid",
        (torch::arange(-k, g + k + 1, torch::kFloat32) * step - 1).expand({in, -1}).clone());
    base_weight_ = register_parameter("base_weight", torch::empty({out, in}));
    spline_weight_ = register_parameter("spline_weight", torch::empty({out, in, g + k}));
    // Every layer scales its splines per edge: NF's KAN never turns that off (see the file
    // comment), so the spline weights start unscaled and scale_spline sets the scalers' range.
    spline_scaler_ = register_parameter("spline_scaler", torch::empty({out, in}));
    torch::NoGradGuard no_grad;
    torch::nn::init::kaiming_uniform_(base_weight_, std::sqrt(5.0) * o.scale_base);
    const torch::Tensor noise =
        (torch::rand({g + 1, in, out}) - 0.5) * o.scale_noise / static_cast<double>(g);
    const torch::Tensor knots = grid_.t().slice(0, k, -k);  // [G + 1, in]: the inner knots
    spline_weight_.copy_(CurveToCoefficients(knots, noise));
    torch::nn::init::kaiming_uniform_(spline_scaler_, std::sqrt(5.0) * o.scale_spline);
  }

  // x [B, in] -> [B, out].
  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor weight = spline_weight_ * spline_scaler_.unsqueeze(-1);
    return torch::nn::functional::linear(torch::silu(x), base_weight_) +
           torch::nn::functional::linear(Bases(x).view({x.size(0), -1}), weight.view({out_, -1}));
  }

 private:
  // The B-spline bases of x [N, in] over each feature's grid: [N, in, G + k], by the Cox-de Boor
  // recursion from the order-0 indicators of the grid's intervals.
  torch::Tensor Bases(const torch::Tensor& x) const {
    const torch::Tensor& grid = grid_;  // [in, G + 2k + 1]
    const torch::Tensor v = x.unsqueeze(-1);
    const int64_t n = grid.size(1);
    torch::Tensor bases = ((v >= grid.slice(1, 0, n - 1)) & (v < grid.slice(1, 1))).to(x.dtype());
    for (int64_t k = 1; k <= order_; ++k) {
      const torch::Tensor left = grid.slice(1, 0, n - (k + 1));
      const torch::Tensor right = grid.slice(1, k + 1);
      const int64_t m = bases.size(2);
      bases = (v - left) / (grid.slice(1, k, n - 1) - left) * bases.slice(2, 0, m - 1) +
              (right - v) / (right - grid.slice(1, 1, n - k)) * bases.slice(2, 1);
    }
    return bases.contiguous();
  }

  // The spline coefficients [out, in, G + k] that fit y [N, in, out] at x [N, in], per feature,
  // in the least-squares sense (LAPACK's gelsy, as torch.linalg.lstsq on the CPU).
  torch::Tensor CurveToCoefficients(const torch::Tensor& x, const torch::Tensor& y) const {
    const torch::Tensor a = Bases(x).transpose(0, 1);  // [in, N, G + k]
    const torch::Tensor b = y.transpose(0, 1);         // [in, N, out]
    const torch::Tensor solution =
        std::get<0>(torch::linalg::lstsq(a, b, c10::nullopt, c10::nullopt));
    return solution.permute({2, 0, 1}).contiguous();
  }

  int64_t in_, out_, order_;
  torch::Tensor grid_, base_weight_, spline_weight_, spline_scaler_;
};

class Kan final : public ForecastModel {
 public:
  Kan(const ModelConfig& c, const KanOptions& o)
      : hist_(c.hist_exog),
        futr_(c.futr_exog),
        stat_(c.stat_exog),
        horizon_(c.horizon),
        outputs_(c.outputs) {
    int64_t in = c.input_size + c.hist_exog * c.input_size +
                 c.futr_exog * (c.input_size + c.horizon) + c.stat_exog;
    std::vector<int64_t> widths(o.n_hidden_layers, o.hidden_size);
    widths.push_back(c.horizon * c.outputs);
    for (size_t i = 0; i < widths.size(); ++i) {
      layers_.push_back(register_module("layers" + std::to_string(i),
                                        std::make_shared<KanLinear>(in, widths[i], o)));
      in = widths[i];
    }
  }

  // No dropout, no statistics over the batch.
  RepeatedDraws Repeats() const override { return RepeatedDraws::kMerge; }
  WindowParallelism WindowParallel() const override { return WindowParallelism::kAllowed; }

  torch::Tensor Forward(const WindowBatch& batch) override {
    torch::Tensor x = batch.insample_y;
    const int64_t b = x.size(0);
    x = WithFlatExog(x, batch, hist_, futr_, stat_);
    for (auto& layer : layers_) x = layer->forward(x);
    return outputs_ == 1 ? x : x.view({b, horizon_, outputs_});
  }

 private:
  int hist_, futr_, stat_;
  int64_t horizon_, outputs_;
  std::vector<std::shared_ptr<KanLinear>> layers_;
};

Result<std::shared_ptr<ForecastModel>> MakeKan(const ModelConfig& config) {
  Params p(kName, config.params);
  KanOptions o;
  o.grid_size = p.TakeInt("grid_size", o.grid_size);
  o.spline_order = p.TakeInt("spline_order", o.spline_order);
  o.scale_noise = p.Take("scale_noise", o.scale_noise);
  o.scale_base = p.Take("scale_base", o.scale_base);
  o.scale_spline = p.Take("scale_spline", o.scale_spline);
  const double standalone = p.Take("enable_standalone_scale_spline", 1);
  p.Take("grid_eps", 0.02);  // read only by NF's update_grid, which its training never calls
  o.n_hidden_layers = p.TakeInt("n_hidden_layers", o.n_hidden_layers);
  o.hidden_size = p.TakeInt("hidden_size", o.hidden_size);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "grid_size", o.grid_size, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "spline_order", o.spline_order, 0));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "n_hidden_layers", o.n_hidden_layers, 0));
  DRC_RETURN_NOT_OK(CheckAtLeast(kName, "hidden_size", o.hidden_size, 1));
  // NF's KAN never passes it on: its layers keep the default, true (see the file comment).
  DRC_RETURN_NOT_OK(CheckFlag(kName, "enable_standalone_scale_spline", standalone));
  return std::shared_ptr<ForecastModel>(std::make_shared<Kan>(config, o));
}

}  // namespace

Status RegisterKanModels(ModelRegistry& registry) {
  TrainDefaults d{.num_lr_decays = -1};
  d.ReadAllExog();
  return registry.Register(kName, MakeKan, d);
}

}  // namespace drc::dl
