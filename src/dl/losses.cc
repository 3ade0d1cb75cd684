#include "src/dl/losses.h"

#include <torch/torch.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace drc::dl {

namespace {

// NF's _divide_no_nan: 0 where the denominator is 0.
torch::Tensor DivideNoNan(const torch::Tensor& a, const torch::Tensor& b) {
  auto zero = b == 0;
  return torch::where(zero, torch::zeros_like(a), a / torch::where(zero, torch::ones_like(b), b));
}

const char* BaseName(PointLoss::Kind kind) {
  switch (kind) {
    case PointLoss::kMae: return "MAE";
    case PointLoss::kMse: return "MSE";
    case PointLoss::kRmse: return "RMSE";
    case PointLoss::kMape: return "MAPE";
    case PointLoss::kSmape: return "SMAPE";
    case PointLoss::kHuber: return "HuberLoss";
    case PointLoss::kQuantile: break;
  }
  return "QuantileLoss";
}

}  // namespace

std::string PointLoss::Name() const {
  if (kind != kHuber && kind != kQuantile) return BaseName(kind);
  std::ostringstream out;
  out << BaseName(kind) << "(" << parameter << ")";
  return out.str();
}

Result<PointLoss> ParsePointLoss(const std::string& text) {
  const auto open = text.find('(');
  const std::string name = text.substr(0, open);
  std::string argument;
  if (open != std::string::npos) {
    if (text.back() != ')')
      argument = "?";  // unbalanced: refused below
    else
      argument = text.substr(open + 1, text.size() - open - 2);
  }
  auto fail = [&]() -> Status {
    return Status::InvalidArgument(
        "loss '", text,
        "': expected MAE, MSE, RMSE, MAPE, SMAPE, HuberLoss, HuberLoss(DELTA) with DELTA > 0 or "
        "QuantileLoss(Q) with 0 < Q < 1 (NF's point losses)");
  };
  double number = std::nan("");
  if (!argument.empty()) {
    char* end = nullptr;
    errno = 0;
    number = std::strtod(argument.c_str(), &end);
    if (end != argument.c_str() + argument.size() || errno == ERANGE || std::isnan(number)) {
      return fail();
    }
  } else if (open != std::string::npos) {
    return fail();  // "NAME()"
  }
  PointLoss loss;
  for (auto kind : {PointLoss::kMae, PointLoss::kMse, PointLoss::kRmse, PointLoss::kMape,
                    PointLoss::kSmape, PointLoss::kHuber, PointLoss::kQuantile}) {
    if (name != BaseName(kind)) continue;
    loss.kind = kind;
    if (kind == PointLoss::kHuber) {
      loss.parameter = std::isnan(number) ? 1.0 : number;
      if (!(loss.parameter > 0)) return fail();
    } else if (kind == PointLoss::kQuantile) {
      loss.parameter = number;
      if (!(number > 0 && number < 1)) return fail();
    } else if (open != std::string::npos) {
      return fail();
    }
    return loss;
  }
  return fail();
}

torch::Tensor PointLossTerms(const PointLoss& loss, const torch::Tensor& y,
                             const torch::Tensor& y_hat) {
  auto delta = y - y_hat;
  switch (loss.kind) {
    case PointLoss::kMae: return delta.abs();
    case PointLoss::kMse:
    case PointLoss::kRmse: return delta * delta;
    case PointLoss::kMape: return delta.abs() * DivideNoNan(torch::ones_like(y), y.abs());
    case PointLoss::kSmape: return 2 * DivideNoNan(delta.abs(), y.abs() + y_hat.abs());
    case PointLoss::kHuber: return torch::huber_loss(y, y_hat, at::Reduction::None, loss.parameter);
    case PointLoss::kQuantile: break;
  }
  return torch::max(loss.parameter * delta, (loss.parameter - 1) * delta);
}

torch::Tensor ReducePointLoss(const PointLoss& loss, const torch::Tensor& terms,
                              const torch::Tensor& weights) {
  const auto w = weights.defined() ? weights : torch::ones_like(terms);
  // Terms at zero weight are left out, so that a NaN or inf there does not spread.
  auto kept = torch::where(w != 0, terms, torch::zeros_like(terms));
  auto mean = DivideNoNan((kept * w).sum(), w.sum());
  return loss.kind == PointLoss::kRmse ? mean.sqrt() : mean;
}

torch::Tensor ComputePointLoss(const PointLoss& loss, const torch::Tensor& y,
                               const torch::Tensor& y_hat, const torch::Tensor& weights) {
  return ReducePointLoss(loss, PointLossTerms(loss, y, y_hat), weights);
}

}  // namespace drc::dl
