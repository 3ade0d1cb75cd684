// Sorting a long-format series table by (unique_id, ds), the order every forecast and prepare
// step needs: data::Sort against Arrow's own stable sort (SortIndices then Take, what
// data::Sort ran before session 22) on the rows of a CSV as they come, and data::Sort on rows
// already in order (it then only checks them).
//
//   python3 bench/many_series.py 10000 /tmp/panel.csv
//   (head -1 /tmp/panel.csv; tail -n +2 /tmp/panel.csv | shuf) > /tmp/panel_shuf.csv
//   ninja -C build/release sort_keys_bench
//   DRC_SORT_CSV=/tmp/panel_shuf.csv build/release/src/data/sort_keys_bench
//
// Without DRC_SORT_CSV the table is 200 000 rows of 1 000 generated series, shuffled.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "drc/data/io.h"
#include "drc/data/ops.h"

namespace drc::data {
namespace {

namespace cp = arrow::compute;

// 1 000 monthly series of 200 points (timestamps in seconds), rows shuffled.
TablePtr Generated() {
  constexpr int kSeries = 1000, kPoints = 200;
  std::vector<int64_t> order(kSeries * kPoints);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  arrow::StringBuilder ids;
  arrow::TimestampBuilder ds(arrow::timestamp(arrow::TimeUnit::SECOND),
                             arrow::default_memory_pool());
  arrow::DoubleBuilder y;
  char id[16];
  for (const int64_t row : order) {
    std::snprintf(id, sizeof(id), "S%05d", static_cast<int>(row / kPoints));
    if (!ids.Append(id).ok() || !ds.Append(946684800 + (row % kPoints) * 2629746).ok() ||
        !y.Append(static_cast<double>(row)).ok()) {
      std::abort();
    }
  }
  std::shared_ptr<arrow::Array> a, b, c;
  if (!ids.Finish(&a).ok() || !ds.Finish(&b).ok() || !y.Finish(&c).ok()) std::abort();
  return arrow::Table::Make(
      arrow::schema({arrow::field("unique_id", arrow::utf8()), arrow::field("ds", b->type()),
                     arrow::field("y", arrow::float64())}),
      {a, b, c});
}

const TablePtr& Input() {
  static const TablePtr table = [] {
    if (!Initialize().ok()) std::abort();
    const char* path = std::getenv("DRC_SORT_CSV");
    if (path == nullptr) return Generated();
    auto read = ReadTable(path);
    if (!read.ok()) {
      std::fprintf(stderr, "sort_keys_bench: %s\n", read.status().ToString().c_str());
      std::abort();
    }
    return *read;
  }();
  return table;
}

const std::vector<SortKey> kKeys = {{"unique_id"}, {"ds"}};

void Report(benchmark::State& state, const TablePtr& table) {
  state.SetItemsProcessed(state.iterations() * table->num_rows());
  state.counters["rows"] = static_cast<double>(table->num_rows());
}

void BM_DataSort(benchmark::State& state) {
  const TablePtr& table = Input();
  for (auto _ : state) {
    auto sorted = Sort(table, kKeys);
    if (!sorted.ok()) state.SkipWithError(sorted.status().ToString().c_str());
    benchmark::DoNotOptimize(sorted);
  }
  Report(state, table);
}

void BM_ArrowSortIndicesTake(benchmark::State& state) {
  const TablePtr& table = Input();
  const cp::SortOptions options({cp::SortKey("unique_id"), cp::SortKey("ds")});
  for (auto _ : state) {
    auto indices = cp::SortIndices(arrow::Datum(table), options);
    if (!indices.ok()) state.SkipWithError(indices.status().ToString().c_str());
    auto taken = cp::Take(arrow::Datum(table), arrow::Datum(*indices));
    if (!taken.ok()) state.SkipWithError(taken.status().ToString().c_str());
    benchmark::DoNotOptimize(taken);
  }
  Report(state, table);
}

void BM_DataSortAlreadySorted(benchmark::State& state) {
  auto sorted = Sort(Input(), kKeys);
  if (!sorted.ok()) std::abort();
  const TablePtr table = *sorted;
  for (auto _ : state) {
    auto again = Sort(table, kKeys);
    if (!again.ok()) state.SkipWithError(again.status().ToString().c_str());
    benchmark::DoNotOptimize(again);
  }
  Report(state, table);
}

BENCHMARK(BM_DataSort)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ArrowSortIndicesTake)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DataSortAlreadySorted)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace drc::data

BENCHMARK_MAIN();
