#include "src/dl/distributions.h"

#include <c10/util/Exception.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace drc::dl {
namespace {

// NF's scale floors (normal_scale_decouple's and student_scale_decouple's eps) and StudentT's
// degrees-of-freedom floor (df = 3 + softplus).
constexpr double kNormalScaleEps = 0.2;
constexpr double kStudentScaleEps = 0.1;
constexpr double kStudentMinDf = 3.0;
// poisson_scale_decouple's and nbinomial_scale_decouple's floors.
constexpr double kPoissonRateEps = 1e-10;
constexpr double kNegBinEps = 1e-8;
// tweedie_scale_decouple's clamp of log_mu, and the 1e-5 NF's Tweedie.sample adds to N.
constexpr double kTweedieMinLogMu = 1e-9;
constexpr double kTweedieMaxLogMu = 37;
constexpr double kTweedieCountEps = 1e-5;
// PMM's rate floor (NBMM's and GMM's are NegativeBinomial's and Normal's).
constexpr double kPoissonMixtureRateEps = 1e-3;
// ISQF's tolerance (NF's tol): added to the softmax'd spacings, the knots' increments and the
// tails' betas, so that no spacing, increment or 1 / beta reaches 0 or infinity.
constexpr double kIsqfTol = 1e-4;

struct Entry {
  DistributionKind kind;
  bool mixture;
  std::string name;
  std::vector<std::string> params;  // a mixture's per component, without the weight
};

const std::vector<Entry>& Entries() {
  static const std::vector<Entry> kEntries = {
      {DistributionKind::kStudentT, false, "StudentT", {"df", "loc", "scale"}},
      {DistributionKind::kNormal, false, "Normal", {"loc", "scale"}},
      {DistributionKind::kPoisson, false, "Poisson", {"rate"}},
      {DistributionKind::kNegativeBinomial, false, "NegativeBinomial", {"total_count", "logits"}},
      {DistributionKind::kTweedie, false, "Tweedie", {"log_mu"}},
      {DistributionKind::kIsqf, false, "ISQF", {}},  // names from the knots: param_names()
      {DistributionKind::kNormal, true, "GMM", {"mu", "std"}},
      {DistributionKind::kPoisson, true, "PMM", {"lambda"}},
      {DistributionKind::kNegativeBinomial, true, "NBMM", {"total_count", "logits"}},
  };
  return kEntries;
}

const Entry& EntryOf(DistributionKind kind, bool mixture) {
  for (const Entry& e : Entries()) {
    if (e.kind == kind && e.mixture == mixture) return e;
  }
  TORCH_CHECK(false, "likelihood: no entry for kind ", static_cast<int>(kind));
}

// NF's parameterize_spline: the spline's n knots [..., Q-1, n] between each two quantile knots
// lo and hi ([..., Q-1]) from raw spacings [..., Q-1, n], and the spacings: positions
// lo + (hi - lo) * (0, d_1, d_1 + d_2, ...) with d = (softmax(raw) + tol) / (1 + n tol).
std::pair<torch::Tensor, torch::Tensor> SplineKnots(const torch::Tensor& raw,
                                                    const torch::Tensor& lo,
                                                    const torch::Tensor& hi) {
  const int64_t n = raw.size(-1);
  const torch::Tensor spacing =
      (torch::softmax(raw, -1) + kIsqfTol) / (1 + static_cast<double>(n) * kIsqfTol);
  const torch::Tensor start = torch::cat({torch::zeros_like(spacing.narrow(-1, 0, 1)),
                                          torch::cumsum(spacing, -1).narrow(-1, 0, n - 1)},
                                         -1);
  const torch::Tensor width = (hi - lo).unsqueeze(-1);
  return {start * width + lo.unsqueeze(-1), spacing * width};
}

// ISQF's quantile function and CRPS (NF's BaseISQF, GluonTS's ISQF) from the mapped parameters
// [..., P] and the knots' levels: the Q - 1 splines between the quantile knots (x the levels, y
// the values), each of n linear pieces from (sk_x, sk_y) with widths dx, dy, and the tails
// q(a) = al log(a) + bl below the lowest level, ar log(1 - a) + br above the highest.
class Isqf {
 public:
  Isqf(const torch::Tensor& params, const LikelihoodOptions& options) {
    const auto q = static_cast<int64_t>(options.knots.size());
    const int64_t n = options.pieces, k = (q - 1) * n;
    const torch::Tensor levels =
        torch::tensor(options.knots, torch::kFloat64).to(params.options());  // [Q]
    qx_ = levels.narrow(0, 0, q - 1);
    qx_plus_ = levels.narrow(0, 1, q - 1);
    const torch::Tensor qy = params.narrow(-1, 2 * k + 2, q);
    qy_ = qy.narrow(-1, 0, q - 1);
    qy_plus_ = qy.narrow(-1, 1, q - 1);
    std::tie(sk_x_, dx_) =
        SplineKnots(params.narrow(-1, 0, k).unflatten(-1, {q - 1, n}), qx_, qx_plus_);
    std::tie(sk_y_, dy_) =
        SplineKnots(params.narrow(-1, k, k).unflatten(-1, {q - 1, n}), qy_, qy_plus_);
    sk_x_plus_ = n > 1 ? torch::cat({sk_x_.narrow(-1, 1, n - 1),
                                     qx_plus_.unsqueeze(-1).expand_as(sk_x_.narrow(-1, 0, 1))},
                                    -1)
                       : qx_plus_.unsqueeze(-1).expand_as(sk_x_);
    xl_ = levels[0];
    xr_ = levels[q - 1];
    yl_ = qy.select(-1, 0);
    yr_ = qy.select(-1, q - 1);
    // NF's parameterize_tail(beta_l, x_l, y_l) and (-beta_r, 1 - x_r, y_r): a = 1 / beta,
    // b = -a log(x) + y.
    al_ = 1 / params.select(-1, 2 * k);
    bl_ = -al_ * torch::log(xl_) + yl_;
    ar_ = 1 / -params.select(-1, 2 * k + 1);
    br_ = -ar_ * torch::log(1 - xr_) + yr_;
  }

  // q(alpha) for levels alpha [...] (the parameters' batch shape).
  torch::Tensor Quantile(const torch::Tensor& alpha) const {
    torch::Tensor out =
        torch::where(alpha < xl_, al_ * torch::log(alpha) + bl_, ar_ * torch::log(1 - alpha) + br_);
    const torch::Tensor spline =
        SplineAt(alpha.unsqueeze(-1).unsqueeze(-1).unsqueeze(-1)).squeeze(-1);  // [..., Q-1]
    for (int64_t i = 0; i < qx_.size(0); ++i) {
      out = torch::where(torch::logical_and(qx_[i] <= alpha, alpha < qx_plus_[i]),
                         spline.select(-1, i), out);
    }
    return out;
  }

  // The CRPS of y [...] in closed form: both tails' and the splines'.
  torch::Tensor Crps(const torch::Tensor& y) const {
    return LeftTailCrps(y) + RightTailCrps(y) + SplineCrps(y);
  }

  // The integral of q over (0, 1): each piece's width times its mean height, and the tails'.
  torch::Tensor Mean() const {
    const torch::Tensor pieces = (dx_ * (sk_y_ + dy_ / 2)).sum({-2, -1});
    const torch::Tensor left = al_ * (xl_ * torch::log(xl_) - xl_) + bl_ * xl_;
    const torch::Tensor u = 1 - xr_;
    const torch::Tensor right = ar_ * (u * torch::log(u) - u) + br_ * u;
    return left + pieces + right;
  }

 private:
  // Every spline's value at levels a [..., Q-1 or 1, m, 1]: [..., Q-1, m].
  torch::Tensor SplineAt(const torch::Tensor& a) const {
    torch::Tensor v = (a - sk_x_.unsqueeze(-2)) / dx_.unsqueeze(-2);
    v = torch::maximum(torch::minimum(v, torch::ones_like(v)), torch::zeros_like(v));
    return qy_.unsqueeze(-1) + torch::sum(v * dy_.unsqueeze(-2), -1);
  }

  // Each spline's level at y [...] clamped to its range: [..., Q-1] (NF's cdf_spline).
  torch::Tensor SplineLevel(const torch::Tensor& y) const {
    const torch::Tensor z = y.unsqueeze(-1);
    torch::Tensor level;
    const int64_t n = sk_x_.size(-1);
    if (n > 1) {
      // Which pieces lie below y: a mask, so no gradient flows through the knots' values.
      torch::Tensor below;
      {
        torch::NoGradGuard no_grad;
        below = SplineAt(sk_x_.unsqueeze(-1)) < z.unsqueeze(-1);  // [..., Q-1, n]
      }
      const torch::Tensor below_next =
          torch::cat({below.narrow(-1, 1, n - 1), torch::zeros_like(below.narrow(-1, 0, 1))}, -1);
      const torch::Tensor rise = torch::sum(below_next * dy_, -1);
      const torch::Tensor piece = torch::logical_and(below, torch::logical_not(below_next));
      const torch::Tensor slope = torch::sum((piece * dx_) / dy_, -1);
      const torch::Tensor start = torch::sum(piece * sk_x_, -1);
      level = start + (z - qy_ - rise) * slope;
    } else {
      level = qx_ + (z - qy_) / (qy_plus_ - qy_) * (qx_plus_ - qx_);
    }
    return torch::minimum(torch::maximum(level, qx_), qx_plus_);
  }

  // The tails' levels at y, clamped to the tail (NF's cdf_tail).
  torch::Tensor LeftLevel(const torch::Tensor& y) const {
    return torch::exp(torch::minimum((y - bl_) / al_, torch::log(xl_)));
  }
  torch::Tensor RightLevel(const torch::Tensor& y) const {
    return 1 - torch::exp(torch::minimum((y - br_) / ar_, torch::log(1 - xr_)));
  }

  torch::Tensor LeftTailCrps(const torch::Tensor& y) const {
    const torch::Tensor level = LeftLevel(y);
    const torch::Tensor x = xl_;
    const torch::Tensor first = (y - bl_) * (x * x - 2 * x + 2 * level);
    const torch::Tensor second =
        x * x * al_ * (-torch::log(x) + 0.5) +
        2 * torch::where(y < yl_, x * al_ * (torch::log(x) - 1) + level * (-y + bl_ + al_),
                         torch::zeros_like(x));
    return first + second;
  }

  torch::Tensor RightTailCrps(const torch::Tensor& y) const {
    const torch::Tensor level = RightLevel(y);
    const torch::Tensor x = xr_;
    const torch::Tensor first = (y - br_) * (-1 - x * x + 2 * level);
    const torch::Tensor second =
        ar_ * (-0.5 * (x + 1) * (x + 1) + (x * x - 1) * torch::log(1 - x) + 2 * level) +
        2 * torch::where(y > yr_, (1 - level) * (y - br_), ar_ * (1 - x) * torch::log(1 - x));
    return first + second;
  }

  torch::Tensor SplineCrps(const torch::Tensor& y) const {
    const torch::Tensor z = y.unsqueeze(-1);
    const torch::Tensor level = SplineLevel(y);  // [..., Q-1]
    const torch::Tensor level_e = level.unsqueeze(-1);
    const torch::Tensor qx_plus_e = qx_plus_.unsqueeze(-1);
    const torch::Tensor r = torch::minimum(torch::maximum(level_e, sk_x_), sk_x_plus_);
    const torch::Tensor& a = sk_x_;
    const torch::Tensor& b = sk_x_plus_;
    const torch::Tensor coeff1 = -2.0 / 3 * b.pow(3) + a * b.pow(2) + b.pow(2) -
                                 (1.0 / 3) * a.pow(3) - 2 * a * b - r.pow(2) + 2 * a * r;
    const torch::Tensor coeff2 =
        -2 * torch::maximum(level_e, b) + b.pow(2) + 2 * qx_plus_e - qx_plus_e.pow(2);
    const torch::Tensor result =
        (qx_plus_.pow(2) - qx_.pow(2)) * (z - qy_) + 2 * (qx_plus_ - level) * (qy_ - z) +
        torch::sum((dy_ / dx_) * coeff1, -1) + torch::sum(dy_ * coeff2, -1);
    return torch::sum(result, -1);
  }

  torch::Tensor qx_, qx_plus_, qy_, qy_plus_;
  torch::Tensor sk_x_, dx_, sk_x_plus_, sk_y_, dy_;
  torch::Tensor xl_, xr_, yl_, yr_;
  torch::Tensor al_, bl_, ar_, br_;
};

}  // namespace

Result<Likelihood> Likelihood::Make(const std::string& name, const LikelihoodOptions& options) {
  std::string names;
  for (const Entry& e : Entries()) {
    if (e.name != name) {
      names += (names.empty() ? "" : ", ") + e.name;
      continue;
    }
    if (e.kind == DistributionKind::kTweedie && !(options.rho > 1 && options.rho < 2)) {
      return Status::InvalidArgument("likelihood Tweedie: rho must be in (1, 2), got ",
                                     options.rho);
    }
    if (e.kind == DistributionKind::kIsqf) {
      if (options.knots.size() < 2) {
        return Status::InvalidArgument(
            "likelihood ISQF: needs at least 2 quantile knots (the loss's quantiles), got ",
            options.knots.size());
      }
      for (size_t i = 0; i < options.knots.size(); ++i) {
        const double x = options.knots[i];
        if (!(x > 0 && x < 1) || (i > 0 && !(x > options.knots[i - 1]))) {
          return Status::InvalidArgument(
              "likelihood ISQF: the quantile knots must rise within (0, 1); knot ", i + 1, " is ",
              x);
        }
      }
      if (options.pieces < 1) {
        return Status::InvalidArgument("likelihood ISQF: num_pieces must be >= 1, got ",
                                       options.pieces);
      }
    }
    if (e.mixture && options.components < 1) {
      return Status::InvalidArgument("likelihood ", name, ": n_components must be >= 1, got ",
                                     options.components);
    }
    return Likelihood(e.kind, e.mixture, options);
  }
  return Status::InvalidArgument("likelihood: unknown distribution '", name,
                                 "' (available: ", names, ")");
}

const std::string& Likelihood::name() const { return EntryOf(kind_, mixture_).name; }

std::vector<std::string> Likelihood::param_names() const {
  const Entry& e = EntryOf(kind_, mixture_);
  if (kind_ == DistributionKind::kIsqf) {
    std::vector<std::string> names;
    const size_t q = options_.knots.size(), k = (q - 1) * static_cast<size_t>(options_.pieces);
    for (const char* kind : {"spline_knot_", "spline_height_"}) {
      for (size_t i = 1; i <= k; ++i) names.push_back(kind + std::to_string(i));
    }
    names.insert(names.end(), {"beta_l", "beta_r"});
    for (size_t i = 1; i <= q; ++i) names.push_back("quantile_knot_" + std::to_string(i));
    return names;
  }
  if (!mixture_) return e.params;
  std::vector<std::string> names;
  auto add = [&](const std::string& param) {
    for (int k = 1; k <= options_.components; ++k) names.push_back(param + "-" + std::to_string(k));
  };
  for (const std::string& param : e.params) add(param);
  if (options_.weighted) add("weight");
  return names;
}

int Likelihood::num_params() const {
  if (kind_ == DistributionKind::kIsqf) {
    const auto q = static_cast<int>(options_.knots.size());
    return 2 * (q - 1) * options_.pieces + 2 + q;
  }
  const auto per_component = static_cast<int>(EntryOf(kind_, mixture_).params.size());
  if (!mixture_) return per_component;
  return (per_component + (options_.weighted ? 1 : 0)) * options_.components;
}

std::vector<int> Likelihood::LocationParams() const {
  if (kind_ == DistributionKind::kStudentT) return {1};
  if (kind_ != DistributionKind::kNormal) return {};
  std::vector<int> out(static_cast<size_t>(mixture_ ? options_.components : 1));
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int>(i);
  return out;
}

std::vector<int> Likelihood::ScaleParams() const {
  std::vector<int> out = LocationParams();
  for (int& i : out) i += static_cast<int>(out.size());  // each location's scale follows them
  return out;
}

Likelihood Likelihood::Component() const { return Likelihood(kind_, false, options_); }

torch::Tensor Likelihood::ComponentParams(const torch::Tensor& params) const {
  const int64_t k = options_.components;
  const int64_t p = Component().num_params();
  std::vector<torch::Tensor> per_param;
  for (int64_t i = 0; i < p; ++i) per_param.push_back(params.narrow(-1, i * k, k));
  return torch::stack(per_param, -1);  // [..., K, p]
}

torch::Tensor Likelihood::Weights(const torch::Tensor& params) const {
  const int64_t k = options_.components;
  if (options_.weighted) return params.narrow(-1, params.size(-1) - k, k);
  auto shape = params.sizes().vec();
  shape.back() = k;
  return torch::full(shape, 1.0 / static_cast<double>(k), params.options());
}

void Likelihood::CheckParams(const torch::Tensor& params) const {
  TORCH_CHECK(params.defined() && params.dim() >= 1 && params.size(-1) == num_params(), name(),
              " likelihood: parameters must be [..., ", num_params(), "], got ",
              params.defined() ? params.sizes() : c10::IntArrayRef{});
}

torch::Tensor Likelihood::MapParams(const torch::Tensor& raw, const torch::Tensor& shift,
                                    const torch::Tensor& scale) const {
  CheckParams(raw);
  TORCH_CHECK(shift.defined() == scale.defined(), name(),
              " likelihood: give both the shift and the scale, or neither");
  const bool scaled = scale.defined();
  if (mixture_) {
    // The statistics broadcast against a parameter's K components [..., K].
    const torch::Tensor shift_k = scaled ? shift.unsqueeze(-1) : shift;
    const torch::Tensor scale_k = scaled ? scale.unsqueeze(-1) : scale;
    const int64_t k = options_.components;
    auto chunk = [&](int64_t i) { return raw.narrow(-1, i * k, k); };
    std::vector<torch::Tensor> out;
    switch (kind_) {
      case DistributionKind::kNormal:
        out = {scaled ? chunk(0) * scale_k + shift_k : chunk(0),
               torch::softplus(chunk(1)) + kNormalScaleEps};
        if (scaled) out[1] = out[1] * scale_k;
        break;
      case DistributionKind::kPoisson:
        out = {torch::softplus(scaled ? chunk(0) * scale_k + shift_k : chunk(0)) +
               kPoissonMixtureRateEps};
        break;
      case DistributionKind::kNegativeBinomial: {
        torch::Tensor mu = torch::softplus(chunk(0)) + kNegBinEps;
        torch::Tensor alpha = torch::softplus(chunk(1)) + kNegBinEps;
        if (scaled) {
          mu = mu * shift_k;
          alpha = alpha / (shift_k + 1.0);
        }
        // NF's probs = r / (1 + r) + 1e-8 with r = mu alpha, as torch's NegativeBinomial turns
        // them into logits: p clamped to [eps, 1 - eps] (eps the float type's epsilon), then
        // log(p) - log(1 - p). The clamp keeps the logits finite when p reaches 1 (a large r:
        // NHITS's outputs on the carrier series reach 15 000) or 0.
        const torch::Tensor r = mu * alpha;
        const double eps = r.scalar_type() == torch::kFloat64
                               ? std::numeric_limits<double>::epsilon()
                               : std::numeric_limits<float>::epsilon();
        const torch::Tensor p = (r / (1.0 + r) + kNegBinEps).clamp(eps, 1 - eps);
        out = {1.0 / alpha, torch::log(p) - torch::log1p(-p)};
        break;
      }
      default: TORCH_CHECK(false, name(), " likelihood: no parameter map");
    }
    if (options_.weighted) out.push_back(torch::softmax(chunk(raw.size(-1) / k - 1), -1));
    return torch::cat(out, -1);
  }
  auto affine = [&](const torch::Tensor& x) { return scaled ? x * scale + shift : x; };
  auto times_scale = [&](const torch::Tensor& x) { return scaled ? x * scale : x; };
  switch (kind_) {
    case DistributionKind::kNormal:
      return torch::stack({affine(raw.select(-1, 0)),
                           times_scale(torch::softplus(raw.select(-1, 1)) + kNormalScaleEps)},
                          -1);
    case DistributionKind::kStudentT:
      return torch::stack(
          {torch::softplus(raw.select(-1, 0)) + kStudentMinDf, affine(raw.select(-1, 1)),
           times_scale(torch::softplus(raw.select(-1, 2)) + kStudentScaleEps)},
          -1);
    case DistributionKind::kPoisson:
      return (torch::softplus(affine(raw.select(-1, 0))) + kPoissonRateEps).unsqueeze(-1);
    case DistributionKind::kNegativeBinomial: {
      const torch::Tensor mu = affine(torch::softplus(raw.select(-1, 0)) + kNegBinEps);
      torch::Tensor alpha = torch::softplus(raw.select(-1, 1)) + kNegBinEps;  // 1 / total_count
      if (scaled) alpha = alpha / (scale + 1.0);
      // NF's probs mu alpha / (1 + mu alpha) + 1e-8 as logits log(mu alpha): the same p without
      // the 1e-8, which in float32 makes p reach 1 once mu alpha passes ~1e8 (NF's torch then
      // refuses the distribution; counts near 80 000 with the identity scaler get there).
      return torch::stack({1.0 / alpha, torch::log(mu) + torch::log(alpha)}, -1);
    }
    case DistributionKind::kIsqf: {
      // NF's isqf_domain_map; the window's statistics stay outside (fitted in the scaled units).
      TORCH_CHECK(!scaled, name(), " likelihood: fitted in the scaled units, without statistics");
      const auto q = static_cast<int64_t>(options_.knots.size());
      const int64_t splines = 2 * (q - 1) * options_.pieces;
      const torch::Tensor knots = raw.narrow(-1, splines + 2, q);
      const torch::Tensor increments = torch::cat(
          {knots.narrow(-1, 0, 1), torch::softplus(knots.narrow(-1, 1, q - 1)) + kIsqfTol}, -1);
      return torch::cat(
          {raw.narrow(-1, 0, splines), torch::softplus(raw.narrow(-1, splines, 2)) + kIsqfTol,
           torch::cumsum(increments, -1)},
          -1);
    }
    case DistributionKind::kTweedie: {
      torch::Tensor log_mu =
          torch::clamp(torch::softplus(raw.select(-1, 0)), kTweedieMinLogMu, kTweedieMaxLogMu);
      if (scaled) {
        log_mu = torch::clamp(log_mu + torch::log(shift), kTweedieMinLogMu, kTweedieMaxLogMu);
      }
      return log_mu.unsqueeze(-1);
    }
  }
  TORCH_CHECK(false, name(), " likelihood: no parameter map");
}

torch::Tensor Likelihood::LogProb(const torch::Tensor& params, const torch::Tensor& y) const {
  CheckParams(params);
  TORCH_CHECK(y.sizes() == params.sizes().slice(0, params.dim() - 1), name(),
              " likelihood: values ", y.sizes(), " do not match parameters ", params.sizes());
  if (mixture_) {
    // log sum_k w_k p_k(y), as NF's: the weights as torch's Categorical(probs) holds them,
    // logits log(clamp(w, eps, 1 - eps)) with eps the float type's epsilon (so that a weight
    // that underflowed to 0 gives a finite gradient), then log_softmax of those.
    const torch::Tensor components = ComponentParams(params);  // [..., K, p]
    const torch::Tensor per = Component().LogProb(
        components,
        y.unsqueeze(-1).expand(components.sizes().slice(0, components.dim() - 1)));  // [..., K]
    const double eps = params.scalar_type() == torch::kFloat64
                           ? std::numeric_limits<double>::epsilon()
                           : std::numeric_limits<float>::epsilon();
    const torch::Tensor log_weights =
        torch::log_softmax(torch::log(Weights(params).clamp(eps, 1 - eps)), -1);
    return torch::logsumexp(per + log_weights, -1);
  }
  if (kind_ == DistributionKind::kIsqf) {
    // In float64: in float32 the closed form cancels to negative values for extreme parameters
    // (NF's does), below any true CRPS, and a fit learns to go there.
    return -torch::softplus(Isqf(params.to(torch::kFloat64), options_).Crps(y.to(torch::kFloat64)))
                .to(params.scalar_type());
  }
  if (kind_ == DistributionKind::kTweedie) {
    // NF's Tweedie.log_prob, the log-likelihood up to a term free of mu:
    // y mu^(1 - rho) / (1 - rho) - mu^(2 - rho) / (2 - rho).
    const double rho = options_.rho;
    const torch::Tensor log_mu = params.select(-1, 0);
    return y * torch::exp((1 - rho) * log_mu) / (1 - rho) -
           torch::exp((2 - rho) * log_mu) / (2 - rho);
  }
  if (kind_ == DistributionKind::kNormal) {
    const torch::Tensor loc = params.select(-1, 0), scale = params.select(-1, 1);
    const torch::Tensor z = (y - loc) / scale;
    return -0.5 * z * z - torch::log(scale) - 0.5 * std::log(2.0 * std::numbers::pi);
  }
  if (kind_ == DistributionKind::kPoisson) {
    // torch's Poisson.log_prob: y log(rate) - rate - lgamma(y + 1), for any y >= 0 (NF widens
    // the support from the integers to the nonnegative numbers).
    const torch::Tensor rate = params.select(-1, 0);
    return torch::xlogy(y, rate) - rate - torch::lgamma(y + 1.0);
  }
  if (kind_ == DistributionKind::kNegativeBinomial) {
    // torch's NegativeBinomial.log_prob from (total_count n, logits l):
    // n log sigmoid(-l) + y log sigmoid(l) + lgamma(n + y) - lgamma(1 + y) - lgamma(n).
    const torch::Tensor n = params.select(-1, 0);
    const torch::Tensor logits = params.select(-1, 1);
    const torch::Tensor unnormalized =
        n * torch::log_sigmoid(-logits) + y * torch::log_sigmoid(logits);
    const torch::Tensor normalization =
        -torch::lgamma(n + y) + torch::lgamma(1.0 + y) + torch::lgamma(n);
    return unnormalized - torch::where(n + y == 0, torch::zeros_like(normalization), normalization);
  }
  const torch::Tensor df = params.select(-1, 0), loc = params.select(-1, 1),
                      scale = params.select(-1, 2);
  const torch::Tensor z = (y - loc) / scale;
  return torch::lgamma(0.5 * (df + 1.0)) - torch::lgamma(0.5 * df) -
         0.5 * torch::log(df * std::numbers::pi) - torch::log(scale) -
         0.5 * (df + 1.0) * torch::log1p(z * z / df);
}

torch::Tensor Likelihood::MaskedNll(const torch::Tensor& params, const torch::Tensor& y,
                                    const torch::Tensor& mask) const {
  TORCH_CHECK(mask.sizes() == y.sizes(), name(), " likelihood: mask ", mask.sizes(),
              " does not match values ", y.sizes());
  const torch::Tensor keep = mask != 0;
  // Masked points are evaluated at the mean, so that a NaN or extreme value there cannot reach
  // the loss or its gradient through 0 * NaN.
  const torch::Tensor safe_y = torch::where(keep, y, Mean(params).detach());
  const torch::Tensor nll = -LogProb(params, safe_y);
  const torch::Tensor weighted = torch::where(keep, nll * mask, torch::zeros_like(nll));
  return weighted.sum() / torch::clamp_min(mask.sum(), 1.0);
}

torch::Tensor Likelihood::Mean(const torch::Tensor& params) const {
  CheckParams(params);
  if (mixture_) return (Component().Mean(ComponentParams(params)) * Weights(params)).sum(-1);
  if (kind_ == DistributionKind::kNegativeBinomial) {
    return params.select(-1, 0) * torch::exp(params.select(-1, 1));
  }
  if (kind_ == DistributionKind::kTweedie) return torch::exp(params.select(-1, 0));
  if (kind_ == DistributionKind::kIsqf) return Isqf(params, options_).Mean();
  return params.select(-1, kind_ == DistributionKind::kStudentT ? 1 : 0);
}

torch::Tensor Likelihood::Sample(const torch::Tensor& params,
                                 c10::optional<at::Generator> generator) const {
  CheckParams(params);
  const auto shape = params.sizes().slice(0, params.dim() - 1);
  const torch::Device device = params.device();
  if (mixture_) {
    // A component by the weights (inverse CDF of one uniform draw), then a draw from it.
    const torch::Tensor host = params.to(torch::kCPU);
    const torch::Tensor cdf = Weights(host).cumsum(-1);
    const torch::Tensor u =
        torch::rand(shape, generator, host.options()) * cdf.select(-1, cdf.size(-1) - 1);
    const torch::Tensor k =
        (cdf < u.unsqueeze(-1)).sum(-1).clamp_max(options_.components - 1);  // [...]
    const torch::Tensor components = ComponentParams(host);                  // [..., K, p]
    std::vector<int64_t> one_component = shape.vec();                        // [..., 1, p]
    one_component.push_back(1);
    one_component.push_back(components.size(-1));
    const torch::Tensor index = k.unsqueeze(-1).unsqueeze(-1).expand(one_component);
    const torch::Tensor chosen = components.gather(-2, index).squeeze(-2);  // [..., p]
    return Component().Sample(chosen, generator).to(device);
  }
  if (kind_ == DistributionKind::kIsqf) {
    return Quantile(params,
                    torch::rand(shape, generator, params.options().device(torch::kCPU)).to(device));
  }
  if (kind_ == DistributionKind::kTweedie) {
    const double rho = options_.rho;
    const torch::Tensor mu = torch::exp(params.select(-1, 0).to(torch::kCPU));
    const torch::Tensor lambda = mu.pow(2 - rho) / (2 - rho);
    const double alpha = (2 - rho) / (rho - 1);
    const torch::Tensor beta = mu.pow(1 - rho) / (rho - 1);
    const torch::Tensor count = at::poisson(lambda, generator) + kTweedieCountEps;
    return (at::_standard_gamma(count * alpha, generator) / beta).to(device);
  }
  if (kind_ == DistributionKind::kPoisson) {
    return at::poisson(params.select(-1, 0).to(torch::kCPU), generator).to(device);
  }
  if (kind_ == DistributionKind::kNegativeBinomial) {
    const torch::Tensor host = params.to(torch::kCPU);
    const torch::Tensor gamma = at::_standard_gamma(host.select(-1, 0), generator);
    const torch::Tensor rate =
        (gamma * torch::exp(host.select(-1, 1))).clamp_min(std::numeric_limits<float>::min());
    return at::poisson(rate, generator).to(device);
  }
  const torch::Tensor normal =
      torch::randn(shape, generator, params.options().device(torch::kCPU)).to(device);
  if (kind_ == DistributionKind::kNormal) {
    return params.select(-1, 0) + params.select(-1, 1) * normal;
  }
  const torch::Tensor df = params.select(-1, 0);
  const torch::Tensor chi2 =
      2.0 * at::_standard_gamma(0.5 * df.to(torch::kCPU), generator).to(device);
  return params.select(-1, 1) + params.select(-1, 2) * normal * torch::rsqrt(chi2 / df);
}

torch::Tensor Likelihood::Quantile(const torch::Tensor& params, const torch::Tensor& alpha) const {
  CheckParams(params);
  TORCH_CHECK(kind_ == DistributionKind::kIsqf, name(),
              " likelihood: no quantile function here (ISQF's only)");
  TORCH_CHECK(alpha.sizes() == params.sizes().slice(0, params.dim() - 1), name(),
              " likelihood: levels ", alpha.sizes(), " do not match parameters ", params.sizes());
  return Isqf(params, options_).Quantile(alpha);
}

torch::Tensor Likelihood::SampleQuantiles(const torch::Tensor& params, const torch::Tensor& q,
                                          int64_t samples,
                                          c10::optional<at::Generator> generator) const {
  CheckParams(params);
  TORCH_CHECK(samples >= 1, name(), " likelihood: samples must be >= 1, got ", samples);
  TORCH_CHECK(q.dim() == 1, name(), " likelihood: quantile levels must be [Q], got ", q.sizes());
  std::vector<int64_t> shape(params.sizes().begin(), params.sizes().end());
  shape.insert(shape.end() - 1, samples);                                             // [..., S, P]
  const torch::Tensor draws = Sample(params.unsqueeze(-2).expand(shape), generator);  // [..., S]
  const torch::Tensor levels = q.to(draws.options());
  return torch::quantile(draws, levels, -1).movedim(0, -1);  // [Q, ...] -> [..., Q]
}

}  // namespace drc::dl
