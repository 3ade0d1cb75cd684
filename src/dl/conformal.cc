#include "src/dl/conformal.h"

#include "src/dl/torch_status.h"

namespace drc::dl {

Status CheckConformalMethod(const std::string& method) {
  if (method == "conformal_distribution" || method == "conformal_error") return Status::OK();
  return Status::InvalidArgument("conformal method '", method,
                                 "' is not conformal_distribution or conformal_error");
}

Result<torch::Tensor> ConformalQuantiles(const std::string& model, const torch::Tensor& point,
                                         const torch::Tensor& scores, const std::vector<double>& q,
                                         const std::string& method) {
  DRC_RETURN_NOT_OK(CheckConformalMethod(method));
  if (point.dim() != 2 || scores.dim() != 3 || scores.size(0) != point.size(0) ||
      scores.size(2) != point.size(1)) {
    return Status::InvalidArgument(model, " conformal intervals: forecast ", ShapeOf(point),
                                   " and scores ", ShapeOf(scores),
                                   " do not fit ([S, H] and [S, W, H])");
  }
  return Guard(model + " conformal intervals", [&]() -> Result<torch::Tensor> {
    const torch::Tensor mean = point.to(torch::kFloat64);
    const torch::Tensor s = scores.to(torch::kFloat64);
    if (method == "conformal_distribution") {
      const torch::Tensor values = torch::cat({mean.unsqueeze(1) - s, mean.unsqueeze(1) + s}, 1);
      return torch::nanquantile(values, torch::tensor(q, torch::kFloat64), 1).permute({1, 2, 0});
    }
    std::vector<torch::Tensor> columns;
    for (double level : q) {
      if (level == 0.5) {
        columns.push_back(mean);
        continue;
      }
      const torch::Tensor spread = torch::nanquantile(s, level < 0.5 ? 1 - level : level, 1);
      columns.push_back(level < 0.5 ? mean - spread : mean + spread);
    }
    return torch::stack(columns, -1);
  });
}

}  // namespace drc::dl
