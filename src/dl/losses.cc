#include "src/dl/losses.h"

#include <torch/torch.h>

#include <algorithm>
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
    case PointLoss::kQuantile: return "QuantileLoss";
    case PointLoss::kMultiQuantile: break;
  }
  return "MQLoss";
}

// "[a, b, ...]" -> the numbers; false unless every entry is a finite number.
bool ParseList(std::string text, std::vector<double>& out) {
  std::erase(text, ' ');
  if (text.size() < 3 || text.front() != '[' || text.back() != ']') return false;
  std::stringstream entries(text.substr(1, text.size() - 2));
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(entry.c_str(), &end);
    if (entry.empty() || end != entry.c_str() + entry.size() || errno == ERANGE ||
        !std::isfinite(v)) {
      return false;
    }
    out.push_back(v);
  }
  return !out.empty() && text[text.size() - 2] != ',';
}

// Keeps the first of repeated values, in order (NF's dict.fromkeys).
std::vector<double> Unique(const std::vector<double>& values) {
  std::vector<double> out;
  for (double v : values) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

// MQLoss's argument: "" (NF's default level [80, 90]), "level=[...]" or "quantiles=[...]".
Result<PointLoss> ParseMultiQuantile(const std::string& text, const std::string& argument) {
  auto fail = [&](const std::string& why) -> Status {
    return Status::InvalidArgument("loss '", text, "': ", why,
                                   " (expected MQLoss, MQLoss(level=[L, ...]) with 0 < L < 100 "
                                   "or MQLoss(quantiles=[Q, ...]) with 0 < Q < 1, 0.5 among them)");
  };
  PointLoss loss;
  loss.kind = PointLoss::kMultiQuantile;
  std::string key = "level", list = "[80, 90]";
  if (!argument.empty()) {
    const auto eq = argument.find('=');
    if (eq == std::string::npos) return fail("the argument is not level=[...] or quantiles=[...]");
    key = argument.substr(0, eq);
    std::erase(key, ' ');
    list = argument.substr(eq + 1);
  }
  std::vector<double> values;
  if (key != "level" && key != "quantiles") {
    return fail("unknown argument '" + key + "'");
  }
  if (!ParseList(list, values)) return fail(key + " is not a list of numbers");
  values = Unique(values);
  if (key == "level") {
    std::sort(values.begin(), values.end());
    for (double l : values) {
      if (!(l > 0 && l < 100)) return fail("level " + std::to_string(l) + " is not in (0, 100)");
    }
    loss.levels = values;
    // NF's level_to_outputs: the median first, then every level's two quantiles ascending.
    std::vector<double> qs;
    for (double l : values) {
      qs.push_back((50 - l / 2) / 100);
      qs.push_back((50 + l / 2) / 100);
    }
    std::stable_sort(qs.begin(), qs.end());
    loss.quantiles = {0.5};
    loss.quantiles.insert(loss.quantiles.end(), qs.begin(), qs.end());
    return loss;
  }
  for (double q : values) {
    if (!(q > 0 && q < 1)) return fail("quantile " + std::to_string(q) + " is not in (0, 1)");
  }
  if (std::find(values.begin(), values.end(), 0.5) == values.end()) {
    return fail("the quantiles lack 0.5, the median that is the point forecast");
  }
  loss.quantiles = values;
  return loss;
}

}  // namespace

std::string PointLoss::Name() const {
  if (kind != kHuber && kind != kQuantile && kind != kMultiQuantile) return BaseName(kind);
  std::ostringstream out;
  out << BaseName(kind) << "(";
  if (kind == kMultiQuantile) {
    const bool by_level = !levels.empty();
    out << (by_level ? "level=[" : "quantiles=[");
    const auto& values = by_level ? levels : quantiles;
    for (size_t i = 0; i < values.size(); ++i) out << (i > 0 ? ", " : "") << values[i];
    out << "]";
  } else {
    out << parameter;
  }
  out << ")";
  return out.str();
}

int PointLoss::PointOutput() const {
  if (kind != kMultiQuantile) return 0;
  const auto median = std::find(quantiles.begin(), quantiles.end(), 0.5);
  return median == quantiles.end() ? 0 : static_cast<int>(median - quantiles.begin());
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
        "QuantileLoss(Q) with 0 < Q < 1, MQLoss, MQLoss(level=[L, ...]) or "
        "MQLoss(quantiles=[Q, ...]) (NF's point and multi-quantile losses)");
  };
  if (name == BaseName(PointLoss::kMultiQuantile)) {
    if (open != std::string::npos && argument.empty()) return fail();  // "MQLoss()"
    if (argument == "?") return fail();
    return ParseMultiQuantile(text, argument);
  }
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
  if (loss.kind == PointLoss::kMultiQuantile) {
    // NF's MQLoss: q * max(y - y_hat, 0) + (1 - q) * max(y_hat - y, 0), summed over q.
    auto q = torch::tensor(loss.quantiles, y_hat.options());
    // One quantile (the median) comes as [..., H], as every one-output forecast.
    auto error = y.unsqueeze(-1) - (y_hat.dim() == y.dim() ? y_hat.unsqueeze(-1) : y_hat);
    return (q * error.clamp_min(0) + (1 - q) * (-error).clamp_min(0)).sum(-1);
  }
  auto delta = y - y_hat;
  switch (loss.kind) {
    case PointLoss::kMae: return delta.abs();
    case PointLoss::kMse:
    case PointLoss::kRmse: return delta * delta;
    case PointLoss::kMape: return delta.abs() * DivideNoNan(torch::ones_like(y), y.abs());
    case PointLoss::kSmape: return 2 * DivideNoNan(delta.abs(), y.abs() + y_hat.abs());
    case PointLoss::kHuber: return torch::huber_loss(y, y_hat, at::Reduction::None, loss.parameter);
    case PointLoss::kQuantile:
    case PointLoss::kMultiQuantile: break;
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
