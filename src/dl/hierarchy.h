// NeuralForecast's HINT (neuralforecast.models.hint, 3.3): coherent probabilistic forecasts of a
// hierarchy of series. A model with a distribution loss trains on every series of the hierarchy
// (aggregates and bottom series alike); its forecast of each series and step is K sample
// quantiles (K = the loss's num_samples, at levels 0, 1/K, ..., (K - 1)/K), which are resampled
// with replacement, independently for every series and step, and reconciled across the series:
// y = S P y_base, with S the summing matrix and P one of NF's reconciliations. The point forecast
// is the mean of the reconciled samples, the intervals their quantiles. Internal to src/dl.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "drc/common/result.h"
#include "drc/data/context.h"

namespace drc::dl {

// NF's HINT reconciliations: Identity (no reconciliation: the base model's forecasts as they
// are), BottomUp, MinTraceOLS and MinTraceWLS (W = diag(S 1), each series weighted by the number
// of bottom series it sums).
enum class Reconciliation { kIdentity, kBottomUp, kMinTraceOls, kMinTraceWls };

// By NF's names; InvalidArgument lists them.
Result<Reconciliation> ParseReconciliation(const std::string& name);
const char* ReconciliationName(Reconciliation r);

// A summing matrix: `series` names its rows, the aggregates first (in the order given) and then
// the bottom series (in the order of S's columns); s [series, bottom] of 0 and 1 (float64), the
// bottom rows an identity.
struct Hierarchy {
  std::vector<std::string> series;
  torch::Tensor s;
  int64_t bottom() const { return s.size(1); }
};

// S as HierarchicalForecast's aggregate() gives it (S_df.to_csv()): the first column names each
// row's series (any header, e.g. unique_id), then one column per bottom series, headed by its id,
// holding 0 or 1. Every bottom series has its own row (a 1 in its column only), in any order
// among the rows; every other row is an aggregate of at least one bottom series. Errors name the
// file, line and column.
Result<Hierarchy> ReadHierarchy(const std::string& path);
// The same from a table read from `source` (its name in errors).
Result<Hierarchy> HierarchyFromTable(const data::TablePtr& table, const std::string& source);

// P [bottom, series] of NF's get_bottomup_P, get_mintrace_ols_P and get_mintrace_wls_P for
// s [series, bottom] (aggregates first), in float64; undefined for Identity.
torch::Tensor ReconciliationMatrix(const torch::Tensor& s, Reconciliation r);

// S P [n, n] with rows and columns in the order of `ids` (the series the model forecasts):
// InvalidArgument when a series of the hierarchy is not among them or one of them is not in the
// hierarchy. Undefined for Identity.
Result<torch::Tensor> ReconcilerFor(const Hierarchy& hierarchy, Reconciliation r,
                                    const std::vector<std::string>& ids);

struct ReconciledForecast {
  torch::Tensor mean;       // [n, H]
  torch::Tensor quantiles;  // [n, H, Q]
};

// NF's HINT.predict on base `samples` [n, H, K] (float, the rows in `sp`'s order): each series'
// and step's K values resampled with replacement (K draws each, from `seed`), reconciled as
// sp [n, n] times them, then their mean and their quantiles at `quantiles` (linear
// interpolation, as numpy's quantile; empty: none).
ReconciledForecast ReconcileSamples(const torch::Tensor& sp, const torch::Tensor& samples,
                                    const std::vector<double>& quantiles, uint64_t seed);

// The sample levels HINT asks the base model for: 0, 1/K, ..., (K - 1)/K.
std::vector<double> SampleLevels(int k);

}  // namespace drc::dl
