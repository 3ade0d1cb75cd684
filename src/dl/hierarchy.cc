#include "src/dl/hierarchy.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <torch/linalg.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include "drc/data/io.h"
#include "src/dl/tensor_view.h"

namespace drc::dl {
namespace {

// The text of a CSV file's first line's first field (unquoted), or empty.
std::string FirstHeader(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return {};
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::string first = line.substr(0, line.find(','));
  if (first.size() >= 2 && first.front() == '"' && first.back() == '"') {
    first = first.substr(1, first.size() - 2);
  }
  return first;
}

}  // namespace

Result<Reconciliation> ParseReconciliation(const std::string& name) {
  for (auto r : {Reconciliation::kIdentity, Reconciliation::kBottomUp, Reconciliation::kMinTraceOls,
                 Reconciliation::kMinTraceWls}) {
    if (name == ReconciliationName(r)) return r;
  }
  return Status::InvalidArgument("reconciliation '", name,
                                 "': expected BottomUp, MinTraceOLS, MinTraceWLS or Identity "
                                 "(NF's HINT reconciliations)");
}

const char* ReconciliationName(Reconciliation r) {
  switch (r) {
    case Reconciliation::kIdentity: return "Identity";
    case Reconciliation::kBottomUp: return "BottomUp";
    case Reconciliation::kMinTraceOls: return "MinTraceOLS";
    case Reconciliation::kMinTraceWls: return "MinTraceWLS";
  }
  return "?";
}

Result<Hierarchy> ReadHierarchy(const std::string& path) {
  data::CsvOptions options;
  const std::string id = FirstHeader(path);
  if (!id.empty()) options.column_types[id] = "string";
  DRC_ASSIGN_OR_RETURN(auto table, data::ReadCsv(path, options));
  return HierarchyFromTable(table, path);
}

Result<Hierarchy> HierarchyFromTable(const data::TablePtr& table, const std::string& source) {
  const int columns = table->num_columns();
  const int64_t rows = table->num_rows();
  if (columns < 2 || rows < 1) {
    return Status::InvalidArgument(source,
                                   ": a summing matrix needs a column of series ids and one "
                                   "column per bottom series, and a row per series; got ",
                                   columns, " columns and ", rows, " rows");
  }
  auto ids = arrow::compute::Cast(table->column(0), arrow::utf8());
  if (!ids.ok()) {
    return Status::InvalidArgument(source, ": the series ids (column 1): ", ids.status().message());
  }
  std::vector<std::string> names;
  std::map<std::string, int64_t> row_of;
  for (const auto& chunk : ids->chunked_array()->chunks()) {
    const auto& text = static_cast<const arrow::StringArray&>(*chunk);
    for (int64_t i = 0; i < text.length(); ++i) {
      const auto r = static_cast<int64_t>(names.size());
      if (text.IsNull(i) || text.GetView(i).empty()) {
        return Status::InvalidArgument(source, ":", r + 2, ":1: expected a series id");
      }
      names.emplace_back(text.GetView(i));
      if (!row_of.emplace(names.back(), r).second) {
        return Status::InvalidArgument(source, ":", r + 2, ":1: series '", names.back(),
                                       "' has a row already");
      }
    }
  }
  std::vector<torch::Tensor> columns_read;
  for (int c = 1; c < columns; ++c) {
    const std::string& header = table->field(c)->name();
    auto values = ColumnAsTensor(table->column(c));  // nulls as NaN
    if (!values.ok()) {
      return Status::InvalidArgument(source, ": column ", c + 1, " ('", header,
                                     "') should hold 0 or 1, as a summing matrix does (",
                                     table->field(c)->type()->ToString(), " read)");
    }
    const torch::Tensor v = values->tensor.to(torch::kFloat64);
    const auto bad = torch::nonzero((v != 0) & (v != 1));
    if (bad.size(0) > 0) {
      const int64_t r = bad[0][0].item<int64_t>();
      const double value = v[r].item<double>();
      return Status::InvalidArgument(
          source, ":", r + 2, ":", c + 1, ": column '", header, "' expects 0 or 1, got ",
          std::isnan(value) ? std::string("nothing") : std::to_string(value));
    }
    columns_read.push_back(v);
  }
  const torch::Tensor s_file = torch::stack(columns_read, 1);  // [rows, bottom]
  const auto acc = s_file.accessor<double, 2>();
  // The bottom series' rows, in the order of the columns; then the aggregates.
  std::map<std::string, int> column_of;
  for (int c = 1; c < columns; ++c) {
    const std::string& header = table->field(c)->name();
    if (!column_of.emplace(header, c).second) {
      return Status::InvalidArgument(source, ": bottom series '", header, "' heads columns ",
                                     column_of[header] + 1, " and ", c + 1);
    }
  }
  Hierarchy h;
  std::vector<int64_t> order;
  std::vector<bool> is_bottom(rows, false);
  for (int c = 1; c < columns; ++c) {
    const std::string& header = table->field(c)->name();
    auto it = row_of.find(header);
    if (it == row_of.end()) {
      return Status::InvalidArgument(source, ": bottom series '", header, "' (column ", c + 1,
                                     ") has no row");
    }
    const auto row = s_file[it->second];
    if (row.sum().item<double>() != 1.0 || acc[it->second][c - 1] != 1.0) {
      return Status::InvalidArgument(source, ":", it->second + 2, ": bottom series '", header,
                                     "' should sum itself alone (a 1 in column ", c + 1,
                                     " and 0 elsewhere)");
    }
    is_bottom[it->second] = true;
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (is_bottom[r]) continue;
    if (s_file[r].sum().item<double>() < 1.0) {
      return Status::InvalidArgument(source, ":", r + 2, ": series '", names[r],
                                     "' sums no bottom series");
    }
    order.push_back(r);
  }
  for (int c = 1; c < columns; ++c) order.push_back(row_of[table->field(c)->name()]);
  for (int64_t r : order) h.series.push_back(names[r]);
  h.s = s_file.index_select(0, torch::tensor(order, torch::kInt64)).contiguous();
  return h;
}

torch::Tensor ReconciliationMatrix(const torch::Tensor& s, Reconciliation r) {
  const int64_t n = s.size(0), b = s.size(1), a = n - b;
  const auto f64 = torch::kFloat64;
  if (r == Reconciliation::kIdentity) return {};
  if (r == Reconciliation::kBottomUp) {  // [0 | I]
    return torch::cat({torch::zeros({b, a}, f64), torch::eye(b, f64)}, 1);
  }
  // NF's P = J - (J W U) pinv(U^T W U) U^T with U = [I_a | -A]^T, J = [0 | I_b].
  const torch::Tensor w =
      r == Reconciliation::kMinTraceOls ? torch::eye(n, f64) : torch::diag(s.to(f64).sum(1));
  const torch::Tensor agg = s.to(f64).narrow(0, 0, a);
  const torch::Tensor u = torch::cat({torch::eye(a, f64), -agg}, 1).t();  // [n, a]
  const torch::Tensor j = torch::cat({torch::zeros({b, a}, f64), torch::eye(b, f64)}, 1);
  return j - j.mm(w).mm(u).mm(torch::linalg::pinv(u.t().mm(w).mm(u))).mm(u.t());
}

Result<torch::Tensor> ReconcilerFor(const Hierarchy& hierarchy, Reconciliation r,
                                    const std::vector<std::string>& ids) {
  if (r == Reconciliation::kIdentity) return torch::Tensor();
  std::map<std::string, int64_t> position;
  for (size_t k = 0; k < ids.size(); ++k) position[ids[k]] = static_cast<int64_t>(k);
  std::vector<int64_t> to_data;
  for (const std::string& name : hierarchy.series) {
    auto it = position.find(name);
    if (it == position.end()) {
      return Status::InvalidArgument("hierarchy: series '", name,
                                     "' of the summing matrix is not in the data");
    }
    to_data.push_back(it->second);
  }
  if (hierarchy.series.size() != ids.size()) {
    std::map<std::string, bool> known;
    for (const std::string& name : hierarchy.series) known[name] = true;
    for (const std::string& id : ids) {
      if (!known.count(id)) {
        return Status::InvalidArgument("hierarchy: series '", id,
                                       "' of the data has no row in the summing matrix");
      }
    }
  }
  const torch::Tensor sp = hierarchy.s.mm(ReconciliationMatrix(hierarchy.s, r));  // hierarchy order
  // sp_data[to_data[i], to_data[j]] = sp[i, j].
  const auto index = torch::tensor(to_data, torch::kInt64);
  torch::Tensor out = torch::zeros_like(sp);
  out.index_put_({index.unsqueeze(1), index.unsqueeze(0)}, sp);
  return out;
}

ReconciledForecast ReconcileSamples(const torch::Tensor& sp, const torch::Tensor& samples,
                                    const std::vector<double>& quantiles, uint64_t seed) {
  const int64_t n = samples.size(0), h = samples.size(1), k = samples.size(2);
  // NF draws every sample's index independently (np.random.choice over the K of its series and
  // step, with replacement).
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, k - 1);
  auto index = torch::empty({n, h, k}, torch::kInt64);
  int64_t* ip = index.data_ptr<int64_t>();
  for (int64_t i = 0; i < n * h * k; ++i) ip[i] = pick(rng);
  const torch::Tensor drawn = samples.to(torch::kFloat64).gather(2, index);
  // Reconciled: sum over j of sp[i, j] drawn[j, :, :].
  const torch::Tensor y = sp.to(torch::kFloat64).mm(drawn.reshape({n, h * k})).reshape({n, h, k});
  ReconciledForecast f;
  f.mean = y.mean(-1).to(samples.scalar_type());
  if (!quantiles.empty()) {
    // numpy's linear quantile: between the sorted values at floor and ceil of q (K - 1) (by
    // hand: torch::quantile refuses inputs of more than 2^24 values).
    const torch::Tensor sorted = std::get<0>(y.sort(-1));
    std::vector<torch::Tensor> columns;
    for (double q : quantiles) {
      const double pos = q * static_cast<double>(k - 1);
      const auto lo = static_cast<int64_t>(std::floor(pos));
      const int64_t hi = std::min(lo + 1, k - 1);
      const torch::Tensor low = sorted.select(-1, lo);
      columns.push_back(low + (sorted.select(-1, hi) - low) * (pos - static_cast<double>(lo)));
    }
    f.quantiles = torch::stack(columns, -1).to(samples.scalar_type());
  }
  return f;
}

std::vector<double> SampleLevels(int k) {
  std::vector<double> levels(k);
  for (int i = 0; i < k; ++i) levels[i] = static_cast<double>(i) / k;
  return levels;
}

}  // namespace drc::dl
