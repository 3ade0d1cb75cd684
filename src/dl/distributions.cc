#include "src/dl/distributions.h"

#include <c10/util/Exception.h>

#include <cmath>
#include <limits>
#include <numbers>
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

struct Entry {
  DistributionKind kind;
  std::string name;
  std::vector<std::string> params;
};

const std::vector<Entry>& Entries() {
  static const std::vector<Entry> kEntries = {
      {DistributionKind::kStudentT, "StudentT", {"df", "loc", "scale"}},
      {DistributionKind::kNormal, "Normal", {"loc", "scale"}},
      {DistributionKind::kPoisson, "Poisson", {"rate"}},
      {DistributionKind::kNegativeBinomial, "NegativeBinomial", {"total_count", "logits"}},
  };
  return kEntries;
}

const Entry& EntryOf(DistributionKind kind) {
  for (const Entry& e : Entries()) {
    if (e.kind == kind) return e;
  }
  TORCH_CHECK(false, "likelihood: no entry for kind ", static_cast<int>(kind));
}

}  // namespace

Result<Likelihood> Likelihood::Make(const std::string& name) {
  std::string names;
  for (const Entry& e : Entries()) {
    if (e.name == name) return Likelihood(e.kind);
    names += (names.empty() ? "" : ", ") + e.name;
  }
  return Status::InvalidArgument("likelihood: unknown distribution '", name,
                                 "' (available: ", names, ")");
}

const std::string& Likelihood::name() const { return EntryOf(kind_).name; }

const std::vector<std::string>& Likelihood::param_names() const { return EntryOf(kind_).params; }

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
  }
  TORCH_CHECK(false, name(), " likelihood: no parameter map");
}

torch::Tensor Likelihood::LogProb(const torch::Tensor& params, const torch::Tensor& y) const {
  CheckParams(params);
  TORCH_CHECK(y.sizes() == params.sizes().slice(0, params.dim() - 1), name(),
              " likelihood: values ", y.sizes(), " do not match parameters ", params.sizes());
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
  if (kind_ == DistributionKind::kNegativeBinomial) {
    return params.select(-1, 0) * torch::exp(params.select(-1, 1));
  }
  return params.select(-1, kind_ == DistributionKind::kStudentT ? 1 : 0);
}

torch::Tensor Likelihood::Sample(const torch::Tensor& params,
                                 c10::optional<at::Generator> generator) const {
  CheckParams(params);
  const auto shape = params.sizes().slice(0, params.dim() - 1);
  const torch::Device device = params.device();
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
