#include "src/data/fast_join.h"

#include <arrow/api.h>
#include <arrow/util/bit_util.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <memory>
#include <vector>

#include "src/data/arrow_status.h"
#include "src/data/fast_sort.h"
#include "src/data/parallel.h"
#include "src/data/radix.h"

namespace drc::data::internal {
namespace {

constexpr std::string_view kOp = "Join";

// One join side after packing: its non-null keys as sorted (key - min, row) words, and the rows
// whose key is null.
struct Side {
  int64_t rows = 0;
  int index_bits = 0;
  int64_t values = 0;  // non-null rows (words)
  std::shared_ptr<arrow::Buffer> words;
  std::shared_ptr<arrow::Buffer> tmp;
  const uint64_t* sorted = nullptr;
  std::vector<int64_t> null_rows;

  uint64_t Key(int64_t i) const { return index_bits >= 64 ? 0 : sorted[i] >> index_bits; }
  int64_t Row(int64_t i) const {
    const uint64_t mask = index_bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << index_bits) - 1;
    return static_cast<int64_t>(sorted[i] & mask);
  }
  // First word in [0, values) whose key is not below `key`.
  int64_t LowerBound(uint64_t key) const {
    int64_t lo = 0, hi = values;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (Key(mid) < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
};

struct SegmentRange {
  uint64_t min = std::numeric_limits<uint64_t>::max();
  uint64_t max = 0;
  int64_t nulls = 0;
  int64_t value_at = 0;  // where this segment's words start
  int64_t null_at = 0;   // where its null rows start
};

// Threads for `segments` pieces of `rows` rows in all.
int SegmentThreads(const std::vector<Segment>& segments, int64_t rows) {
  return std::max(
      1, static_cast<int>(std::min<int64_t>(static_cast<int64_t>(segments.size()), Threads(rows))));
}

template <typename T>
std::vector<SegmentRange> Ranges(const std::vector<Segment>& segments, int64_t rows) {
  std::vector<SegmentRange> out(segments.size());
  const auto n = static_cast<int64_t>(segments.size());
  const int threads = SegmentThreads(segments, rows);
  ParallelFor(threads, [&](int t) {
    for (int64_t j = t; j < n; j += threads) {
      SegmentRange& r = out[static_cast<size_t>(j)];
      uint64_t lo = r.min, hi = r.max;
      int64_t nulls = 0;
      ForEachRow<T>(
          segments[static_cast<size_t>(j)],
          [&](int64_t, T v) {
            const uint64_t u = OrderBits(v);
            lo = std::min(lo, u);
            hi = std::max(hi, u);
          },
          [&](int64_t) { ++nulls; });
      r.min = lo, r.max = hi, r.nulls = nulls;
    }
  });
  return out;
}

// Packs the non-null keys of one side as (key - min) << index_bits | row and sorts them.
template <typename T>
Status Pack(const std::vector<Segment>& segments, std::vector<SegmentRange>& ranges, uint64_t min,
            int key_bits, arrow::MemoryPool* pool, Side* side) {
  int64_t v = 0, z = 0;
  for (size_t j = 0; j < segments.size(); ++j) {
    SegmentRange& r = ranges[j];
    r.value_at = v, r.null_at = z;
    v += segments[j].end - segments[j].begin - r.nulls;
    z += r.nulls;
  }
  side->values = v;
  side->null_rows.resize(static_cast<size_t>(z));
  DRC_ASSIGN_OR_RETURN(
      side->words,
      AllocateShared(std::max<int64_t>(v, 1) * static_cast<int64_t>(sizeof(uint64_t)), pool, kOp));
  auto* words = reinterpret_cast<uint64_t*>(side->words->mutable_data());
  const auto n = static_cast<int64_t>(segments.size());
  const int threads = SegmentThreads(segments, side->rows);
  const int shift = side->index_bits;
  ParallelFor(threads, [&](int t) {
    for (int64_t j = t; j < n; j += threads) {
      const Segment& s = segments[static_cast<size_t>(j)];
      const SegmentRange& r = ranges[static_cast<size_t>(j)];
      uint64_t* w = words + r.value_at;
      int64_t* null_out = side->null_rows.data() + r.null_at;
      const int64_t row0 = s.row - s.begin;
      ForEachRow<T>(
          s,
          [&](int64_t i, T value) {
            const uint64_t key = OrderBits(value) - min;
            *w++ = (shift >= 64 ? 0 : key << shift) | static_cast<uint64_t>(row0 + i);
          },
          [&](int64_t i) { *null_out++ = row0 + i; });
    }
  });
  side->sorted = words;
  if (key_bits > 0 && v > 1) {
    DRC_ASSIGN_OR_RETURN(side->tmp,
                         AllocateShared(v * static_cast<int64_t>(sizeof(uint64_t)), pool, kOp));
    side->sorted = RadixSortWords(words, reinterpret_cast<uint64_t*>(side->tmp->mutable_data()), v,
                                  shift, key_bits);
  }
  return Status::OK();
}

// Packs and sorts both sides; false when the key range plus a side's row count do not fit 64
// bits.
template <typename T>
Result<bool> PackBoth(const arrow::ChunkedArray& lcol, const arrow::ChunkedArray& rcol,
                      arrow::MemoryPool* pool, Side* left, Side* right) {
  const auto piece = [](int64_t n) {
    return std::max<int64_t>(kRowsPerThread / 4, (n + Threads(n) - 1) / Threads(n));
  };
  const std::vector<Segment> lseg = MakeSegments(lcol, piece(lcol.length()));
  const std::vector<Segment> rseg = MakeSegments(rcol, piece(rcol.length()));
  std::vector<SegmentRange> lr = Ranges<T>(lseg, lcol.length());
  std::vector<SegmentRange> rr = Ranges<T>(rseg, rcol.length());
  uint64_t min = std::numeric_limits<uint64_t>::max(), max = 0;
  int64_t lnulls = 0, rnulls = 0;
  for (const auto& r : lr)
    min = std::min(min, r.min), max = std::max(max, r.max), lnulls += r.nulls;
  for (const auto& r : rr)
    min = std::min(min, r.min), max = std::max(max, r.max), rnulls += r.nulls;
  const bool any_value = lcol.length() > lnulls || rcol.length() > rnulls;
  const int key_bits = any_value ? std::bit_width(max - min) : 0;
  for (Side* side : {left, right}) {
    side->index_bits = side->rows > 1 ? std::bit_width(static_cast<uint64_t>(side->rows - 1)) : 0;
    if (side->index_bits + key_bits > 64) return false;
  }
  if (!any_value) min = 0;
  DRC_RETURN_NOT_OK(Pack<T>(lseg, lr, min, key_bits, pool, left));
  DRC_RETURN_NOT_OK(Pack<T>(rseg, rr, min, key_bits, pool, right));
  return true;
}

Result<bool> PackKeys(const arrow::ChunkedArray& lcol, const arrow::ChunkedArray& rcol,
                      arrow::MemoryPool* pool, Side* left, Side* right) {
  using arrow::Type;
  switch (lcol.type()->id()) {
    case Type::INT8: return PackBoth<int8_t>(lcol, rcol, pool, left, right);
    case Type::INT16: return PackBoth<int16_t>(lcol, rcol, pool, left, right);
    case Type::INT32:
    case Type::DATE32:
    case Type::TIME32: return PackBoth<int32_t>(lcol, rcol, pool, left, right);
    case Type::INT64:
    case Type::DATE64:
    case Type::TIME64:
    case Type::TIMESTAMP:
    case Type::DURATION: return PackBoth<int64_t>(lcol, rcol, pool, left, right);
    case Type::UINT8: return PackBoth<uint8_t>(lcol, rcol, pool, left, right);
    case Type::UINT16: return PackBoth<uint16_t>(lcol, rcol, pool, left, right);
    case Type::UINT32: return PackBoth<uint32_t>(lcol, rcol, pool, left, right);
    case Type::UINT64: return PackBoth<uint64_t>(lcol, rcol, pool, left, right);
    default: return false;
  }
}

// What the merge emits for each join type.
struct Emit {
  bool pairs = false;            // every matching (left, right) pair
  bool matched_left = false;     // each left row with a match, once (semi)
  bool unmatched_left = false;   // left rows without a match, right side null
  bool unmatched_right = false;  // right rows without a match, left side null
  bool right_columns = false;    // the output has the right side's columns
};

Emit EmitFor(JoinType type) {
  Emit e;
  switch (type) {
    case JoinType::kInner: e.pairs = true; break;
    case JoinType::kLeft: e.pairs = e.unmatched_left = true; break;
    case JoinType::kRight: e.pairs = e.unmatched_right = true; break;
    case JoinType::kFullOuter: e.pairs = e.unmatched_left = e.unmatched_right = true; break;
    case JoinType::kLeftSemi: e.matched_left = true; break;
    case JoinType::kLeftAnti: e.unmatched_left = true; break;
  }
  e.right_columns = e.pairs;
  return e;
}

constexpr int64_t kNone = -1;

// Merges words [l0, l1) of `l` with [r0, r1) of `r`, calling out(left_row, right_row) for each
// output row (kNone: the side is null).
template <typename Out>
void Merge(const Side& l, int64_t l0, int64_t l1, const Side& r, int64_t r0, int64_t r1,
           const Emit& emit, Out&& out) {
  int64_t i = l0, j = r0;
  while (i < l1 && j < r1) {
    const uint64_t kl = l.Key(i);
    const uint64_t kr = r.Key(j);
    if (kl < kr) {
      int64_t ie = i + 1;
      while (ie < l1 && l.Key(ie) == kl) ++ie;
      if (emit.unmatched_left) {
        for (int64_t a = i; a < ie; ++a) out(l.Row(a), kNone);
      }
      i = ie;
    } else if (kr < kl) {
      int64_t je = j + 1;
      while (je < r1 && r.Key(je) == kr) ++je;
      if (emit.unmatched_right) {
        for (int64_t b = j; b < je; ++b) out(kNone, r.Row(b));
      }
      j = je;
    } else {
      int64_t ie = i + 1;
      while (ie < l1 && l.Key(ie) == kl) ++ie;
      int64_t je = j + 1;
      while (je < r1 && r.Key(je) == kr) ++je;
      if (emit.pairs) {
        for (int64_t a = i; a < ie; ++a) {
          const int64_t row = l.Row(a);
          for (int64_t b = j; b < je; ++b) out(row, r.Row(b));
        }
      } else if (emit.matched_left) {
        for (int64_t a = i; a < ie; ++a) out(l.Row(a), kNone);
      }
      i = ie;
      j = je;
    }
  }
  if (emit.unmatched_left) {
    for (; i < l1; ++i) out(l.Row(i), kNone);
  }
  if (emit.unmatched_right) {
    for (; j < r1; ++j) out(kNone, r.Row(j));
  }
}

// Output row indices of one side: uint32 (or int64 past 2^32 - 1 rows), nulls where the side
// has no row.
template <typename I>
struct IndexColumn {
  std::shared_ptr<arrow::Buffer> values;
  I* data = nullptr;
  int64_t nulls = 0;
};

template <typename I>
Result<std::shared_ptr<arrow::Array>> Finish(IndexColumn<I>& column, int64_t n,
                                             arrow::MemoryPool* pool) {
  using ArrowIndex = typename arrow::CTypeTraits<I>::ArrowType;
  std::shared_ptr<arrow::Buffer> validity;
  if (column.nulls > 0) {
    DRC_ASSIGN_OR_RETURN(validity, AllocateShared(arrow::bit_util::BytesForBits(n), pool, kOp));
    uint8_t* bits = validity->mutable_data();
    std::fill(bits, bits + validity->size(), uint8_t{0});
    constexpr I kNull = std::numeric_limits<I>::max();
    for (int64_t k = 0; k < n; ++k) {
      if (column.data[k] == kNull) {
        column.data[k] = 0;  // never read by Take, but keep it in range
      } else {
        arrow::bit_util::SetBit(bits, k);
      }
    }
  }
  auto data = arrow::ArrayData::Make(std::make_shared<ArrowIndex>(), n,
                                     {std::move(validity), column.values}, column.nulls);
  return arrow::MakeArray(data);
}

// Key ranges per thread (split at the keys found at equal steps of the larger side) and the
// number of output rows of each.
struct MergePlan {
  std::vector<int64_t> lsplit, rsplit;  // parts + 1 word positions per side
  std::vector<int64_t> offsets;         // parts + 1 output positions
  int64_t left_nulls = 0;               // unmatched null-key rows appended at the end
  int64_t right_nulls = 0;
  int64_t rows = 0;
  int parts() const { return static_cast<int>(offsets.size()) - 1; }
};

MergePlan PlanMerge(const Side& l, const Side& r, const Emit& emit) {
  MergePlan plan;
  const Side& ref = l.values >= r.values ? l : r;
  const int parts = std::max(1, Threads(l.values + r.values));
  plan.lsplit.assign(static_cast<size_t>(parts) + 1, l.values);
  plan.rsplit.assign(static_cast<size_t>(parts) + 1, r.values);
  plan.lsplit[0] = plan.rsplit[0] = 0;
  for (int t = 1; t < parts; ++t) {
    const uint64_t key = ref.values > 0 ? ref.Key(PartBegin(ref.values, parts, t)) : 0;
    plan.lsplit[static_cast<size_t>(t)] = l.LowerBound(key);
    plan.rsplit[static_cast<size_t>(t)] = r.LowerBound(key);
  }
  plan.offsets.assign(static_cast<size_t>(parts) + 1, 0);
  ParallelFor(parts, [&](int t) {
    int64_t count = 0;
    const auto u = static_cast<size_t>(t);
    Merge(l, plan.lsplit[u], plan.lsplit[u + 1], r, plan.rsplit[u], plan.rsplit[u + 1], emit,
          [&count](int64_t, int64_t) { ++count; });
    plan.offsets[u + 1] = count;
  });
  for (size_t u = 1; u < plan.offsets.size(); ++u) plan.offsets[u] += plan.offsets[u - 1];
  plan.left_nulls = emit.unmatched_left ? static_cast<int64_t>(l.null_rows.size()) : 0;
  plan.right_nulls = emit.unmatched_right ? static_cast<int64_t>(r.null_rows.size()) : 0;
  plan.rows = plan.offsets.back() + plan.left_nulls + plan.right_nulls;
  return plan;
}

template <typename I>
Result<TablePtr> JoinAs(const TablePtr& left, const TablePtr& right, const Side& l, const Side& r,
                        const Emit& emit, const MergePlan& plan, arrow::MemoryPool* pool) {
  constexpr I kNull = std::numeric_limits<I>::max();
  const int parts = plan.parts();
  const int64_t n = plan.rows;
  const auto& offsets = plan.offsets;
  IndexColumn<I> lidx, ridx;
  DRC_ASSIGN_OR_RETURN(lidx.values, AllocateShared(std::max<int64_t>(n, 1) * sizeof(I), pool, kOp));
  lidx.data = reinterpret_cast<I*>(lidx.values->mutable_data());
  if (emit.right_columns) {
    DRC_ASSIGN_OR_RETURN(ridx.values,
                         AllocateShared(std::max<int64_t>(n, 1) * sizeof(I), pool, kOp));
    ridx.data = reinterpret_cast<I*>(ridx.values->mutable_data());
  }
  std::vector<int64_t> lnull_count(static_cast<size_t>(parts), 0);
  std::vector<int64_t> rnull_count(static_cast<size_t>(parts), 0);
  ParallelFor(parts, [&](int t) {
    const auto u = static_cast<size_t>(t);
    I* lo = lidx.data + offsets[u];
    I* ro = ridx.data == nullptr ? nullptr : ridx.data + offsets[u];
    int64_t lnull = 0, rnull = 0;
    Merge(l, plan.lsplit[u], plan.lsplit[u + 1], r, plan.rsplit[u], plan.rsplit[u + 1], emit,
          [&](int64_t a, int64_t b) {
            lnull += a == kNone;
            *lo++ = a == kNone ? kNull : static_cast<I>(a);
            if (ro != nullptr) {
              rnull += b == kNone;
              *ro++ = b == kNone ? kNull : static_cast<I>(b);
            }
          });
    lnull_count[u] = lnull;
    rnull_count[u] = rnull;
  });
  int64_t at = offsets.back();
  for (int64_t k = 0; k < plan.left_nulls; ++k, ++at) {
    lidx.data[at] = static_cast<I>(l.null_rows[static_cast<size_t>(k)]);
    if (ridx.data != nullptr) ridx.data[at] = kNull, ++ridx.nulls;
  }
  for (int64_t k = 0; k < plan.right_nulls; ++k, ++at) {
    lidx.data[at] = kNull, ++lidx.nulls;
    ridx.data[at] = static_cast<I>(r.null_rows[static_cast<size_t>(k)]);
  }
  for (int t = 0; t < parts; ++t) {
    lidx.nulls += lnull_count[static_cast<size_t>(t)];
    ridx.nulls += rnull_count[static_cast<size_t>(t)];
  }

  DRC_ASSIGN_OR_RETURN(auto lrows, Finish(lidx, n, pool));
  DRC_ASSIGN_OR_RETURN(TablePtr lout, GatherRows(left, lrows, pool));
  arrow::FieldVector fields = lout->schema()->fields();
  arrow::ChunkedArrayVector columns = lout->columns();
  if (emit.right_columns) {
    DRC_ASSIGN_OR_RETURN(auto rrows, Finish(ridx, n, pool));
    DRC_ASSIGN_OR_RETURN(TablePtr rout, GatherRows(right, rrows, pool));
    for (int c = 0; c < rout->num_columns(); ++c) {
      fields.push_back(rout->field(c));
      columns.push_back(rout->column(c));
    }
  }
  return arrow::Table::Make(arrow::schema(std::move(fields)), std::move(columns), n);
}

}  // namespace

Result<TablePtr> SortMergeJoin(const TablePtr& left, const TablePtr& right, int lkey, int rkey,
                               JoinType type, arrow::MemoryPool* pool) {
  const auto& lcol = *left->column(lkey);
  const auto& rcol = *right->column(rkey);
  if (!RadixSortableInteger(*lcol.type()) || !lcol.type()->Equals(*rcol.type())) return TablePtr();
  Side l, r;
  l.rows = left->num_rows();
  r.rows = right->num_rows();
  DRC_ASSIGN_OR_RETURN(bool packed, PackKeys(lcol, rcol, pool, &l, &r));
  if (!packed) return TablePtr();
  const Emit emit = EmitFor(type);
  const MergePlan plan = PlanMerge(l, r, emit);
  // uint32 row numbers while every row number and the output length stay below 2^32 - 1 (the
  // largest value marks a null).
  constexpr int64_t kNarrow = std::numeric_limits<uint32_t>::max();
  if (l.rows < kNarrow && r.rows < kNarrow && plan.rows < kNarrow) {
    return JoinAs<uint32_t>(left, right, l, r, emit, plan, pool);
  }
  return JoinAs<int64_t>(left, right, l, r, emit, plan, pool);
}

}  // namespace drc::data::internal
