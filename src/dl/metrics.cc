#include "drc/dl/metrics.h"

#include <cmath>
#include <vector>

namespace drc::dl {
namespace {

// The pairs where neither value is NaN; InvalidArgument on unequal lengths or no pair left.
Result<std::vector<std::pair<double, double>>> Pairs(std::span<const double> y,
                                                     std::span<const double> y_hat,
                                                     const char* metric) {
  if (y.size() != y_hat.size()) {
    return Status::InvalidArgument(metric, ": y has ", y.size(), " values, y_hat ", y_hat.size());
  }
  std::vector<std::pair<double, double>> pairs;
  pairs.reserve(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isnan(y[i]) && !std::isnan(y_hat[i])) pairs.emplace_back(y[i], y_hat[i]);
  }
  if (pairs.empty()) return Status::InvalidArgument(metric, ": no (y, y_hat) pair without NaN");
  return pairs;
}

// Mean of f(y, y_hat) over the pairs where den(y, y_hat) != 0.
template <typename Num, typename Den>
Result<double> MeanRatio(std::span<const double> y, std::span<const double> y_hat,
                         const char* metric, Num num, Den den) {
  DRC_ASSIGN_OR_RETURN(auto pairs, Pairs(y, y_hat, metric));
  double sum = 0;
  int64_t n = 0;
  for (auto [a, b] : pairs) {
    const double d = den(a, b);
    if (d == 0) continue;
    sum += num(a, b) / d;
    ++n;
  }
  if (n == 0) return Status::InvalidArgument(metric, ": every denominator is 0");
  return sum / static_cast<double>(n);
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

}  // namespace

Result<double> Mae(std::span<const double> y, std::span<const double> y_hat) {
  return MeanRatio(
      y, y_hat, "MAE", [](double a, double b) { return std::abs(a - b); },
      [](double, double) { return 1.0; });
}

Result<double> Mse(std::span<const double> y, std::span<const double> y_hat) {
  return MeanRatio(
      y, y_hat, "MSE", [](double a, double b) { return (a - b) * (a - b); },
      [](double, double) { return 1.0; });
}

Result<double> Rmse(std::span<const double> y, std::span<const double> y_hat) {
  DRC_ASSIGN_OR_RETURN(double mse, Mse(y, y_hat));
  return std::sqrt(mse);
}

Result<double> Mape(std::span<const double> y, std::span<const double> y_hat) {
  DRC_ASSIGN_OR_RETURN(double m,
                       MeanRatio(
                           y, y_hat, "MAPE", [](double a, double b) { return std::abs(a - b); },
                           [](double a, double) { return std::abs(a); }));
  return 100.0 * m;
}

Result<double> Smape(std::span<const double> y, std::span<const double> y_hat) {
  DRC_ASSIGN_OR_RETURN(
      double m, MeanRatio(
                    y, y_hat, "sMAPE", [](double a, double b) { return 2.0 * std::abs(a - b); },
                    [](double a, double b) { return std::abs(a) + std::abs(b); }));
  return 100.0 * m;
}

Result<double> Mase(std::span<const double> y, std::span<const double> y_hat,
                    std::span<const double> y_train, int season) {
  if (season <= 0) return Status::InvalidArgument("MASE: season must be > 0, got ", season);
  double sum = 0;
  int64_t n = 0;
  for (size_t t = static_cast<size_t>(season); t < y_train.size(); ++t) {
    const double d = y_train[t] - y_train[t - static_cast<size_t>(season)];
    if (std::isnan(d)) continue;
    sum += std::abs(d);
    ++n;
  }
  if (n == 0 || sum == 0) {
    return Status::InvalidArgument("MASE: the seasonal naive forecast of y_train (", y_train.size(),
                                   " values, season ", season, ") has no error to scale by");
  }
  DRC_ASSIGN_OR_RETURN(double mae, Mae(y, y_hat));
  return mae / (sum / static_cast<double>(n));
}

Result<double> Nse(std::span<const double> y, std::span<const double> y_hat) {
  DRC_ASSIGN_OR_RETURN(auto pairs, Pairs(y, y_hat, "NSE"));
  double mean = 0;
  for (auto [a, b] : pairs) mean += a;
  mean /= static_cast<double>(pairs.size());
  double num = 0, den = 0;
  for (auto [a, b] : pairs) {
    num += (a - b) * (a - b);
    den += (a - mean) * (a - mean);
  }
  if (den == 0) return Status::InvalidArgument("NSE: y is constant");
  return 1.0 - num / den;
}

Result<double> Kge(std::span<const double> y, std::span<const double> y_hat) {
  DRC_ASSIGN_OR_RETURN(auto pairs, Pairs(y, y_hat, "KGE"));
  std::vector<double> a, b;
  for (auto [u, v] : pairs) {
    a.push_back(u);
    b.push_back(v);
  }
  const double ma = Mean(a), mb = Mean(b);
  double va = 0, vb = 0, cov = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    va += (a[i] - ma) * (a[i] - ma);
    vb += (b[i] - mb) * (b[i] - mb);
    cov += (a[i] - ma) * (b[i] - mb);
  }
  if (va == 0 || vb == 0 || ma == 0) {
    return Status::InvalidArgument("KGE: y or y_hat is constant, or mean(y) is 0");
  }
  const double r = cov / std::sqrt(va * vb);
  const double alpha = std::sqrt(vb / va);  // std(y_hat) / std(y)
  const double beta = mb / ma;
  return 1.0 - std::sqrt((r - 1) * (r - 1) + (alpha - 1) * (alpha - 1) + (beta - 1) * (beta - 1));
}

Result<double> Coverage(std::span<const double> y, std::span<const double> lo,
                        std::span<const double> hi) {
  if (y.size() != lo.size() || y.size() != hi.size()) {
    return Status::InvalidArgument("Coverage: y has ", y.size(), " values, lo ", lo.size(), ", hi ",
                                   hi.size());
  }
  int64_t n = 0, inside = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (std::isnan(y[i]) || std::isnan(lo[i]) || std::isnan(hi[i])) continue;
    ++n;
    if (lo[i] <= y[i] && y[i] <= hi[i]) ++inside;
  }
  if (n == 0) return Status::InvalidArgument("Coverage: no point without NaN");
  return static_cast<double>(inside) / static_cast<double>(n);
}

}  // namespace drc::dl
