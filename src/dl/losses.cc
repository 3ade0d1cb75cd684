#include "src/dl/losses.h"

#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "src/dl/distributions.h"

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
    case PointLoss::kMultiQuantile: return "MQLoss";
    case PointLoss::kHuberMultiQuantile: return "HuberMQLoss";
    case PointLoss::kHuberQuantile: return "HuberQLoss";
    case PointLoss::kImplicitQuantile: return "IQLoss";
    case PointLoss::kHuberImplicitQuantile: return "HuberIQLoss";
    case PointLoss::kMase: return "MASE";
    case PointLoss::kFreDF: return "FreDF";
    case PointLoss::kDistribution: break;
  }
  return "DistributionLoss";
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

// Sets `loss`'s levels and quantiles from "level" or "quantiles" and a list "[...]", as NF's
// level_to_outputs (the median first, then every level's two quantiles ascending) or as given
// (sorted first when `sort_quantiles`, as NF's DistributionLoss does). An error says why.
Status SetQuantiles(PointLoss& loss, const std::string& key, const std::string& list,
                    bool sort_quantiles) {
  std::vector<double> values;
  if (key != "level" && key != "quantiles") {
    return Status::InvalidArgument("unknown argument '", key, "'");
  }
  if (!ParseList(list, values)) return Status::InvalidArgument(key, " is not a list of numbers");
  values = Unique(values);
  if (key == "level") {
    std::sort(values.begin(), values.end());
    for (double l : values) {
      if (!(l > 0 && l < 100)) return Status::InvalidArgument("level ", l, " is not in (0, 100)");
    }
    loss.levels = values;
    std::vector<double> qs;
    for (double l : values) {
      qs.push_back((50 - l / 2) / 100);
      qs.push_back((50 + l / 2) / 100);
    }
    std::stable_sort(qs.begin(), qs.end());
    loss.quantiles = {0.5};
    loss.quantiles.insert(loss.quantiles.end(), qs.begin(), qs.end());
    return Status::OK();
  }
  for (double q : values) {
    if (!(q > 0 && q < 1)) return Status::InvalidArgument("quantile ", q, " is not in (0, 1)");
  }
  if (sort_quantiles) std::sort(values.begin(), values.end());
  loss.levels.clear();
  loss.quantiles = values;
  return Status::OK();
}

// Splits "a, b=[1, 2], c" at the commas outside brackets, each part trimmed of spaces.
std::vector<std::string> SplitArguments(const std::string& text) {
  std::vector<std::string> parts(1);
  int depth = 0;
  for (char c : text) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) {
      parts.emplace_back();
    } else if (c != ' ') {
      parts.back() += c;
    }
  }
  return parts;
}

// A number from `value`, within [low, high] (whole when `whole`); false otherwise.
bool ParseNumber(const std::string& value, double low, double high, bool whole, double& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtod(value.c_str(), &end);
  return !value.empty() && end == value.c_str() + value.size() && errno != ERANGE &&
         std::isfinite(out) && out >= low && out <= high && (!whole || out == std::floor(out));
}

// A Huber delta from `value`: a finite number > 0.
bool ParseDelta(const std::string& value, double& out) {
  return ParseNumber(value, 0, std::numeric_limits<double>::max(), false, out) && out > 0;
}

// MQLoss's and HuberMQLoss's arguments: level=[...] (NF's default [80, 90]) or quantiles=[...],
// and HuberMQLoss's delta=D (default 1), as NF's keyword arguments.
Result<PointLoss> ParseMultiQuantile(const std::string& text, const std::string& argument,
                                     PointLoss::Kind kind) {
  const bool huber = kind == PointLoss::kHuberMultiQuantile;
  const std::string name = huber ? "HuberMQLoss" : "MQLoss";
  auto fail = [&](const std::string& why) -> Status {
    return Status::InvalidArgument("loss '", text, "': ", why, " (expected ", name, ", ", name,
                                   "(level=[L, ...]) with 0 < L < 100 or ", name,
                                   "(quantiles=[Q, ...]) with 0 < Q < 1, 0.5 among them",
                                   huber ? ", and optionally delta=D with D > 0)" : ")");
  };
  PointLoss loss;
  loss.kind = kind;
  DRC_RETURN_NOT_OK(SetQuantiles(loss, "level", "[80, 90]", false));  // NF's default
  bool have_quantiles = false, have_delta = false;
  for (const std::string& part : SplitArguments(argument)) {
    if (part.empty() && argument.empty()) break;
    const auto eq = part.find('=');
    if (eq == std::string::npos) {
      return fail("the argument '" + part + "' is not level=[...] or quantiles=[...]" +
                  (huber ? " or delta=D" : ""));
    }
    const std::string key = part.substr(0, eq), value = part.substr(eq + 1);
    if (huber && key == "delta") {
      if (have_delta) return fail("give delta once");
      have_delta = true;
      if (!ParseDelta(value, loss.delta)) {
        return fail("delta must be a number > 0, got '" + value + "'");
      }
      continue;
    }
    if ((key == "level" || key == "quantiles") && have_quantiles) {
      return fail("give one of level and quantiles, once");
    }
    have_quantiles = true;
    if (Status st = SetQuantiles(loss, key, value, /*sort_quantiles=*/false); !st.ok()) {
      return fail(st.message());
    }
  }
  if (std::find(loss.quantiles.begin(), loss.quantiles.end(), 0.5) == loss.quantiles.end()) {
    return fail("the quantiles lack 0.5, the median that is the point forecast");
  }
  return loss;
}

// Whether `name` is one of NF's mixture losses.
bool IsMixture(const std::string& name) { return name == "GMM" || name == "PMM" || name == "NBMM"; }

// DistributionLoss's arguments: the distribution (first, or distribution=), then level=[...] or
// quantiles=[...], num_samples=N, Tweedie's rho=R and ISQF's num_pieces=N, as NF's keyword
// arguments. A mixture's
// (`mixture` GMM, PMM or NBMM): n_components=K, weighted=, level=, quantiles=, num_samples=, and
// batch_correlation and horizon_correlation False.
Result<PointLoss> ParseDistribution(const std::string& text, const std::string& argument,
                                    const std::string& mixture) {
  auto fail = [&](const std::string& why) -> Status {
    return Status::InvalidArgument(
        "loss '", text, "': ", why,
        mixture.empty()
            ? " (expected DistributionLoss(D) with D Normal, StudentT, Poisson, NegativeBinomial, "
              "Tweedie or ISQF, optionally followed by level=[L, ...] with 0 < L < 100 or "
              "quantiles=[Q, ...] with 0 < Q < 1, and num_samples=N; Tweedie needs rho=R with "
              "1 < R < 2; ISQF takes num_pieces=N, default 5)"
            : " (expected " + mixture + " or " + mixture +
                  "(n_components=K, weighted=True|False, level=[L, ...] with 0 < L < 100 or "
                  "quantiles=[Q, ...] with 0 < Q < 1, num_samples=N), every argument optional)");
  };
  PointLoss loss;
  loss.kind = PointLoss::kDistribution;
  DRC_RETURN_NOT_OK(SetQuantiles(loss, "level", "[80, 90]", false));  // NF's default
  if (!mixture.empty()) {
    loss.distribution = mixture;
    loss.distribution_options.components = mixture == "PMM" ? 10 : 1;  // NF's defaults
  }
  bool have_quantiles = false, have_rho = false, have_pieces = false;
  const auto parts = SplitArguments(argument);
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    if (part.empty() && parts.size() == 1 && !mixture.empty()) break;  // "GMM()"
    const auto eq = part.find('=');
    const std::string key = eq == std::string::npos ? "" : part.substr(0, eq);
    std::string value = eq == std::string::npos ? part : part.substr(eq + 1);
    double number = 0;
    if (mixture.empty() && (key.empty() || key == "distribution")) {
      if (!loss.distribution.empty() || (key.empty() && i > 0)) {
        return fail("the distribution comes first, once");
      }
      if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') &&
          value.back() == value.front()) {
        value = value.substr(1, value.size() - 2);
      }
      // ISQF's knots come from the quantiles, read later.
      auto likelihood = Likelihood::Make(
          value, value == "ISQF" ? LikelihoodOptions{.knots = {0.1, 0.9}} : LikelihoodOptions{});
      if (!likelihood.ok() || likelihood->mixture()) {
        return fail("unknown distribution '" + value + "'");
      }
      loss.distribution = likelihood->name();
    } else if (key == "level" || key == "quantiles") {
      if (have_quantiles) return fail("give one of level and quantiles, once");
      have_quantiles = true;
      if (Status st = SetQuantiles(loss, key, value, /*sort_quantiles=*/true); !st.ok()) {
        return fail(st.message());
      }
    } else if (key == "num_samples") {
      if (!ParseNumber(value, 1, 1000000, true, number)) {
        return fail("num_samples must be a whole number in [1, 1000000], got '" + value + "'");
      }
      loss.num_samples = static_cast<int>(number);
    } else if (mixture.empty() && key == "num_pieces") {
      if (have_pieces || !ParseNumber(value, 1, 1000, true, number)) {
        return fail("num_pieces must be a whole number in [1, 1000], once, got '" + value + "'");
      }
      have_pieces = true;
      loss.distribution_options.pieces = static_cast<int>(number);
    } else if (mixture.empty() && key == "rho") {
      if (have_rho || !ParseNumber(value, 1, 2, false, number) || number == 1 || number == 2) {
        return fail("rho must be a number in (1, 2), once, got '" + value + "'");
      }
      have_rho = true;
      loss.distribution_options.rho = number;
    } else if (!mixture.empty() && key == "n_components") {
      if (!ParseNumber(value, 1, 1000, true, number)) {
        return fail("n_components must be a whole number in [1, 1000], got '" + value + "'");
      }
      loss.distribution_options.components = static_cast<int>(number);
    } else if (!mixture.empty() && key == "weighted") {
      if (value != "True" && value != "False") {
        return fail("weighted must be True or False, got '" + value + "'");
      }
      loss.distribution_options.weighted = value == "True";
    } else if (!mixture.empty() && (key == "batch_correlation" || key == "horizon_correlation")) {
      if (value == "True") {
        return fail(key + "=True (a likelihood joint over the " +
                    (key == "batch_correlation" ? std::string("batch") : std::string("horizon")) +
                    ") is not built; only False");
      }
      if (value != "False") return fail(key + " must be False, got '" + value + "'");
    } else {
      return fail("unknown argument '" + (key.empty() ? part : key) + "'");
    }
  }
  if (loss.distribution.empty()) return fail("no distribution");
  if (loss.distribution == "Tweedie" && !have_rho) {
    return fail("Tweedie needs rho=R with 1 < R < 2 (NF's has no default)");
  }
  if (have_rho && loss.distribution != "Tweedie") return fail("rho is Tweedie's argument");
  if (have_pieces && loss.distribution != "ISQF") return fail("num_pieces is ISQF's argument");
  if (loss.distribution == "ISQF") {
    // NF's ISQF places its quantile knots at the loss's quantiles, sorted.
    auto& knots = loss.distribution_options.knots;
    knots = loss.quantiles;
    std::sort(knots.begin(), knots.end());
    if (knots.size() < 2) {
      return fail("ISQF places its knots at the quantiles, and needs at least 2 of them");
    }
  }
  return loss;
}

// HuberQLoss's arguments, as NF's HuberQLoss(q, delta=1.0): q first (or q=Q), then delta
// (or delta=D).
Result<PointLoss> ParseHuberQuantile(const std::string& text, const std::string& argument) {
  auto fail = [&](const std::string& why) -> Status {
    return Status::InvalidArgument("loss '", text, "': ", why,
                                   " (expected HuberQLoss(Q) or HuberQLoss(Q, delta=D) with "
                                   "0 < Q < 1 and D > 0)");
  };
  PointLoss loss;
  loss.kind = PointLoss::kHuberQuantile;
  bool have_q = false, have_delta = false;
  const auto parts = SplitArguments(argument);
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto eq = parts[i].find('=');
    std::string key = eq == std::string::npos ? "" : parts[i].substr(0, eq);
    const std::string value = eq == std::string::npos ? parts[i] : parts[i].substr(eq + 1);
    if (key.empty()) {
      if (i > 1) return fail("too many arguments");
      key = i == 0 ? "q" : "delta";
    }
    if (key == "q") {
      if (have_q || !ParseNumber(value, 0, 1, false, loss.parameter) || loss.parameter == 0 ||
          loss.parameter == 1) {
        return fail("q must be a number in (0, 1), once, got '" + value + "'");
      }
      have_q = true;
    } else if (key == "delta") {
      if (have_delta || !ParseDelta(value, loss.delta)) {
        return fail("delta must be a number > 0, once, got '" + value + "'");
      }
      have_delta = true;
    } else {
      return fail("unknown argument '" + key + "'");
    }
  }
  if (!have_q) return fail("no q");
  return loss;
}

// IQLoss's and HuberIQLoss's keyword arguments, as NF's: cos_embedding_dim=N, concentration0=C,
// concentration1=C and HuberIQLoss's delta=D, each optional.
Result<PointLoss> ParseImplicitQuantile(const std::string& text, const std::string& argument,
                                        PointLoss::Kind kind) {
  const bool huber = kind == PointLoss::kHuberImplicitQuantile;
  const std::string name = BaseName(kind);
  auto fail = [&](const std::string& why) -> Status {
    return Status::InvalidArgument("loss '", text, "': ", why, " (expected ", name, " or ", name,
                                   "(cos_embedding_dim=N, concentration0=C, concentration1=C",
                                   huber ? ", delta=D" : "",
                                   ") with N a whole number in [1, 4096], C > 0",
                                   huber ? " and D > 0" : "", ", every argument optional)");
  };
  PointLoss loss;
  loss.kind = kind;
  std::vector<std::string> seen;
  for (const std::string& part : SplitArguments(argument)) {
    if (part.empty() && argument.empty()) break;
    const auto eq = part.find('=');
    if (eq == std::string::npos) return fail("the argument '" + part + "' has no name");
    const std::string key = part.substr(0, eq), value = part.substr(eq + 1);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return fail("give " + key + " once");
    }
    seen.push_back(key);
    double number = 0;
    if (key == "cos_embedding_dim") {
      if (!ParseNumber(value, 1, 4096, true, number)) {
        return fail("cos_embedding_dim must be a whole number in [1, 4096], got '" + value + "'");
      }
      loss.cos_embedding_dim = static_cast<int>(number);
    } else if (key == "concentration0" || key == "concentration1") {
      if (!ParseNumber(value, 0, 1e6, false, number) || number == 0) {
        return fail(key + " must be a number in (0, 1e6], got '" + value + "'");
      }
      (key == "concentration0" ? loss.concentration0 : loss.concentration1) = number;
    } else if (huber && key == "delta") {
      if (!ParseDelta(value, loss.delta)) {
        return fail("delta must be a number > 0, got '" + value + "'");
      }
    } else {
      return fail("unknown argument '" + key + "'");
    }
  }
  return loss;
}

// NF's pinball term of quantile q: q * max(y - y_hat, 0) + (1 - q) * max(y_hat - y, 0), for
// `error` = y - y_hat (q a number or a tensor that broadcasts against it).
template <typename Q>
torch::Tensor Pinball(const torch::Tensor& error, const Q& q) {
  return q * error.clamp_min(0) + (1 - q) * (-error).clamp_min(0);
}

}  // namespace

std::string PointLoss::Name() const {
  if (kind == kMase) return "MASE(" + std::to_string(seasonality) + ")";
  if (kind == kFreDF) {
    std::ostringstream out;
    out << "FreDF(alpha=" << std::setprecision(15) << parameter << ")";
    return out.str();
  }
  if (kind != kHuber && kind != kQuantile && kind != kHuberQuantile && !gives_quantiles()) {
    return BaseName(kind);
  }
  std::ostringstream out;
  if (implicit_quantile()) {
    // NF's defaults are left out: "IQLoss", "HuberIQLoss(delta=0.5)".
    std::vector<std::string> arguments;
    auto add = [&](const char* key, double value) {
      std::ostringstream argument;
      argument << key << "=" << std::setprecision(15) << value;
      arguments.push_back(argument.str());
    };
    if (cos_embedding_dim != 64) add("cos_embedding_dim", cos_embedding_dim);
    if (concentration0 != 1) add("concentration0", concentration0);
    if (concentration1 != 1) add("concentration1", concentration1);
    if (kind == kHuberImplicitQuantile && delta != 1) add("delta", delta);
    out << BaseName(kind);
    for (size_t i = 0; i < arguments.size(); ++i) out << (i == 0 ? "(" : ", ") << arguments[i];
    if (!arguments.empty()) out << ")";
    return out.str();
  }
  const bool mixture = kind == kDistribution && IsMixture(distribution);
  out << (mixture ? distribution : std::string(BaseName(kind))) << "(";
  if (mixture) {
    out << "n_components=" << distribution_options.components << ", ";
    if (distribution_options.weighted) out << "weighted=True, ";
  } else if (kind == kDistribution) {
    out << distribution << ", ";
    if (distribution == "Tweedie") {
      out << "rho=" << std::setprecision(15) << distribution_options.rho << std::setprecision(6)
          << ", ";
    }
    if (distribution == "ISQF" && distribution_options.pieces != 5) {
      out << "num_pieces=" << distribution_options.pieces << ", ";
    }
  }
  if (gives_quantiles()) {
    const bool by_level = !levels.empty();
    out << (by_level ? "level=[" : "quantiles=[");
    const auto& values = by_level ? levels : quantiles;
    for (size_t i = 0; i < values.size(); ++i) out << (i > 0 ? ", " : "") << values[i];
    out << "]";
    if (kind == kDistribution && num_samples != 1000) out << ", num_samples=" << num_samples;
    if (kind == kHuberMultiQuantile) out << ", delta=" << delta;
  } else if (kind == kHuber) {
    out << delta;
  } else {
    out << parameter;
    if (kind == kHuberQuantile) out << ", delta=" << delta;
  }
  out << ")";
  return out.str();
}

Likelihood PointLoss::likelihood() const {
  return Likelihood::Make(distribution, distribution_options).ValueOrDie();
}

int PointLoss::Outputs() const {
  switch (kind) {
    case kMultiQuantile:
    case kHuberMultiQuantile: return static_cast<int>(quantiles.size());
    case kDistribution: {
      auto likelihood = Likelihood::Make(distribution, distribution_options);
      return likelihood.ok() ? likelihood->num_params() : 1;
    }
    default: return 1;
  }
}

bool PointLoss::series_major_outputs() const {
  // NF's isqf_domain_map reshapes the outputs to [B, H, N, P] too.
  return multi_quantile() ||
         (is_distribution() && (likelihood().mixture() || distribution == "ISQF"));
}

int PointLoss::PointOutput() const {
  if (!multi_quantile()) return 0;
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
        "': expected MAE, MSE, RMSE, MAPE, SMAPE, MASE(M) with M a whole number >= 1, HuberLoss, "
        "HuberLoss(DELTA) with DELTA > 0, FreDF or FreDF(alpha=A) with 0 <= A <= 1, "
        "QuantileLoss(Q) with 0 < Q < 1 (or delta=, q=), HuberQLoss(Q[, delta=D]), IQLoss, "
        "HuberIQLoss, MQLoss, "
        "MQLoss(level=[L, ...]), MQLoss(quantiles=[Q, ...]), HuberMQLoss([level=[L, ...], "
        "][delta=D]) or "
        "DistributionLoss(Normal|StudentT|Poisson|NegativeBinomial|Tweedie|ISQF[, rho=R][, "
        "num_pieces=N][, level=[L, ...]]), GMM, PMM or NBMM([n_components=K, ][weighted=True, "
        "][level=[L, ...]]) "
        "(NF's point, quantile, multi-quantile, distribution and mixture losses)");
  };
  // NF 3.3's other point losses, named so that the error says what is missing.
  if (name == "relMSE" || name == "TukeyLoss") {
    return Status::NotImplemented(
        "loss '", text, "': NF's ", name, " is not built",
        name == "TukeyLoss"
            ? " (NF 3.3's is largest at a zero error, c^2/6 (1 - (e/c)^2)^3, so it would train "
              "away from the data)"
            : " (it needs a benchmark forecast per point)");
  }
  if (name == BaseName(PointLoss::kFreDF)) {
    // NF's FreDF(alpha=0.5), alpha in [0, 1].
    if (argument == "?" || (open != std::string::npos && argument.empty())) return fail();
    std::string value = argument;
    if (value.rfind("alpha=", 0) == 0) value = value.substr(6);
    double alpha = 0.5;
    if (!value.empty() && !ParseNumber(value, 0, 1, false, alpha)) {
      return Status::InvalidArgument("loss '", text, "': FreDF's alpha is a number in [0, 1]");
    }
    PointLoss loss;
    loss.kind = PointLoss::kFreDF;
    loss.parameter = alpha;
    return loss;
  }
  if (IsMixture(name)) {
    if (argument == "?") return fail();
    return ParseDistribution(text, argument, name);
  }
  for (auto kind : {PointLoss::kMultiQuantile, PointLoss::kHuberMultiQuantile}) {
    if (name != BaseName(kind)) continue;
    if (open != std::string::npos && argument.empty()) return fail();  // "MQLoss()"
    if (argument == "?") return fail();
    return ParseMultiQuantile(text, argument, kind);
  }
  if (name == BaseName(PointLoss::kMase)) {
    // NF's MASE(seasonality): no default.
    std::string value = argument;
    if (value.rfind("seasonality=", 0) == 0) value = value.substr(12);
    double m = 0;
    if (!ParseNumber(value, 1, 1e6, true, m)) return fail();
    PointLoss loss;
    loss.kind = PointLoss::kMase;
    loss.seasonality = static_cast<int>(m);
    return loss;
  }
  if (name == BaseName(PointLoss::kHuberQuantile)) {
    if (argument.empty() || argument == "?") return fail();  // needs its q
    return ParseHuberQuantile(text, argument);
  }
  for (auto kind : {PointLoss::kImplicitQuantile, PointLoss::kHuberImplicitQuantile}) {
    if (name != BaseName(kind)) continue;
    if (argument == "?") return fail();
    return ParseImplicitQuantile(text, argument, kind);
  }
  if (name == BaseName(PointLoss::kDistribution)) {
    if (argument.empty() || argument == "?") return fail();  // needs its distribution
    return ParseDistribution(text, argument, "");
  }
  // HuberLoss's delta and QuantileLoss's q, bare or by NF's keyword (HuberLoss(delta=0.5)).
  double number = std::nan("");
  if (!argument.empty()) {
    std::string value = argument;
    const std::string key = name == "HuberLoss" ? "delta=" : "q=";
    if (value.rfind(key, 0) == 0) value = value.substr(key.size());
    if (!ParseNumber(value, -std::numeric_limits<double>::max(), std::numeric_limits<double>::max(),
                     false, number)) {
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
      loss.delta = std::isnan(number) ? 1.0 : number;
      if (!(loss.delta > 0)) return fail();
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
                             const torch::Tensor& y_hat, const torch::Tensor& insample) {
  if (loss.multi_quantile()) {
    // NF's MQLoss: the mean of the pinball terms over the quantiles; HuberMQLoss's Huber-izes
    // each of the two sides of every term.
    auto q = torch::tensor(loss.quantiles, y_hat.options());
    // One quantile (the median) comes as [..., H], as every one-output forecast.
    auto error = y.unsqueeze(-1) - (y_hat.dim() == y.dim() ? y_hat.unsqueeze(-1) : y_hat);
    if (loss.kind == PointLoss::kMultiQuantile) return Pinball(error, q).mean(-1);
    auto huber = [&](const torch::Tensor& x) {
      return torch::huber_loss(x, torch::zeros_like(x), at::Reduction::None, loss.delta);
    };
    return (huber(q * error.clamp_min(0)) + huber((1 - q) * (-error).clamp_min(0))).mean(-1);
  }
  if (loss.kind == PointLoss::kDistribution) {
    const auto likelihood = loss.likelihood();
    // One parameter (Poisson's rate) may come as [..., H], as every one-output forecast.
    const auto raw = y_hat.dim() == y.dim() ? y_hat.unsqueeze(-1) : y_hat;
    return -likelihood.LogProb(likelihood.MapParams(raw), y);
  }
  auto delta = y - y_hat;
  switch (loss.kind) {
    case PointLoss::kMae: return delta.abs();
    case PointLoss::kMse:
    case PointLoss::kRmse: return delta * delta;
    case PointLoss::kMape: return delta.abs() * DivideNoNan(torch::ones_like(y), y.abs());
    case PointLoss::kSmape: return 2 * DivideNoNan(delta.abs(), y.abs() + y_hat.abs());
    case PointLoss::kHuber: return torch::huber_loss(y, y_hat, at::Reduction::None, loss.delta);
    case PointLoss::kFreDF: return delta * delta;  // its time-domain term, MSE's
    case PointLoss::kMase: {
      const int64_t m = loss.seasonality;
      if (!insample.defined() || insample.dim() != 2 || insample.size(1) <= m) {
        throw std::invalid_argument(
            loss.Name() + " needs each window's input, longer than its seasonality " +
            std::to_string(m) + " (input_size > " + std::to_string(m) + ")");
      }
      // NF's scale: the mean absolute seasonal difference over the whole input (its padding
      // too, as NF's).
      const int64_t length = insample.size(1);
      const auto scale =
          (insample.narrow(1, m, length - m) - insample.narrow(1, 0, length - m)).abs().mean(1);
      return DivideNoNan(delta.abs(), scale.unsqueeze(1).expand_as(delta));
    }
    case PointLoss::kHuberQuantile:
      return QuantileTerms(y, y_hat, torch::scalar_tensor(loss.parameter, y.options()), loss.delta);
    case PointLoss::kImplicitQuantile:
    case PointLoss::kHuberImplicitQuantile:
      return QuantileTerms(y, y_hat, torch::scalar_tensor(0.5, y.options()),
                           loss.kind == PointLoss::kHuberImplicitQuantile ? loss.delta : 0);
    case PointLoss::kQuantile:
    case PointLoss::kMultiQuantile:
    case PointLoss::kHuberMultiQuantile:
    case PointLoss::kDistribution: break;
  }
  return Pinball(delta, loss.parameter);
}

torch::Tensor QuantileTerms(const torch::Tensor& y, const torch::Tensor& y_hat,
                            const torch::Tensor& q, double delta) {
  const auto error = y - y_hat;
  if (delta <= 0) return Pinball(error, q);
  const auto under = error.clamp_min(0), over = (-error).clamp_min(0);
  auto huber = [&](const torch::Tensor& x) {
    return torch::huber_loss(x, torch::zeros_like(x), at::Reduction::None, delta);
  };
  return q * huber(under) + (1 - q) * huber(over);
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
                               const torch::Tensor& y_hat, const torch::Tensor& weights,
                               const torch::Tensor& insample) {
  if (loss.kind == PointLoss::kFreDF) return FreDFLoss(loss, y, y_hat, weights);
  return ReducePointLoss(loss, PointLossTerms(loss, y, y_hat, insample), weights);
}

torch::Tensor FrequencyTerms(const torch::Tensor& y, const torch::Tensor& y_hat) {
  const auto difference =
      torch::fft::rfft(y, c10::nullopt, 1) - torch::fft::rfft(y_hat, c10::nullopt, 1);
  return difference.abs().flatten(1).mean(1);
}

torch::Tensor FreDFLoss(const PointLoss& loss, const torch::Tensor& y, const torch::Tensor& y_hat,
                        const torch::Tensor& weights, const torch::Tensor& window_weights) {
  const double alpha = loss.parameter;
  const auto w = weights.defined() ? weights : torch::ones_like(y);
  const auto delta = y - y_hat;
  const auto time = ReducePointLoss(loss, delta * delta, w);
  const auto frequency = FrequencyTerms(torch::where(w != 0, y, torch::zeros_like(y)), y_hat);
  const auto per_window = window_weights.defined() ? DivideNoNan((frequency * window_weights).sum(),
                                                                 window_weights.sum())
                                                   : frequency.mean();
  return (1 - alpha) * time + alpha * per_window;
}

}  // namespace drc::dl
