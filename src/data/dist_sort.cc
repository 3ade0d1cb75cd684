// DistSort: sample sort over any communicator.
//
// Design. The global order is the stable sort of the ranks' partitions concatenated in rank
// order, i.e. rows compare by (keys, rank, position in the rank's sorted partition). Because
// (rank, position) is unique, every row has a distinct place in that order, so one key value
// can span several destination ranks: all-equal keys and heavy skew still split evenly.
//  1. Each rank sorts its partition locally (ops Sort: stable, multi-key, nulls first/last).
//  2. It takes up to 16·W regular samples of its sorted rows, each tagged with its rank,
//     position and weight (the rows it stands for); a rank without rows takes none.
//  3. The samples of all ranks travel as one small IPC table (all-gather) and every rank sorts
//     them the same way and picks the same W-1 splitters at the weighted quantiles j·N/W.
//  4. Each rank cuts its sorted partition at the splitters by binary search with a typed
//     multi-key comparator (same rules as Arrow's sort: nulls and NaN on the side chosen by
//     nulls_first, NaN next to the nulls, descending reverses values only).
//  5. AllToAllTables moves the ranges; the received parts (each sorted, in source rank order)
//     are merged k-way by (keys, source rank) and gathered with one Take.
// Rank r then holds the r-th contiguous range of the global order. Local errors (unknown
// column, unsupported key type, null table, schemas that differ between ranks) are agreed on
// collectively before any data moves, so every rank returns the error and none hangs.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/util/decimal.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "drc/comm/communicator.h"
#include "drc/data/dist.h"
#include "drc/data/ipc.h"
#include "src/data/arrow_status.h"

namespace drc::data {
namespace {

constexpr int kSamplesPerDestination = 16;
constexpr const char* kRankColumn = "__drc_sample_rank";
constexpr const char* kPosColumn = "__drc_sample_pos";
constexpr const char* kWeightColumn = "__drc_sample_weight";

using CmpFn = int (*)(const arrow::Array&, int64_t, const arrow::Array&, int64_t);

template <typename T>
int Three(const T& x, const T& y) {
  return x < y ? -1 : (y < x ? 1 : 0);
}

template <typename ArrayType>
int CmpValue(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j) {
  return Three(static_cast<const ArrayType&>(a).GetView(i),
               static_cast<const ArrayType&>(b).GetView(j));
}

int CmpDecimal128(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j) {
  const arrow::Decimal128 x(static_cast<const arrow::Decimal128Array&>(a).GetValue(i));
  const arrow::Decimal128 y(static_cast<const arrow::Decimal128Array&>(b).GetValue(j));
  return Three(x, y);
}

int CmpDecimal256(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j) {
  const arrow::Decimal256 x(static_cast<const arrow::Decimal256Array&>(a).GetValue(i));
  const arrow::Decimal256 y(static_cast<const arrow::Decimal256Array&>(b).GetValue(j));
  return Three(x, y);
}

Result<CmpFn> ComparatorFor(const arrow::DataType& type, const std::string& column) {
  switch (type.id()) {
    case arrow::Type::INT8: return &CmpValue<arrow::Int8Array>;
    case arrow::Type::INT16: return &CmpValue<arrow::Int16Array>;
    case arrow::Type::INT32: return &CmpValue<arrow::Int32Array>;
    case arrow::Type::INT64: return &CmpValue<arrow::Int64Array>;
    case arrow::Type::UINT8: return &CmpValue<arrow::UInt8Array>;
    case arrow::Type::UINT16: return &CmpValue<arrow::UInt16Array>;
    case arrow::Type::UINT32: return &CmpValue<arrow::UInt32Array>;
    case arrow::Type::UINT64: return &CmpValue<arrow::UInt64Array>;
    case arrow::Type::FLOAT: return &CmpValue<arrow::FloatArray>;
    case arrow::Type::DOUBLE: return &CmpValue<arrow::DoubleArray>;
    case arrow::Type::BOOL: return &CmpValue<arrow::BooleanArray>;
    case arrow::Type::DATE32: return &CmpValue<arrow::Date32Array>;
    case arrow::Type::DATE64: return &CmpValue<arrow::Date64Array>;
    case arrow::Type::TIMESTAMP: return &CmpValue<arrow::TimestampArray>;
    case arrow::Type::TIME32: return &CmpValue<arrow::Time32Array>;
    case arrow::Type::TIME64: return &CmpValue<arrow::Time64Array>;
    case arrow::Type::DURATION: return &CmpValue<arrow::DurationArray>;
    case arrow::Type::STRING: return &CmpValue<arrow::StringArray>;
    case arrow::Type::LARGE_STRING: return &CmpValue<arrow::LargeStringArray>;
    case arrow::Type::STRING_VIEW: return &CmpValue<arrow::StringViewArray>;
    case arrow::Type::BINARY: return &CmpValue<arrow::BinaryArray>;
    case arrow::Type::LARGE_BINARY: return &CmpValue<arrow::LargeBinaryArray>;
    case arrow::Type::BINARY_VIEW: return &CmpValue<arrow::BinaryViewArray>;
    case arrow::Type::FIXED_SIZE_BINARY: return &CmpValue<arrow::FixedSizeBinaryArray>;
    case arrow::Type::DECIMAL128: return &CmpDecimal128;
    case arrow::Type::DECIMAL256: return &CmpDecimal256;
    default:
      return Status::NotImplemented("DistSort: key column '", column, "' has type ",
                                    type.ToString(), ", which DistSort cannot order");
  }
}

struct KeySpec {
  int column = 0;  // index in the table
  bool ascending = true;
  bool nulls_first = false;
  bool floating = false;  // NaN sorts next to the nulls
  CmpFn cmp = nullptr;
};

Result<std::vector<KeySpec>> MakeSpecs(const arrow::Schema& schema,
                                       const std::vector<SortKey>& keys) {
  std::vector<KeySpec> specs;
  for (const auto& key : keys) {
    KeySpec spec;
    spec.column = schema.GetFieldIndex(key.column);
    if (spec.column < 0)
      return Status::InvalidArgument("DistSort: unknown column '", key.column, "'");
    const auto& type = *schema.field(spec.column)->type();
    DRC_ASSIGN_OR_RETURN(spec.cmp, ComparatorFor(type, key.column));
    spec.ascending = key.ascending;
    spec.nulls_first = key.nulls_first;
    spec.floating = type.id() == arrow::Type::FLOAT || type.id() == arrow::Type::DOUBLE;
    specs.push_back(spec);
  }
  return specs;
}

// The key columns of one table, each as one contiguous array (indexable by row).
struct KeyView {
  std::vector<std::shared_ptr<arrow::Array>> arrays;
};

Result<std::shared_ptr<arrow::Array>> Contiguous(const arrow::ChunkedArray& column,
                                                 arrow::MemoryPool* pool) {
  if (column.num_chunks() == 1) return column.chunk(0);
  if (column.num_chunks() == 0) {
    DRC_ARROW_ASSIGN_OR_RETURN(auto empty, arrow::MakeEmptyArray(column.type(), pool), "DistSort");
    return empty;
  }
  DRC_ARROW_ASSIGN_OR_RETURN(auto array, arrow::Concatenate(column.chunks(), pool), "DistSort");
  return array;
}

Result<KeyView> MakeKeyView(const arrow::Table& table, const std::vector<KeySpec>& specs,
                            arrow::MemoryPool* pool) {
  KeyView view;
  for (const auto& spec : specs) {
    DRC_ASSIGN_OR_RETURN(auto array, Contiguous(*table.column(spec.column), pool));
    view.arrays.push_back(std::move(array));
  }
  return view;
}

// 0: a value, 1: NaN, 2: null. Classes keep their place whatever the direction.
int ValueClass(const KeySpec& spec, const arrow::Array& array, int64_t i) {
  if (array.IsNull(i)) return 2;
  if (spec.floating) {
    const double v = array.type_id() == arrow::Type::DOUBLE
                         ? static_cast<const arrow::DoubleArray&>(array).Value(i)
                         : static_cast<const arrow::FloatArray&>(array).Value(i);
    if (std::isnan(v)) return 1;
  }
  return 0;
}

// Compares row i of `a` with row j of `b` by the keys (<0, 0, >0).
int CompareRows(const std::vector<KeySpec>& specs, const KeyView& a, int64_t i, const KeyView& b,
                int64_t j) {
  for (size_t k = 0; k < specs.size(); ++k) {
    const KeySpec& spec = specs[k];
    const arrow::Array& x = *a.arrays[k];
    const arrow::Array& y = *b.arrays[k];
    const int cx = ValueClass(spec, x, i);
    const int cy = ValueClass(spec, y, j);
    if (cx != cy) {
      const int c = cx < cy ? -1 : 1;
      return spec.nulls_first ? -c : c;
    }
    if (cx != 0) continue;
    const int c = spec.cmp(x, i, y, j);
    if (c != 0) return spec.ascending ? c : -c;
  }
  return 0;
}

// Key specs of the sample table: the same keys at columns 0..K-1.
std::vector<KeySpec> SampleSpecs(std::vector<KeySpec> specs) {
  for (size_t k = 0; k < specs.size(); ++k) specs[k].column = static_cast<int>(k);
  return specs;
}

// This rank's samples: key columns at regular positions of the sorted partition, tagged with
// rank, position and weight.
Result<TablePtr> TakeSamples(const TablePtr& sorted, const std::vector<KeySpec>& specs, int rank,
                             int world, arrow::MemoryPool* pool) {
  const int64_t n = sorted->num_rows();
  const int64_t count = std::min<int64_t>(n, int64_t{kSamplesPerDestination} * world);
  arrow::Int64Builder positions(pool);
  arrow::Int64Builder weights(pool);
  arrow::Int32Builder ranks(pool);
  for (int64_t s = 0; s < count; ++s) {
    const int64_t pos = s * n / count;
    const int64_t next = (s + 1) * n / count;
    DRC_ARROW_RETURN_NOT_OK(positions.Append(pos), "DistSort");
    DRC_ARROW_RETURN_NOT_OK(weights.Append(next - pos), "DistSort");
    DRC_ARROW_RETURN_NOT_OK(ranks.Append(rank), "DistSort");
  }
  std::shared_ptr<arrow::Array> pos_array;
  std::shared_ptr<arrow::Array> weight_array;
  std::shared_ptr<arrow::Array> rank_array;
  DRC_ARROW_RETURN_NOT_OK(positions.Finish(&pos_array), "DistSort");
  DRC_ARROW_RETURN_NOT_OK(weights.Finish(&weight_array), "DistSort");
  DRC_ARROW_RETURN_NOT_OK(ranks.Finish(&rank_array), "DistSort");

  std::vector<std::shared_ptr<arrow::Field>> fields;
  std::vector<std::shared_ptr<arrow::Array>> columns;
  arrow::compute::ExecContext exec(pool);
  for (const auto& spec : specs) {
    DRC_ARROW_ASSIGN_OR_RETURN(auto taken,
                               arrow::compute::Take(sorted->column(spec.column), pos_array,
                                                    arrow::compute::TakeOptions::Defaults(), &exec),
                               "DistSort: samples");
    DRC_ASSIGN_OR_RETURN(auto array, Contiguous(*taken.chunked_array(), pool));
    fields.push_back(arrow::field("k" + std::to_string(fields.size()),
                                  sorted->schema()->field(spec.column)->type()));
    columns.push_back(std::move(array));
  }
  fields.push_back(arrow::field(kRankColumn, arrow::int32()));
  fields.push_back(arrow::field(kPosColumn, arrow::int64()));
  fields.push_back(arrow::field(kWeightColumn, arrow::int64()));
  columns.push_back(rank_array);
  columns.push_back(pos_array);
  columns.push_back(weight_array);
  return arrow::Table::Make(arrow::schema(fields), columns, count);
}

// Every rank's samples, sorted by (keys, rank, position) — the same on every rank.
Result<TablePtr> AllSamplesSorted(const Context& ctx, const TablePtr& mine,
                                  const std::vector<SortKey>& keys) {
  comm::Communicator& comm = *ctx.comm();
  DRC_ASSIGN_OR_RETURN(auto bytes, SerializeTable(*mine, ctx.pool()));
  DRC_ASSIGN_OR_RETURN(auto sizes, comm::AllGatherValue<int64_t>(comm, bytes->size()));
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
  DRC_ARROW_ASSIGN_OR_RETURN(std::shared_ptr<arrow::Buffer> all,
                             arrow::AllocateBuffer(total, ctx.pool()), "DistSort: samples");
  DRC_RETURN_NOT_OK(comm.AllGatherV(bytes->data(), bytes->size(), all->mutable_data(), sizes));
  std::vector<TablePtr> tables;
  int64_t offset = 0;
  for (int64_t n : sizes) {
    DRC_ASSIGN_OR_RETURN(auto t, DeserializeTable(arrow::SliceBuffer(all, offset, n)));
    tables.push_back(std::move(t));
    offset += n;
  }
  DRC_ASSIGN_OR_RETURN(auto samples, Concat(tables));
  std::vector<SortKey> sample_keys;
  for (size_t k = 0; k < keys.size(); ++k) {
    sample_keys.push_back({"k" + std::to_string(k), keys[k].ascending, keys[k].nulls_first});
  }
  sample_keys.push_back({kRankColumn, true, false});
  sample_keys.push_back({kPosColumn, true, false});
  return Sort(samples, sample_keys);
}

// Merges `parts` (each sorted; part q from rank q) by (keys, q) into one table.
Result<TablePtr> MergeSorted(const std::vector<TablePtr>& parts, const std::vector<KeySpec>& specs,
                             arrow::MemoryPool* pool) {
  std::vector<TablePtr> nonempty;
  for (const auto& p : parts) {
    if (p->num_rows() > 0) nonempty.push_back(p);
  }
  if (nonempty.size() == 1) return nonempty[0];
  if (nonempty.empty()) return parts[0];
  std::vector<KeyView> views;
  std::vector<int64_t> offsets;
  int64_t total = 0;
  for (const auto& p : nonempty) {
    DRC_ASSIGN_OR_RETURN(auto view, MakeKeyView(*p, specs, pool));
    views.push_back(std::move(view));
    offsets.push_back(total);
    total += p->num_rows();
  }
  struct Cursor {
    size_t part;
    int64_t row;
  };
  // Heap top = smallest (keys, part).
  auto greater = [&](const Cursor& a, const Cursor& b) {
    const int c = CompareRows(specs, views[a.part], a.row, views[b.part], b.row);
    return c != 0 ? c > 0 : a.part > b.part;
  };
  std::priority_queue<Cursor, std::vector<Cursor>, decltype(greater)> heap(greater);
  for (size_t q = 0; q < nonempty.size(); ++q) heap.push({q, 0});
  arrow::Int64Builder indices(pool);
  DRC_ARROW_RETURN_NOT_OK(indices.Reserve(total), "DistSort: merge");
  while (!heap.empty()) {
    Cursor c = heap.top();
    heap.pop();
    indices.UnsafeAppend(offsets[c.part] + c.row);
    // Stay on this part while it is still the smallest (long runs cost no heap work).
    const int64_t rows = nonempty[c.part]->num_rows();
    ++c.row;
    while (c.row < rows && (heap.empty() || !greater(c, heap.top()))) {
      indices.UnsafeAppend(offsets[c.part] + c.row);
      ++c.row;
    }
    if (c.row < rows) heap.push(c);
  }
  std::shared_ptr<arrow::Array> index_array;
  DRC_ARROW_RETURN_NOT_OK(indices.Finish(&index_array), "DistSort: merge");
  DRC_ASSIGN_OR_RETURN(auto combined, Concat(nonempty));
  arrow::compute::ExecContext exec(pool);
  DRC_ARROW_ASSIGN_OR_RETURN(
      auto merged,
      arrow::compute::Take(combined, index_array, arrow::compute::TakeOptions::Defaults(), &exec),
      "DistSort: merge");
  return merged.table();
}

}  // namespace

Result<TablePtr> DistSort(const Context& ctx, const TablePtr& table,
                          const std::vector<SortKey>& keys) {
  const int rank = ctx.rank();
  const int world = ctx.world_size();

  // 1. Local checks and the local sort.
  TablePtr sorted;
  std::vector<KeySpec> specs;
  Status local = [&]() -> Status {
    if (table == nullptr) return Status::InvalidArgument("DistSort: table is null on rank ", rank);
    DRC_ASSIGN_OR_RETURN(specs, MakeSpecs(*table->schema(), keys));
    DRC_ASSIGN_OR_RETURN(sorted, Sort(table, keys));
    return Status::OK();
  }();
  if (ctx.comm() == nullptr || world == 1) {
    DRC_RETURN_NOT_OK(local);
    return sorted;
  }
  DRC_RETURN_NOT_OK(AgreeOnStatus(ctx, local));
  comm::Communicator& comm = *ctx.comm();
  {
    const uint64_t fingerprint = std::hash<std::string>()(table->schema()->ToString());
    DRC_ASSIGN_OR_RETURN(auto all, comm::AllGatherValue<uint64_t>(comm, fingerprint));
    for (int r = 1; r < world; ++r) {
      if (all[r] != all[0]) {
        return Status::InvalidArgument("DistSort: the schema of rank ", r,
                                       " differs from that of rank 0");
      }
    }
  }

  // 2-3. Samples from every rank; the same splitters everywhere.
  local = Status::OK();
  TablePtr samples;
  {
    auto mine = TakeSamples(sorted, specs, rank, world, ctx.pool());
    if (!mine.ok()) local = mine.status();
    DRC_RETURN_NOT_OK(AgreeOnStatus(ctx, local));
    DRC_ASSIGN_OR_RETURN(samples, AllSamplesSorted(ctx, *mine, keys));
  }
  const auto sample_specs = SampleSpecs(specs);
  DRC_ASSIGN_OR_RETURN(auto sample_view, MakeKeyView(*samples, sample_specs, ctx.pool()));
  DRC_ASSIGN_OR_RETURN(auto sample_rank,
                       Contiguous(*samples->GetColumnByName(kRankColumn), ctx.pool()));
  DRC_ASSIGN_OR_RETURN(auto sample_pos,
                       Contiguous(*samples->GetColumnByName(kPosColumn), ctx.pool()));
  DRC_ASSIGN_OR_RETURN(auto sample_weight,
                       Contiguous(*samples->GetColumnByName(kWeightColumn), ctx.pool()));
  const auto& srank = static_cast<const arrow::Int32Array&>(*sample_rank);
  const auto& spos = static_cast<const arrow::Int64Array&>(*sample_pos);
  const auto& sweight = static_cast<const arrow::Int64Array&>(*sample_weight);
  int64_t total_rows = 0;
  for (int64_t s = 0; s < samples->num_rows(); ++s) total_rows += sweight.Value(s);
  // splitters[j-1]: the sample before which destination j starts (-1: no rows for j and up).
  std::vector<int64_t> splitters;
  {
    int64_t s = 0;
    int64_t before = 0;  // weight of the samples before s
    for (int j = 1; j < world; ++j) {
      const int64_t target = (total_rows * j + world - 1) / world;  // ceil: front-loaded
      while (s < samples->num_rows() && before < target) before += sweight.Value(s++);
      splitters.push_back(s < samples->num_rows() ? s : -1);
    }
  }

  // 4. Cut the sorted partition at the splitters.
  const int64_t n = sorted->num_rows();
  DRC_ASSIGN_OR_RETURN(auto view, MakeKeyView(*sorted, specs, ctx.pool()));
  // Row i comes before sample s in the global order.
  auto before_sample = [&](int64_t i, int64_t s) {
    const int c = CompareRows(specs, view, i, sample_view, s);
    if (c != 0) return c < 0;
    if (rank != srank.Value(s)) return rank < srank.Value(s);
    return i < spos.Value(s);
  };
  std::vector<int64_t> cuts = {0};
  for (int64_t s : splitters) {
    int64_t lo = cuts.back();
    int64_t hi = n;
    if (s >= 0) {
      while (lo < hi) {  // first row not before the splitter
        const int64_t mid = lo + (hi - lo) / 2;
        if (before_sample(mid, s)) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
    }
    cuts.push_back(s >= 0 ? lo : n);
  }
  cuts.push_back(n);
  std::vector<TablePtr> parts;
  for (int d = 0; d < world; ++d) parts.push_back(sorted->Slice(cuts[d], cuts[d + 1] - cuts[d]));

  // 5. Exchange and merge.
  DRC_ASSIGN_OR_RETURN(auto received, AllToAllTables(ctx, parts));
  return MergeSorted(received, specs, ctx.pool());
}

}  // namespace drc::data
