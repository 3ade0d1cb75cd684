#include "src/data/fast_groupby.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/util/bit_util.h>

#include <algorithm>
#include <limits>
#include <map>
#include <string_view>
#include <type_traits>

#include "src/data/arrow_status.h"
#include "src/data/fast_sort.h"
#include "src/data/parallel.h"

namespace drc::data::internal {
namespace {

namespace cp = arrow::compute;

// The context of allocation failures.
constexpr std::string_view kAllocating = "GroupBy: allocating";

bool Supported(const SortAgg& agg, const arrow::DataType& type) {
  const bool number = arrow::is_integer(type.id()) || type.id() == arrow::Type::FLOAT ||
                      type.id() == arrow::Type::DOUBLE;
  switch (agg.kind) {
    case AggKind::kCount:
    case AggKind::kCountAll: return true;
    case AggKind::kSum:
    case AggKind::kMean: return number;
    case AggKind::kMin:
    case AggKind::kMax: return arrow::is_integer(type.id());
    default: return false;
  }
}

// The groups: `order` is the sorted row order, group g is order[runs[g], runs[g + 1]).
template <typename I>
struct Groups {
  const I* order;
  const std::vector<int64_t>* runs;  // with the end sentinel
  int64_t count() const { return static_cast<int64_t>(runs->size()) - 1; }
};

// Calls f(g, begin, end) for every group, split over threads.
template <typename I, typename F>
void ForEachGroup(const Groups<I>& groups, int64_t rows, F&& f) {
  const int64_t n = groups.count();
  const int threads = Threads(rows);
  ParallelFor(threads, [&](int t) {
    const int64_t e = PartBegin(n, threads, t + 1);
    for (int64_t g = PartBegin(n, threads, t); g < e; ++g) {
      f(g, (*groups.runs)[static_cast<size_t>(g)], (*groups.runs)[static_cast<size_t>(g + 1)]);
    }
  });
}

// One value column in sorted row order (values and, if it has nulls, validity bytes).
template <typename T>
struct SortedValues {
  std::shared_ptr<arrow::Buffer> values;
  std::vector<uint8_t> valid;  // empty: no nulls
  const T* data() const { return reinterpret_cast<const T*>(values->data()); }
};

template <typename T, typename I>
Result<SortedValues<T>> Gather(const arrow::Array& array, const I* order, int64_t n,
                               arrow::MemoryPool* pool) {
  SortedValues<T> out;
  DRC_ASSIGN_OR_RETURN(out.values,
                       AllocateShared(n * static_cast<int64_t>(sizeof(T)), pool, kAllocating));
  T* dst = reinterpret_cast<T*>(out.values->mutable_data());
  const T* src = array.data()->GetValues<T>(1);
  const uint8_t* bits = array.null_count() > 0 ? array.null_bitmap_data() : nullptr;
  if (bits != nullptr) out.valid.resize(static_cast<size_t>(n));
  const int64_t offset = array.offset();
  const int threads = Threads(n);
  ParallelFor(threads, [&](int t) {
    const int64_t e = PartBegin(n, threads, t + 1);
    for (int64_t i = PartBegin(n, threads, t); i < e; ++i) dst[i] = src[order[i]];
    if (bits == nullptr) return;
    for (int64_t i = PartBegin(n, threads, t); i < e; ++i) {
      out.valid[static_cast<size_t>(i)] = arrow::bit_util::GetBit(bits, offset + order[i]);
    }
  });
  return out;
}

// Validity bitmap from one byte per group; nullptr when all are valid.
Result<std::shared_ptr<arrow::Buffer>> Bitmap(const std::vector<uint8_t>& valid,
                                              int64_t* null_count, arrow::MemoryPool* pool) {
  const int64_t n = static_cast<int64_t>(valid.size());
  *null_count = n - std::count(valid.begin(), valid.end(), uint8_t{1});
  if (*null_count == 0) return nullptr;
  DRC_ASSIGN_OR_RETURN(auto bitmap,
                       AllocateShared(arrow::bit_util::BytesForBits(n), pool, kAllocating));
  uint8_t* bits = bitmap->mutable_data();
  for (int64_t i = 0; i < n; ++i) arrow::bit_util::SetBitTo(bits, i, valid[static_cast<size_t>(i)]);
  return bitmap;
}

template <typename Out>
Result<std::shared_ptr<arrow::Array>> MakeArray(const std::shared_ptr<arrow::DataType>& type,
                                                std::shared_ptr<arrow::Buffer> values,
                                                const std::vector<uint8_t>& valid, int64_t n,
                                                arrow::MemoryPool* pool) {
  int64_t nulls = 0;
  std::shared_ptr<arrow::Buffer> bitmap;
  if (!valid.empty()) {
    DRC_ASSIGN_OR_RETURN(bitmap, Bitmap(valid, &nulls, pool));
  }
  return arrow::MakeArray(
      arrow::ArrayData::Make(type, n, {std::move(bitmap), std::move(values)}, nulls));
}

// Accumulator and result type of sum (and of mean's sum), as Arrow's kernels use.
template <typename T>
using SumType = std::conditional_t<std::is_floating_point_v<T>, double,
                                   std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <typename T>
std::shared_ptr<arrow::DataType> SumArrowType() {
  if constexpr (std::is_floating_point_v<T>) {
    return arrow::float64();
  } else if constexpr (std::is_signed_v<T>) {
    return arrow::int64();
  } else {
    return arrow::uint64();
  }
}

// Sum (in S: wrapping int64/uint64 or double, as Arrow's sum) or mean (S = double, as Arrow's
// mean, which sums integers as doubles) of each group's valid values; null without any.
template <typename T, typename S, typename I>
Result<std::shared_ptr<arrow::Array>> SumOrMean(bool mean, const SortedValues<T>& sorted,
                                                const Groups<I>& groups, int64_t rows,
                                                arrow::MemoryPool* pool) {
  const int64_t n = groups.count();
  const T* v = sorted.data();
  const uint8_t* ok = sorted.valid.empty() ? nullptr : sorted.valid.data();
  std::vector<uint8_t> valid(ok != nullptr ? static_cast<size_t>(n) : 0);
  DRC_ASSIGN_OR_RETURN(auto buffer, AllocateShared(n * 8, pool, kAllocating));
  auto* sums = reinterpret_cast<S*>(buffer->mutable_data());
  auto* means = reinterpret_cast<double*>(buffer->mutable_data());
  // Integers wrap on overflow (unsigned arithmetic), as Arrow's sum.
  using Acc = typename std::conditional_t<std::is_integral_v<S>, std::make_unsigned<S>,
                                          std::type_identity<S>>::type;
  ForEachGroup(groups, rows, [&](int64_t g, int64_t b, int64_t e) {
    Acc sum = 0;
    int64_t count = e - b;
    if (ok == nullptr) {
      for (int64_t i = b; i < e; ++i) sum += static_cast<Acc>(static_cast<S>(v[i]));
    } else {
      count = 0;
      for (int64_t i = b; i < e; ++i) {
        if (ok[i]) sum += static_cast<Acc>(static_cast<S>(v[i])), ++count;
      }
      valid[static_cast<size_t>(g)] = count > 0;
    }
    if (mean) {
      means[g] = count > 0 ? static_cast<double>(sum) / static_cast<double>(count) : 0.0;
    } else {
      sums[g] = static_cast<S>(sum);
    }
  });
  return MakeArray<S>(mean ? arrow::float64() : SumArrowType<T>(), std::move(buffer), valid, n,
                      pool);
}

template <typename T, typename I>
Result<std::shared_ptr<arrow::Array>> Reduce(AggKind kind, const SortedValues<T>& sorted,
                                             const std::shared_ptr<arrow::DataType>& type,
                                             const Groups<I>& groups, int64_t rows,
                                             arrow::MemoryPool* pool) {
  const int64_t n = groups.count();
  const T* v = sorted.data();
  if (kind == AggKind::kSum) return SumOrMean<T, SumType<T>>(false, sorted, groups, rows, pool);
  if (kind == AggKind::kMean) return SumOrMean<T, double>(true, sorted, groups, rows, pool);
  // Min and max (integers only).
  const uint8_t* ok = sorted.valid.empty() ? nullptr : sorted.valid.data();
  std::vector<uint8_t> valid(ok != nullptr ? static_cast<size_t>(n) : 0);
  const bool want_min = kind == AggKind::kMin;
  DRC_ASSIGN_OR_RETURN(auto buffer,
                       AllocateShared(n * static_cast<int64_t>(sizeof(T)), pool, kAllocating));
  T* out = reinterpret_cast<T*>(buffer->mutable_data());
  ForEachGroup(groups, rows, [&](int64_t g, int64_t b, int64_t e) {
    T best = want_min ? std::numeric_limits<T>::max() : std::numeric_limits<T>::lowest();
    bool any = false;
    for (int64_t i = b; i < e; ++i) {
      if (ok != nullptr && !ok[i]) continue;
      best = want_min ? std::min(best, v[i]) : std::max(best, v[i]);
      any = true;
    }
    out[g] = best;
    if (ok != nullptr) valid[static_cast<size_t>(g)] = any;
  });
  return MakeArray<T>(type, std::move(buffer), valid, n, pool);
}

// Counts per group: all rows, or the valid values of `array`.
template <typename I>
Result<std::shared_ptr<arrow::Array>> Count(const arrow::Array* array, const Groups<I>& groups,
                                            int64_t rows, arrow::MemoryPool* pool) {
  const int64_t n = groups.count();
  DRC_ASSIGN_OR_RETURN(auto buffer, AllocateShared(n * 8, pool, kAllocating));
  auto* out = reinterpret_cast<int64_t*>(buffer->mutable_data());
  const uint8_t* bits =
      array != nullptr && array->null_count() > 0 ? array->null_bitmap_data() : nullptr;
  const int64_t offset = array != nullptr ? array->offset() : 0;
  ForEachGroup(groups, rows, [&](int64_t g, int64_t b, int64_t e) {
    if (bits == nullptr) {
      out[g] = e - b;
      return;
    }
    int64_t count = 0;
    for (int64_t i = b; i < e; ++i) {
      count += arrow::bit_util::GetBit(bits, offset + groups.order[i]) ? 1 : 0;
    }
    out[g] = count;
  });
  return MakeArray<int64_t>(arrow::int64(), std::move(buffer), {}, n, pool);
}

template <typename T, typename I>
Status ReduceColumn(const arrow::Array& array, const std::vector<const SortAgg*>& aggs,
                    const Groups<I>& groups, int64_t rows, arrow::MemoryPool* pool,
                    std::map<const SortAgg*, std::shared_ptr<arrow::Array>>* out) {
  DRC_ASSIGN_OR_RETURN(SortedValues<T> sorted, Gather<T>(array, groups.order, rows, pool));
  for (const SortAgg* agg : aggs) {
    DRC_ASSIGN_OR_RETURN((*out)[agg],
                         Reduce<T>(agg->kind, sorted, array.type(), groups, rows, pool));
  }
  return Status::OK();
}

template <typename I>
Status ReduceAny(const arrow::Array& array, const std::vector<const SortAgg*>& aggs,
                 const Groups<I>& groups, int64_t rows, arrow::MemoryPool* pool,
                 std::map<const SortAgg*, std::shared_ptr<arrow::Array>>* out) {
  using arrow::Type;
  switch (array.type_id()) {
    case Type::INT8: return ReduceColumn<int8_t>(array, aggs, groups, rows, pool, out);
    case Type::INT16: return ReduceColumn<int16_t>(array, aggs, groups, rows, pool, out);
    case Type::INT32: return ReduceColumn<int32_t>(array, aggs, groups, rows, pool, out);
    case Type::INT64: return ReduceColumn<int64_t>(array, aggs, groups, rows, pool, out);
    case Type::UINT8: return ReduceColumn<uint8_t>(array, aggs, groups, rows, pool, out);
    case Type::UINT16: return ReduceColumn<uint16_t>(array, aggs, groups, rows, pool, out);
    case Type::UINT32: return ReduceColumn<uint32_t>(array, aggs, groups, rows, pool, out);
    case Type::UINT64: return ReduceColumn<uint64_t>(array, aggs, groups, rows, pool, out);
    case Type::FLOAT: return ReduceColumn<float>(array, aggs, groups, rows, pool, out);
    case Type::DOUBLE: return ReduceColumn<double>(array, aggs, groups, rows, pool, out);
    default: return Status::Internal("GroupBy: no sorted reduction for ", array.type()->ToString());
  }
}

template <typename I>
Result<TablePtr> GroupSorted(const TablePtr& input, int key, const std::vector<SortAgg>& aggs,
                             const std::shared_ptr<arrow::Array>& order_array,
                             std::vector<int64_t>* runs, arrow::MemoryPool* pool) {
  const int64_t rows = input->num_rows();
  runs->push_back(rows);
  const Groups<I> groups{order_array->data()->GetValues<I>(1), runs};
  const int64_t n = groups.count();
  cp::ExecContext exec(pool);

  // Keys: the first row of each group.
  DRC_ASSIGN_OR_RETURN(auto first_buffer,
                       AllocateShared(n * static_cast<int64_t>(sizeof(I)), pool, kAllocating));
  I* first = reinterpret_cast<I*>(first_buffer->mutable_data());
  for (int64_t g = 0; g < n; ++g) first[g] = groups.order[(*runs)[static_cast<size_t>(g)]];
  using ArrowIndex = typename arrow::CTypeTraits<I>::ArrowType;
  auto first_rows = std::make_shared<arrow::NumericArray<ArrowIndex>>(n, std::move(first_buffer));
  DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum keys,
                             cp::Take(arrow::Datum(input->column(key)), arrow::Datum(first_rows),
                                      cp::TakeOptions::NoBoundsCheck(), &exec),
                             "GroupBy: keys");

  // Aggregates, one gather per value column.
  std::map<int, std::vector<const SortAgg*>> by_column;
  std::map<const SortAgg*, std::shared_ptr<arrow::Array>> results;
  std::map<int, std::shared_ptr<arrow::Array>> arrays;
  for (const auto& agg : aggs) {
    if (agg.kind == AggKind::kCountAll) continue;
    if (arrays.count(agg.column) == 0) {
      const auto& column = *input->column(agg.column);
      std::shared_ptr<arrow::Array> array;
      if (column.num_chunks() == 1) {
        array = column.chunk(0);
      } else {
        DRC_ARROW_ASSIGN_OR_RETURN(array, arrow::Concatenate(column.chunks(), pool),
                                   "GroupBy: values");
      }
      arrays[agg.column] = std::move(array);
    }
    if (agg.kind != AggKind::kCount) by_column[agg.column].push_back(&agg);
  }
  for (const auto& [column, list] : by_column) {
    DRC_RETURN_NOT_OK(ReduceAny(*arrays[column], list, groups, rows, pool, &results));
  }
  arrow::FieldVector fields = {arrow::field("key", input->field(key)->type())};
  arrow::ChunkedArrayVector columns = {keys.chunked_array()};
  for (const auto& agg : aggs) {
    std::shared_ptr<arrow::Array> array;
    if (agg.kind == AggKind::kCountAll || agg.kind == AggKind::kCount) {
      const arrow::Array* values = agg.kind == AggKind::kCount ? arrays[agg.column].get() : nullptr;
      DRC_ASSIGN_OR_RETURN(array, Count(values, groups, rows, pool));
    } else {
      array = results[&agg];
    }
    fields.push_back(arrow::field(agg.name, array->type()));
    columns.push_back(std::make_shared<arrow::ChunkedArray>(std::move(array)));
  }
  return arrow::Table::Make(arrow::schema(fields), std::move(columns), n);
}

}  // namespace

Result<TablePtr> SortGroupBy(const TablePtr& input, int key, const std::vector<SortAgg>& aggs,
                             arrow::MemoryPool* pool) {
  // An empty input (possibly with no chunks at all) goes to the general path, which knows the
  // result schema without any array to look at.
  if (input->num_rows() == 0) return TablePtr();
  if (!RadixSortableInteger(*input->field(key)->type())) return TablePtr();
  for (const auto& agg : aggs) {
    if (agg.kind == AggKind::kCountAll) continue;
    if (!Supported(agg, *input->field(agg.column)->type())) return TablePtr();
  }
  std::vector<int64_t> runs;
  DRC_ASSIGN_OR_RETURN(auto order, RadixSortRuns(*input->column(key), &runs, pool));
  if (order == nullptr) return TablePtr();
  if (order->type_id() == arrow::Type::UINT32) {
    return GroupSorted<uint32_t>(input, key, aggs, order, &runs, pool);
  }
  return GroupSorted<int64_t>(input, key, aggs, order, &runs, pool);
}

}  // namespace drc::data::internal
