// Forecast accuracy metrics (NeuralForecast / NeuralHydrology definitions). Plain C++: no
// libtorch here, so every layer and the CLI may use them.
//
// y and y_hat have equal length (InvalidArgument otherwise); NaN pairs are skipped. MAPE and
// sMAPE are in percent; points where the denominator is 0 are skipped.
#pragma once

#include <span>

#include "drc/common/result.h"

namespace drc::dl {

Result<double> Mae(std::span<const double> y, std::span<const double> y_hat);
Result<double> Mse(std::span<const double> y, std::span<const double> y_hat);
Result<double> Rmse(std::span<const double> y, std::span<const double> y_hat);
Result<double> Mape(std::span<const double> y, std::span<const double> y_hat);
Result<double> Smape(std::span<const double> y, std::span<const double> y_hat);
// MAE scaled by the in-sample MAE of the seasonal naive forecast with period `season`.
Result<double> Mase(std::span<const double> y, std::span<const double> y_hat,
                    std::span<const double> y_train, int season);
// Nash-Sutcliffe efficiency: 1 - sum((y - y_hat)^2) / sum((y - mean(y))^2).
Result<double> Nse(std::span<const double> y, std::span<const double> y_hat);
// Kling-Gupta efficiency (2009): 1 - sqrt((r-1)^2 + (alpha-1)^2 + (beta-1)^2).
Result<double> Kge(std::span<const double> y, std::span<const double> y_hat);
// Interval coverage: the share of points with lo <= y <= hi, skipping any point with a NaN. A
// crossed interval (lo > hi, as MQLoss's separately forecast quantiles may give, and NF's) holds
// no point. InvalidArgument for unequal lengths or no point without NaN.
Result<double> Coverage(std::span<const double> y, std::span<const double> lo,
                        std::span<const double> hi);

}  // namespace drc::dl
