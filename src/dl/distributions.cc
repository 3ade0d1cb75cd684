#include "src/dl/distributions.h"

#include <c10/util/Exception.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace drc::dl {
namespace {

// NF's scale floors (normal_scale_decouple's and student_scale_decouple's eps) and StudentT's
// degrees-of-freedom floor (df = 3 + softplus).
constexpr double kNormalScaleEps = 0.2;
constexpr double kStudentScaleEps = 0.1;
constexpr double kStudentMinDf = 3.0;

const std::string kStudentTName = "StudentT";
const std::string kNormalName = "Normal";

}  // namespace

Result<Likelihood> Likelihood::Make(const std::string& name) {
  if (name == kStudentTName) return Likelihood(DistributionKind::kStudentT);
  if (name == kNormalName) return Likelihood(DistributionKind::kNormal);
  return Status::InvalidArgument("likelihood: unknown distribution '", name,
                                 "' (available: StudentT, Normal)");
}

const std::string& Likelihood::name() const {
  return kind_ == DistributionKind::kStudentT ? kStudentTName : kNormalName;
}

const std::vector<std::string>& Likelihood::param_names() const {
  static const std::vector<std::string> kStudentT = {"df", "loc", "scale"};
  static const std::vector<std::string> kNormal = {"loc", "scale"};
  return kind_ == DistributionKind::kStudentT ? kStudentT : kNormal;
}

void Likelihood::CheckParams(const torch::Tensor& params) const {
  TORCH_CHECK(params.defined() && params.dim() >= 1 && params.size(-1) == num_params(), name(),
              " likelihood: parameters must be [..., ", num_params(), "], got ",
              params.defined() ? params.sizes() : c10::IntArrayRef{});
}

torch::Tensor Likelihood::MapParams(const torch::Tensor& raw) const {
  CheckParams(raw);
  if (kind_ == DistributionKind::kNormal) {
    return torch::stack({raw.select(-1, 0), torch::softplus(raw.select(-1, 1)) + kNormalScaleEps},
                        -1);
  }
  return torch::stack({torch::softplus(raw.select(-1, 0)) + kStudentMinDf, raw.select(-1, 1),
                       torch::softplus(raw.select(-1, 2)) + kStudentScaleEps},
                      -1);
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
  return params.select(-1, kind_ == DistributionKind::kStudentT ? 1 : 0);
}

torch::Tensor Likelihood::Sample(const torch::Tensor& params,
                                 c10::optional<at::Generator> generator) const {
  CheckParams(params);
  const auto shape = params.sizes().slice(0, params.dim() - 1);
  const torch::Device device = params.device();
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
