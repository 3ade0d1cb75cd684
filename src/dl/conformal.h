// Conformal prediction intervals for point forecasts, as NeuralForecast's PredictionIntervals
// (utils.py in NF 3.x: add_conformal_distribution_intervals, add_conformal_error_intervals):
// from conformity scores, the absolute errors of a calibration model's forecasts at a few
// cutoffs before the end of the training data (forecast.cc trains it), intervals around the
// point forecast per series and horizon step. Internal to src/dl (torch types).
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "drc/common/result.h"

namespace drc::dl {

// "conformal_distribution" or "conformal_error" (NF's method names); InvalidArgument otherwise.
Status CheckConformalMethod(const std::string& method);

// The quantiles at levels q (ascending, in [0, 1]) around `point` [S, H] from `scores`
// [S, W, H] (W calibration windows), float64 [S, H, Q]:
//  - conformal_distribution: the quantiles of the 2W values point - score and point + score;
//  - conformal_error: point - Q(1 - q) for q < 0.5, point + Q(q) for q > 0.5, the point at 0.5,
//    Q being the quantile of the W scores.
// Quantiles interpolate linearly (numpy's and torch's default); NaN scores (missing values)
// are skipped. Errors name `model` and the shapes.
Result<torch::Tensor> ConformalQuantiles(const std::string& model, const torch::Tensor& point,
                                         const torch::Tensor& scores, const std::vector<double>& q,
                                         const std::string& method);

}  // namespace drc::dl
