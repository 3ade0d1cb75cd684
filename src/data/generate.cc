#include "drc/data/generate.h"

#include <arrow/api.h>

#include <random>

namespace drc::data {

TablePtr CylonTable(int64_t rows, double key_factor, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto key_range = static_cast<uint64_t>(std::max<double>(1.0, key_factor * rows));
  std::vector<int64_t> keys(static_cast<size_t>(rows)), values(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    keys[static_cast<size_t>(i)] = static_cast<int64_t>(rng() % key_range);
    values[static_cast<size_t>(i)] = static_cast<int64_t>(rng() >> 33);
  }
  auto key_array =
      std::make_shared<arrow::Int64Array>(rows, arrow::Buffer::FromVector(std::move(keys)));
  auto value_array =
      std::make_shared<arrow::Int64Array>(rows, arrow::Buffer::FromVector(std::move(values)));
  return arrow::Table::Make(
      arrow::schema({arrow::field("key", arrow::int64()), arrow::field("value", arrow::int64())}),
      {key_array, value_array});
}

}  // namespace drc::data
