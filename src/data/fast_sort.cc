#include "src/data/fast_sort.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/util/bit_util.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

#include "src/data/arrow_status.h"
#include "src/data/parallel.h"
#include "src/data/radix.h"

namespace drc::data::internal {
namespace {

namespace cp = arrow::compute;

constexpr int kMaxDigitBits = 11;     // 2048 buckets: counts stay in L1
constexpr int64_t kSmallSort = 1024;  // below this, std::sort the words

// The context of allocation failures.
constexpr std::string_view kAllocating = "Sort: allocating";

struct SegmentStats {
  uint64_t min = std::numeric_limits<uint64_t>::max();
  uint64_t max = 0;
  int64_t nulls = 0;
  int64_t nans = 0;
  // Where this segment's values, NaNs and nulls start in their output runs.
  int64_t value_at = 0;
  int64_t nan_at = 0;
  int64_t null_at = 0;
};

template <typename T>
inline bool IsNan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

// `runs` (optional): where each run of equal keys starts in the output (NaNs and nulls are one
// run each).
template <typename T, typename I>
Result<std::shared_ptr<arrow::Array>> SortTyped(const arrow::ChunkedArray& column, bool ascending,
                                                bool nulls_first, arrow::MemoryPool* pool,
                                                std::vector<int64_t>* runs) {
  const int64_t n = column.length();
  const int threads = Threads(n);
  const std::vector<Segment> segments =
      MakeSegments(column, std::max<int64_t>(kRowsPerThread / 4, (n + threads - 1) / threads));
  const auto num_segments = static_cast<int64_t>(segments.size());
  std::vector<SegmentStats> stats(segments.size());
  const uint64_t flip = ascending ? 0 : ~uint64_t{0};

  // 1. Per segment: key range, nulls and NaNs.
  ParallelFor(threads, [&](int t) {
    for (int64_t j = t; j < num_segments; j += threads) {
      SegmentStats& st = stats[static_cast<size_t>(j)];
      uint64_t lo = st.min, hi = st.max;
      int64_t nans = 0, nulls = 0;
      ForEachRow<T>(
          segments[static_cast<size_t>(j)],
          [&](int64_t, T v) {
            if (IsNan(v)) {
              ++nans;
              return;
            }
            const uint64_t u = OrderBits(v) ^ flip;
            lo = std::min(lo, u);
            hi = std::max(hi, u);
          },
          [&](int64_t) { ++nulls; });
      st.min = lo, st.max = hi, st.nans = nans, st.nulls = nulls;
    }
  });
  uint64_t min = std::numeric_limits<uint64_t>::max(), max = 0;
  int64_t nulls = 0, nans = 0;
  for (const auto& st : stats) {
    min = std::min(min, st.min);
    max = std::max(max, st.max);
    nulls += st.nulls;
    nans += st.nans;
  }
  const int64_t values = n - nulls - nans;
  const int index_bits = n > 1 ? std::bit_width(static_cast<uint64_t>(n - 1)) : 0;
  const int key_bits = values > 0 ? std::bit_width(max - min) : 0;
  if (index_bits + key_bits > 64) return nullptr;

  // Output runs: nulls, NaNs, values (nulls first) or values, NaNs, nulls.
  const int64_t value_base = nulls_first ? nulls + nans : 0;
  const int64_t nan_base = nulls_first ? nulls : values;
  const int64_t null_base = nulls_first ? 0 : values + nans;
  {
    int64_t v = 0, a = 0, z = 0;
    for (size_t j = 0; j < stats.size(); ++j) {
      SegmentStats& st = stats[j];
      const int64_t rows = segments[j].end - segments[j].begin;
      st.value_at = v, st.nan_at = nan_base + a, st.null_at = null_base + z;
      v += rows - st.nulls - st.nans, a += st.nans, z += st.nulls;
    }
  }
  DRC_ASSIGN_OR_RETURN(auto out_buffer,
                       AllocateShared(n * static_cast<int64_t>(sizeof(I)), pool, kAllocating));
  I* out = reinterpret_cast<I*>(out_buffer->mutable_data());
  DRC_ASSIGN_OR_RETURN(
      auto words_buffer,
      AllocateShared(values * static_cast<int64_t>(sizeof(uint64_t)), pool, kAllocating));
  auto* words = reinterpret_cast<uint64_t*>(words_buffer->mutable_data());

  // 2. Pack (key - min, row) into one word per value; nulls and NaNs straight to their runs.
  ParallelFor(threads, [&](int t) {
    for (int64_t j = t; j < num_segments; j += threads) {
      const Segment& s = segments[static_cast<size_t>(j)];
      const SegmentStats& st = stats[static_cast<size_t>(j)];
      uint64_t* w = words + st.value_at;
      I* nan_out = out + st.nan_at;
      I* null_out = out + st.null_at;
      const int64_t row0 = s.row - s.begin;
      ForEachRow<T>(
          s,
          [&](int64_t i, T v) {
            if (IsNan(v)) {
              *nan_out++ = static_cast<I>(row0 + i);
              return;
            }
            *w++ = (((OrderBits(v) ^ flip) - min) << index_bits) | static_cast<uint64_t>(row0 + i);
          },
          [&](int64_t i) { *null_out++ = static_cast<I>(row0 + i); });
    }
  });

  // 3. Sort the words by their key bits; ties keep row order (LSD passes are stable).
  uint64_t* sorted = words;
  if (key_bits > 0) {
    DRC_ASSIGN_OR_RETURN(
        auto tmp_buffer,
        AllocateShared(values * static_cast<int64_t>(sizeof(uint64_t)), pool, kAllocating));
    sorted = RadixSortWords(words, reinterpret_cast<uint64_t*>(tmp_buffer->mutable_data()), values,
                            index_bits, key_bits);
    // 4. Row numbers of the sorted values (tmp_buffer lives until here).
    const uint64_t row_mask = index_bits == 64 ? ~uint64_t{0} : (uint64_t{1} << index_bits) - 1;
    I* value_out = out + value_base;
    const int parts = Threads(values);
    std::vector<std::vector<int64_t>> part_runs(static_cast<size_t>(parts));
    ParallelFor(parts, [&](int t) {
      const int64_t b = PartBegin(values, parts, t);
      const int64_t e = PartBegin(values, parts, t + 1);
      for (int64_t i = b; i < e; ++i) value_out[i] = static_cast<I>(sorted[i] & row_mask);
      if (runs == nullptr) return;
      auto& mine = part_runs[static_cast<size_t>(t)];
      for (int64_t i = b; i < e; ++i) {
        if (i == 0 || (sorted[i] >> index_bits) != (sorted[i - 1] >> index_bits)) {
          mine.push_back(value_base + i);
        }
      }
    });
    if (runs != nullptr) {
      for (const auto& r : part_runs) runs->insert(runs->end(), r.begin(), r.end());
    }
  } else {
    // One distinct value: rows in input order.
    I* value_out = out + value_base;
    for (int64_t i = 0; i < values; ++i) value_out[i] = static_cast<I>(words[i]);
    if (runs != nullptr && values > 0) runs->push_back(value_base);
  }
  if (runs != nullptr) {  // value runs are in order; put the NaN and null runs in place
    std::vector<int64_t> others;
    if (nulls_first && nulls > 0) others.push_back(null_base);
    if (nans > 0) others.push_back(nan_base);
    if (!nulls_first && nulls > 0) others.push_back(null_base);
    runs->insert(nulls_first ? runs->begin() : runs->end(), others.begin(), others.end());
  }
  using ArrowIndex = typename arrow::CTypeTraits<I>::ArrowType;
  return std::make_shared<arrow::NumericArray<ArrowIndex>>(n, std::move(out_buffer));
}

template <typename I>
Result<std::shared_ptr<arrow::Array>> SortAs(const arrow::ChunkedArray& column, bool ascending,
                                             bool nulls_first, arrow::MemoryPool* pool,
                                             std::vector<int64_t>* runs) {
  using arrow::Type;
  switch (column.type()->id()) {
    case Type::INT8: return SortTyped<int8_t, I>(column, ascending, nulls_first, pool, runs);
    case Type::INT16: return SortTyped<int16_t, I>(column, ascending, nulls_first, pool, runs);
    case Type::INT32:
    case Type::DATE32:
    case Type::TIME32: return SortTyped<int32_t, I>(column, ascending, nulls_first, pool, runs);
    case Type::INT64:
    case Type::DATE64:
    case Type::TIME64:
    case Type::TIMESTAMP:
    case Type::DURATION: return SortTyped<int64_t, I>(column, ascending, nulls_first, pool, runs);
    case Type::UINT8: return SortTyped<uint8_t, I>(column, ascending, nulls_first, pool, runs);
    case Type::UINT16: return SortTyped<uint16_t, I>(column, ascending, nulls_first, pool, runs);
    case Type::UINT32: return SortTyped<uint32_t, I>(column, ascending, nulls_first, pool, runs);
    case Type::UINT64: return SortTyped<uint64_t, I>(column, ascending, nulls_first, pool, runs);
    case Type::FLOAT: return SortTyped<float, I>(column, ascending, nulls_first, pool, runs);
    case Type::DOUBLE: return SortTyped<double, I>(column, ascending, nulls_first, pool, runs);
    default: return nullptr;
  }
}

template <typename I, typename V>
void GatherTyped(const V* src, const I* indices, V* dst, int64_t n) {
  const int threads = Threads(n);
  ParallelFor(threads, [&](int t) {
    const int64_t e = PartBegin(n, threads, t + 1);
    for (int64_t i = PartBegin(n, threads, t); i < e; ++i) dst[i] = src[indices[i]];
  });
}

template <typename I>
void GatherWidth(const uint8_t* src, const I* indices, uint8_t* dst, int64_t n, int width) {
  switch (width) {
    case 1: GatherTyped(src, indices, dst, n); break;
    case 2:
      GatherTyped(reinterpret_cast<const uint16_t*>(src), indices, reinterpret_cast<uint16_t*>(dst),
                  n);
      break;
    case 4:
      GatherTyped(reinterpret_cast<const uint32_t*>(src), indices, reinterpret_cast<uint32_t*>(dst),
                  n);
      break;
    default:
      GatherTyped(reinterpret_cast<const uint64_t*>(src), indices, reinterpret_cast<uint64_t*>(dst),
                  n);
      break;
  }
}

// Byte width of a primitive type our gather handles (0: not handled).
int GatherWidthOf(const arrow::DataType& type) {
  if (!arrow::is_primitive(type.id()) || type.id() == arrow::Type::BOOL) return 0;
  const int width = type.byte_width();
  return width == 1 || width == 2 || width == 4 || width == 8 ? width : 0;
}

}  // namespace

uint64_t* RadixSortWords(uint64_t* words, uint64_t* tmp, int64_t m, int lo, int bits) {
  if (bits <= 0 || m <= 1) return words;
  if (m < kSmallSort) {  // the words are distinct (row numbers), so any sort is stable
    std::sort(words, words + m);
    return words;
  }
  const int threads = Threads(m);
  const int passes = (bits + kMaxDigitBits - 1) / kMaxDigitBits;
  const int digit = (bits + passes - 1) / passes;
  const int64_t buckets = int64_t{1} << digit;
  const uint64_t mask = static_cast<uint64_t>(buckets - 1);
  std::vector<int64_t> counts(static_cast<size_t>(threads * buckets));
  uint64_t* src = words;
  uint64_t* dst = tmp;
  for (int p = 0; p < passes; ++p) {
    const int shift = lo + p * digit;
    ParallelFor(threads, [&](int t) {
      int64_t* c = counts.data() + t * buckets;
      std::fill(c, c + buckets, 0);
      const int64_t e = PartBegin(m, threads, t + 1);
      for (int64_t i = PartBegin(m, threads, t); i < e; ++i) ++c[(src[i] >> shift) & mask];
    });
    // Bucket-major, thread-minor offsets keep the order stable.
    bool trivial = false;
    int64_t sum = 0;
    for (int64_t b = 0; b < buckets; ++b) {
      const int64_t before = sum;
      for (int t = 0; t < threads; ++t) {
        const int64_t c = counts[static_cast<size_t>(t * buckets + b)];
        counts[static_cast<size_t>(t * buckets + b)] = sum;
        sum += c;
      }
      if (sum - before == m) trivial = true;
    }
    if (trivial) continue;  // every word has the same digit
    ParallelFor(threads, [&](int t) {
      int64_t* c = counts.data() + t * buckets;
      const int64_t e = PartBegin(m, threads, t + 1);
      for (int64_t i = PartBegin(m, threads, t); i < e; ++i) {
        const uint64_t w = src[i];
        dst[c[(w >> shift) & mask]++] = w;
      }
    });
    std::swap(src, dst);
  }
  return src;
}

bool RadixSortable(const arrow::DataType& type) {
  using arrow::Type;
  switch (type.id()) {
    case Type::INT8:
    case Type::INT16:
    case Type::INT32:
    case Type::INT64:
    case Type::UINT8:
    case Type::UINT16:
    case Type::UINT32:
    case Type::UINT64:
    case Type::FLOAT:
    case Type::DOUBLE:
    case Type::DATE32:
    case Type::DATE64:
    case Type::TIME32:
    case Type::TIME64:
    case Type::TIMESTAMP:
    case Type::DURATION: return true;
    default: return false;
  }
}

bool RadixSortableInteger(const arrow::DataType& type) {
  return RadixSortable(type) && !arrow::is_floating(type.id());
}

Result<std::shared_ptr<arrow::Array>> RadixSortIndices(const arrow::ChunkedArray& column,
                                                       bool ascending, bool nulls_first,
                                                       arrow::MemoryPool* pool) {
  if (!RadixSortable(*column.type())) return nullptr;
  if (column.length() <= std::numeric_limits<uint32_t>::max()) {
    return SortAs<uint32_t>(column, ascending, nulls_first, pool, nullptr);
  }
  return SortAs<int64_t>(column, ascending, nulls_first, pool, nullptr);
}

Result<std::shared_ptr<arrow::Array>> RadixSortRuns(const arrow::ChunkedArray& column,
                                                    std::vector<int64_t>* runs,
                                                    arrow::MemoryPool* pool) {
  runs->clear();
  if (!RadixSortable(*column.type())) return nullptr;
  if (column.length() <= std::numeric_limits<uint32_t>::max()) {
    return SortAs<uint32_t>(column, true, false, pool, runs);
  }
  return SortAs<int64_t>(column, true, false, pool, runs);
}

Result<TablePtr> GatherRows(const TablePtr& table, const std::shared_ptr<arrow::Array>& indices,
                            arrow::MemoryPool* pool) {
  const int64_t n = indices->length();
  const bool wide = indices->type_id() == arrow::Type::INT64;
  if (!wide && indices->type_id() != arrow::Type::UINT32) {
    return Status::Internal("GatherRows: indices of type ", indices->type()->ToString());
  }
  cp::ExecContext exec(pool);
  arrow::ChunkedArrayVector columns;
  for (int c = 0; c < table->num_columns(); ++c) {
    const auto& column = table->column(c);
    const int width = GatherWidthOf(*column->type());
    if (width == 0 || column->null_count() > 0 || column->num_chunks() == 0 ||
        indices->null_count() > 0) {
      DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum taken,
                                 cp::Take(arrow::Datum(column), arrow::Datum(indices),
                                          cp::TakeOptions::NoBoundsCheck(), &exec),
                                 "gathering rows");
      columns.push_back(taken.chunked_array());
      continue;
    }
    std::shared_ptr<arrow::Array> source = column->chunk(0);
    if (column->num_chunks() > 1) {
      DRC_ARROW_ASSIGN_OR_RETURN(source, arrow::Concatenate(column->chunks(), pool),
                                 "gathering rows");
    }
    DRC_ASSIGN_OR_RETURN(auto buffer, AllocateShared(n * width, pool, kAllocating));
    const uint8_t* src = source->data()->buffers[1]->data() + source->offset() * width;
    const uint8_t* idx = indices->data()->buffers[1]->data();
    if (wide) {
      GatherWidth(src, reinterpret_cast<const int64_t*>(idx) + indices->offset(),
                  buffer->mutable_data(), n, width);
    } else {
      GatherWidth(src, reinterpret_cast<const uint32_t*>(idx) + indices->offset(),
                  buffer->mutable_data(), n, width);
    }
    auto data = arrow::ArrayData::Make(column->type(), n, {nullptr, std::move(buffer)}, 0);
    columns.push_back(std::make_shared<arrow::ChunkedArray>(arrow::MakeArray(data)));
  }
  return arrow::Table::Make(table->schema(), std::move(columns), n);
}

namespace {

// Folds a sort key into the composite keys of its rows: composite[i] = composite[i] * count +
// code[i], where code[i] orders row i as the key orders it (the direction and the null placement
// of Arrow's sort) among the key's `count` distinct codes. The distinct values are found by
// hashing (Arrow's dictionary_encode) and ordered by Arrow's own sort of those values alone.
// `range` (the number of composite keys so far) is multiplied by `count`. False, with
// `composite` unchanged, for floats, dictionary columns, types that the hash kernels do not
// take, and when the range would pass 2^64.
Result<bool> FoldKey(const arrow::ChunkedArray& column, bool ascending, bool nulls_first,
                     arrow::MemoryPool* pool, uint64_t* composite, uint64_t* range) {
  // Floats hash -0.0 and 0.0, and NaNs of other bits, apart, where the sort keeps them as ties;
  // a dictionary column may repeat a value in its dictionary.
  const arrow::Type::type type = column.type()->id();
  if (arrow::is_floating(type) || type == arrow::Type::DICTIONARY) return false;
  cp::ExecContext exec(pool);
  std::shared_ptr<arrow::Array> whole;
  if (column.num_chunks() == 1) {
    whole = column.chunk(0);
  } else {
    auto joined = column.num_chunks() == 0 ? arrow::MakeEmptyArray(column.type(), pool)
                                           : arrow::Concatenate(column.chunks(), pool);
    if (!joined.ok()) return false;
    whole = *joined;
  }
  auto encoded = cp::DictionaryEncode(whole, cp::DictionaryEncodeOptions::Defaults(), &exec);
  if (!encoded.ok()) return false;  // a type the hash kernels do not take
  const std::shared_ptr<arrow::Array> encoded_array = encoded->make_array();
  const auto& dict = static_cast<const arrow::DictionaryArray&>(*encoded_array);
  const std::shared_ptr<arrow::Array> values = dict.dictionary();
  // The distinct values' order, as the sort of the whole column would place them.
  const cp::ArraySortOptions order(
      ascending ? cp::SortOrder::Ascending : cp::SortOrder::Descending,
      nulls_first ? cp::NullPlacement::AtStart : cp::NullPlacement::AtEnd);
  auto sorted = cp::CallFunction("array_sort_indices", {values}, &order, &exec);
  if (!sorted.ok()) return false;
  const std::shared_ptr<arrow::Array> sorted_array = sorted->make_array();
  const auto& positions = static_cast<const arrow::UInt64Array&>(*sorted_array);
  const bool nulls = whole->null_count() > 0;
  const uint64_t count = static_cast<uint64_t>(values->length()) + (nulls ? 1 : 0);
  if (count > 1 && *range > std::numeric_limits<uint64_t>::max() / count) return false;
  const uint64_t first = nulls && nulls_first ? 1 : 0;  // nulls take code 0 when first
  std::vector<uint64_t> rank(static_cast<size_t>(values->length()));
  for (int64_t r = 0; r < positions.length(); ++r) rank[positions.Value(r)] = first + r;
  const uint64_t null_code = nulls_first ? 0 : count - 1;
  const std::shared_ptr<arrow::Array> indices = dict.indices();
  // dictionary_encode's indices are int32 (int64 past 2^31 distinct values).
  auto fold = [&](const auto& typed) {
    for (int64_t i = 0; i < typed.length(); ++i) {
      const uint64_t code = typed.IsNull(i) ? null_code : rank[static_cast<size_t>(typed.Value(i))];
      composite[i] = composite[i] * count + code;
    }
  };
  if (indices->type_id() == arrow::Type::INT32) {
    fold(static_cast<const arrow::Int32Array&>(*indices));
  } else if (indices->type_id() == arrow::Type::INT64) {
    fold(static_cast<const arrow::Int64Array&>(*indices));
  } else {
    return false;
  }
  *range *= std::max<uint64_t>(count, 1);
  return true;
}

}  // namespace

Result<std::shared_ptr<arrow::Array>> RankSortIndices(const TablePtr& table,
                                                      const std::vector<int>& columns,
                                                      const std::vector<bool>& ascending,
                                                      const std::vector<bool>& nulls_first,
                                                      arrow::MemoryPool* pool) {
  const int64_t n = table->num_rows();
  DRC_ASSIGN_OR_RETURN(
      auto buffer, AllocateShared(n * static_cast<int64_t>(sizeof(uint64_t)), pool, kAllocating));
  auto* composite = reinterpret_cast<uint64_t*>(buffer->mutable_data());
  std::fill(composite, composite + n, uint64_t{0});
  uint64_t range = 1;
  for (size_t k = 0; k < columns.size(); ++k) {
    DRC_ASSIGN_OR_RETURN(const bool folded, FoldKey(*table->column(columns[k]), ascending[k],
                                                    nulls_first[k], pool, composite, &range));
    if (!folded) return nullptr;
  }
  // One radix sort of the composite keys (it declines keys and row numbers too wide to pack).
  const auto keys = std::make_shared<arrow::UInt64Array>(n, std::move(buffer));
  return RadixSortIndices(arrow::ChunkedArray(keys), true, false, pool);
}

Result<TablePtr> RadixSortTable(const TablePtr& table, int column, bool ascending, bool nulls_first,
                                arrow::MemoryPool* pool) {
  DRC_ASSIGN_OR_RETURN(auto indices,
                       RadixSortIndices(*table->column(column), ascending, nulls_first, pool));
  if (indices == nullptr) return TablePtr();
  return GatherRows(table, indices, pool);
}

}  // namespace drc::data::internal
