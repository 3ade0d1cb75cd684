// Distributed operators (all but DistSort, which lives in dist_sort.cc).
//
// Design:
//  - Validation is collective: every operator first all-gathers one word per rank (a
//    fingerprint of its schemas and the code of any local error), so a bad partition on one rank
//    makes every rank return the same InvalidArgument instead of leaving the others waiting in
//    a collective. Local argument checks run the local operator on zero-row slices, which gives
//    exactly the local operator's rules and messages at no cost.
//  - Shuffle hashes the key columns with a typed, value-only hash (equal values of equal or
//    compatible types — int32/int64, string/large_string/dictionary<string> — hash equally on
//    every rank; nulls hash to a fixed value), computes the destination per row, orders each
//    batch by destination with one counting sort and one Take, slices it per rank (zero copy)
//    and moves the slices with AllToAllTables (Arrow IPC, one AllToAllV).
//  - Rows keep their relative order through a shuffle: rank r receives the parts in source
//    rank order, each in its original order. So "first occurrence" semantics survive.
//  - DistGroupBy pre-aggregates decomposable aggregates into partial states, shuffles the
//    partial rows by key and combines them with arrow's Grouper and typed loops (variance with
//    Chan's parallel formula; first/last by a global row order).
#include "drc/data/dist.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/row/grouper.h>
#include <arrow/util/bit_util.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "drc/data/ipc.h"
#include "src/data/arrow_status.h"
#include "src/data/fast_groupby.h"

namespace drc::data {
namespace {

// ---- Hashing ------------------------------------------------------------------------------

__extension__ typedef unsigned __int128 Uint128;

constexpr uint64_t kNullHash = 0x2d358dccaa6c78a5ULL;
constexpr uint64_t kSeed = 0x8bb84b93962eacc9ULL;
constexpr uint64_t kMul = 0x9e3779b97f4a7c15ULL;

inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline uint64_t HashBytes(const uint8_t* p, int64_t n) {
  uint64_t h = kSeed ^ (static_cast<uint64_t>(n) * kMul);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ Mix64(v)) * kMul;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, static_cast<size_t>(n));
    h = (h ^ Mix64(v)) * kMul;
  }
  return Mix64(h);
}

inline uint64_t HashDouble(double v) {
  if (v == 0.0) v = 0.0;                                            // -0.0 == 0.0
  if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();  // one NaN
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  return Mix64(bits ^ kSeed);
}

// Writes (kCombine = false) or folds (true) the hash of each row of `a` into out[0, length).
template <bool kCombine>
inline void Put(uint64_t* out, int64_t i, uint64_t v) {
  if constexpr (kCombine) {
    out[i] = Mix64(out[i] * kMul + v);
  } else {
    out[i] = v;
  }
}

template <bool kCombine, typename F>
void HashRows(const arrow::ArrayData& a, uint64_t* out, F&& value_hash) {
  const uint8_t* valid = a.buffers.size() > 0 && a.buffers[0] != nullptr && a.GetNullCount() > 0
                             ? a.buffers[0]->data()
                             : nullptr;
  if (valid == nullptr) {
    for (int64_t i = 0; i < a.length; ++i) Put<kCombine>(out, i, value_hash(i));
  } else {
    for (int64_t i = 0; i < a.length; ++i) {
      Put<kCombine>(out, i,
                    arrow::bit_util::GetBit(valid, a.offset + i) ? value_hash(i) : kNullHash);
    }
  }
}

template <bool kCombine>
arrow::Status HashArray(const arrow::ArrayData& a, uint64_t* out);

template <bool kCombine, typename Offset>
void HashBinary(const arrow::ArrayData& a, uint64_t* out) {
  const Offset* offsets = a.GetValues<Offset>(1);
  const uint8_t* data = a.buffers[2] != nullptr ? a.buffers[2]->data() : nullptr;
  HashRows<kCombine>(a, out, [&](int64_t i) {
    return HashBytes(data + offsets[i], static_cast<int64_t>(offsets[i + 1] - offsets[i]));
  });
}

template <bool kCombine, typename Offset>
arrow::Status HashList(const arrow::ArrayData& a, uint64_t* out) {
  const Offset* offsets = a.GetValues<Offset>(1);
  const int64_t begin = a.length > 0 ? offsets[0] : 0;
  const int64_t end = a.length > 0 ? offsets[a.length] : 0;
  std::vector<uint64_t> child(static_cast<size_t>(end - begin));
  if (end > begin) {
    auto slice = a.child_data[0]->Slice(begin, end - begin);
    ARROW_RETURN_NOT_OK(HashArray<false>(*slice, child.data()));
  }
  HashRows<kCombine>(a, out, [&](int64_t i) {
    uint64_t h = Mix64(kSeed + static_cast<uint64_t>(offsets[i + 1] - offsets[i]));
    for (int64_t j = offsets[i]; j < offsets[i + 1]; ++j) h = Mix64(h * kMul + child[j - begin]);
    return h;
  });
  return arrow::Status::OK();
}

template <bool kCombine, typename Index>
arrow::Status HashDictionary(const arrow::ArrayData& a, uint64_t* out) {
  const arrow::ArrayData& dict = *a.dictionary;
  std::vector<uint64_t> dict_hash(static_cast<size_t>(dict.length));
  ARROW_RETURN_NOT_OK(HashArray<false>(dict, dict_hash.data()));
  const Index* indices = a.GetValues<Index>(1);
  HashRows<kCombine>(a, out, [&](int64_t i) { return dict_hash[static_cast<size_t>(indices[i])]; });
  return arrow::Status::OK();
}

template <bool kCombine>
arrow::Status HashArray(const arrow::ArrayData& a, uint64_t* out) {
  using arrow::Type;
  const arrow::DataType& type = *a.type;
  switch (type.id()) {
    case Type::NA:
      for (int64_t i = 0; i < a.length; ++i) Put<kCombine>(out, i, kNullHash);
      return arrow::Status::OK();
    case Type::BOOL: {
      const uint8_t* bits = a.buffers[1]->data();
      HashRows<kCombine>(a, out, [&](int64_t i) {
        return Mix64(kSeed + (arrow::bit_util::GetBit(bits, a.offset + i) ? 1 : 0));
      });
      return arrow::Status::OK();
    }
#define DRC_HASH_INT(TYPE, CTYPE, WIDE)                                     \
  case Type::TYPE: {                                                        \
    const CTYPE* v = a.GetValues<CTYPE>(1);                                 \
    HashRows<kCombine>(a, out, [&](int64_t i) {                             \
      return Mix64(static_cast<uint64_t>(static_cast<WIDE>(v[i])) ^ kSeed); \
    });                                                                     \
    return arrow::Status::OK();                                             \
  }
      DRC_HASH_INT(INT8, int8_t, int64_t)
      DRC_HASH_INT(INT16, int16_t, int64_t)
      DRC_HASH_INT(INT32, int32_t, int64_t)
      DRC_HASH_INT(INT64, int64_t, int64_t)
      DRC_HASH_INT(UINT8, uint8_t, uint64_t)
      DRC_HASH_INT(UINT16, uint16_t, uint64_t)
      DRC_HASH_INT(UINT32, uint32_t, uint64_t)
      DRC_HASH_INT(UINT64, uint64_t, uint64_t)
      DRC_HASH_INT(HALF_FLOAT, uint16_t, uint64_t)
      DRC_HASH_INT(DATE32, int32_t, int64_t)
      DRC_HASH_INT(DATE64, int64_t, int64_t)
      DRC_HASH_INT(TIME32, int32_t, int64_t)
      DRC_HASH_INT(TIME64, int64_t, int64_t)
      DRC_HASH_INT(TIMESTAMP, int64_t, int64_t)
      DRC_HASH_INT(DURATION, int64_t, int64_t)
      DRC_HASH_INT(INTERVAL_MONTHS, int32_t, int64_t)
#undef DRC_HASH_INT
    case Type::FLOAT: {
      const float* v = a.GetValues<float>(1);
      HashRows<kCombine>(a, out, [&](int64_t i) { return HashDouble(v[i]); });
      return arrow::Status::OK();
    }
    case Type::DOUBLE: {
      const double* v = a.GetValues<double>(1);
      HashRows<kCombine>(a, out, [&](int64_t i) { return HashDouble(v[i]); });
      return arrow::Status::OK();
    }
    case Type::STRING:
    case Type::BINARY: HashBinary<kCombine, int32_t>(a, out); return arrow::Status::OK();
    case Type::LARGE_STRING:
    case Type::LARGE_BINARY: HashBinary<kCombine, int64_t>(a, out); return arrow::Status::OK();
    case Type::STRING_VIEW:
    case Type::BINARY_VIEW: {
      arrow::BinaryViewArray array(a.Copy());
      HashRows<kCombine>(a, out, [&](int64_t i) {
        std::string_view s = array.GetView(i);
        return HashBytes(reinterpret_cast<const uint8_t*>(s.data()),
                         static_cast<int64_t>(s.size()));
      });
      return arrow::Status::OK();
    }
    case Type::FIXED_SIZE_BINARY:
    case Type::DECIMAL32:
    case Type::DECIMAL64:
    case Type::DECIMAL128:
    case Type::DECIMAL256:
    case Type::INTERVAL_DAY_TIME:
    case Type::INTERVAL_MONTH_DAY_NANO: {
      const int width = static_cast<const arrow::FixedWidthType&>(type).byte_width();
      const uint8_t* v = a.buffers[1]->data() + a.offset * width;
      HashRows<kCombine>(a, out, [&](int64_t i) { return HashBytes(v + i * width, width); });
      return arrow::Status::OK();
    }
    case Type::LIST:
    case Type::MAP: return HashList<kCombine, int32_t>(a, out);
    case Type::LARGE_LIST: return HashList<kCombine, int64_t>(a, out);
    case Type::FIXED_SIZE_LIST: {
      const int64_t width = static_cast<const arrow::FixedSizeListType&>(type).list_size();
      std::vector<uint64_t> child(static_cast<size_t>(a.length * width));
      if (!child.empty()) {
        auto slice = a.child_data[0]->Slice(a.offset * width, a.length * width);
        ARROW_RETURN_NOT_OK(HashArray<false>(*slice, child.data()));
      }
      HashRows<kCombine>(a, out, [&](int64_t i) {
        uint64_t h = Mix64(kSeed + static_cast<uint64_t>(width));
        for (int64_t j = 0; j < width; ++j) h = Mix64(h * kMul + child[i * width + j]);
        return h;
      });
      return arrow::Status::OK();
    }
    case Type::STRUCT: {
      std::vector<uint64_t> fields(static_cast<size_t>(a.length), Mix64(kSeed));
      for (const auto& child : a.child_data) {
        auto slice = child->Slice(a.offset, a.length);
        ARROW_RETURN_NOT_OK(HashArray<true>(*slice, fields.data()));
      }
      HashRows<kCombine>(a, out, [&](int64_t i) { return fields[i]; });
      return arrow::Status::OK();
    }
    case Type::DICTIONARY: {
      switch (static_cast<const arrow::DictionaryType&>(type).index_type()->id()) {
        case Type::INT8: return HashDictionary<kCombine, int8_t>(a, out);
        case Type::INT16: return HashDictionary<kCombine, int16_t>(a, out);
        case Type::INT32: return HashDictionary<kCombine, int32_t>(a, out);
        case Type::INT64: return HashDictionary<kCombine, int64_t>(a, out);
        case Type::UINT8: return HashDictionary<kCombine, uint8_t>(a, out);
        case Type::UINT16: return HashDictionary<kCombine, uint16_t>(a, out);
        case Type::UINT32: return HashDictionary<kCombine, uint32_t>(a, out);
        case Type::UINT64: return HashDictionary<kCombine, uint64_t>(a, out);
        default: break;
      }
      break;
    }
    case Type::EXTENSION: {
      auto storage = a.Copy();
      storage->type = static_cast<const arrow::ExtensionType&>(type).storage_type();
      return HashArray<kCombine>(*storage, out);
    }
    default: break;
  }
  return arrow::Status::NotImplemented("hashing a column of type ", type.ToString());
}

// ---- Partitioning -------------------------------------------------------------------------

Result<std::vector<int>> ColumnIndices(const arrow::Schema& schema,
                                       const std::vector<std::string>& names, const char* op) {
  std::vector<int> indices;
  indices.reserve(names.size());
  for (const auto& name : names) {
    const int i = schema.GetFieldIndex(name);
    if (i < 0) {
      std::string have;
      for (const auto& f : schema.fields()) have += (have.empty() ? "" : ", ") + f->name();
      return Status::InvalidArgument(op, ": unknown column '", name, "' (table has ", have, ")");
    }
    indices.push_back(i);
  }
  return indices;
}

std::vector<int> AllColumns(const arrow::Schema& schema) {
  std::vector<int> all(static_cast<size_t>(schema.num_fields()));
  for (int i = 0; i < schema.num_fields(); ++i) all[i] = i;
  return all;
}

// Row indices of a batch ordered by destination (stable): a counting sort of `dest`.
template <typename Index, typename Dest>
arrow::Result<std::shared_ptr<arrow::Array>> CountingSortIndices(const std::vector<Dest>& dest,
                                                                 std::vector<int64_t> starts,
                                                                 arrow::MemoryPool* pool) {
  const int64_t n = static_cast<int64_t>(dest.size());
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buffer,
                        arrow::AllocateBuffer(n * static_cast<int64_t>(sizeof(Index)), pool));
  Index* indices = reinterpret_cast<Index*>(buffer->mutable_data());
  for (int64_t i = 0; i < n; ++i) indices[starts[dest[i]]++] = static_cast<Index>(i);
  using ArrowType = typename arrow::CTypeTraits<Index>::ArrowType;
  return std::make_shared<arrow::NumericArray<ArrowType>>(n, std::move(buffer));
}

// Rows hashed per block, so the 64-bit hashes stay in cache; only the destination ids (one
// `Dest` per row) span the batch.
constexpr int64_t kHashBlock = 1 << 14;

// The combined hash of the key columns for rows [start, start + len) of `batch`.
arrow::Status HashKeys(const arrow::RecordBatch& batch, const std::vector<int>& keys, int64_t start,
                       int64_t len, uint64_t* hashes) {
  std::fill(hashes, hashes + len, kSeed);
  for (size_t k = 0; k < keys.size(); ++k) {
    const auto& column = batch.column_data(keys[k]);
    const auto block = start == 0 && len == batch.num_rows() ? column : column->Slice(start, len);
    arrow::Status st = k == 0 ? HashArray<false>(*block, hashes) : HashArray<true>(*block, hashes);
    if (!st.ok()) {
      return st.WithMessage("key column '", batch.schema()->field(keys[k])->name(),
                            "': ", st.message());
    }
  }
  return arrow::Status::OK();
}

template <typename Dest>
arrow::Status Destinations(const arrow::RecordBatch& batch, const std::vector<int>& keys, int parts,
                           std::vector<Dest>* dest, std::vector<int64_t>* counts) {
  const int64_t n = batch.num_rows();
  dest->resize(static_cast<size_t>(n));
  std::fill(counts->begin(), counts->end(), 0);
  std::vector<uint64_t> hashes(static_cast<size_t>(std::min(n, kHashBlock)));
  const auto p = static_cast<Uint128>(parts);
  for (int64_t start = 0; start < n; start += kHashBlock) {
    const int64_t len = std::min(kHashBlock, n - start);
    ARROW_RETURN_NOT_OK(HashKeys(batch, keys, start, len, hashes.data()));
    Dest* d = dest->data() + start;
    for (int64_t i = 0; i < len; ++i) {
      // Multiply-high maps the hash onto [0, parts) without a division.
      const auto r = static_cast<Dest>((static_cast<Uint128>(hashes[i]) * p) >> 64);
      d[i] = r;
      ++(*counts)[r];
    }
  }
  return arrow::Status::OK();
}

// HyperLogLog estimate of the number of distinct key combinations in `table` (2^12 registers
// over the shuffle's 64-bit row hash: about 1.6 % standard error); nullopt when a key column
// cannot be hashed.
std::optional<double> DistinctKeysEstimate(const TablePtr& table, const std::vector<int>& keys) {
  constexpr int kBits = 12;
  constexpr int kRegisters = 1 << kBits;
  std::vector<uint8_t> registers(kRegisters, 0);
  std::vector<uint64_t> hashes(static_cast<size_t>(kHashBlock));
  arrow::TableBatchReader reader(*table);
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    if (!reader.ReadNext(&batch).ok()) return std::nullopt;
    if (batch == nullptr) break;
    for (int64_t start = 0; start < batch->num_rows(); start += kHashBlock) {
      const int64_t len = std::min(kHashBlock, batch->num_rows() - start);
      if (!HashKeys(*batch, keys, start, len, hashes.data()).ok()) return std::nullopt;
      for (int64_t i = 0; i < len; ++i) {
        const uint64_t h = hashes[static_cast<size_t>(i)];
        const uint64_t rest = h << kBits;
        const auto rank =
            static_cast<uint8_t>(rest == 0 ? 64 - kBits + 1 : std::countl_zero(rest) + 1);
        uint8_t& r = registers[static_cast<size_t>(h >> (64 - kBits))];
        r = std::max(r, rank);
      }
    }
  }
  double sum = 0;
  int zeros = 0;
  for (uint8_t r : registers) {
    sum += std::ldexp(1.0, -r);
    zeros += r == 0;
  }
  constexpr double m = kRegisters;
  const double estimate = 0.7213 / (1 + 1.079 / m) * m * m / sum;
  if (estimate <= 2.5 * m && zeros > 0) return m * std::log(m / zeros);  // small-range correction
  return estimate;
}

// Splits `table` into `parts` tables by the hash of the key columns; row order is kept within
// each part. No key columns: every row goes to one part.
template <typename Dest>
Result<std::vector<TablePtr>> HashPartitionAs(const TablePtr& table, const std::vector<int>& keys,
                                              int parts, arrow::MemoryPool* pool) {
  std::vector<std::vector<std::shared_ptr<arrow::RecordBatch>>> batches(parts);
  arrow::TableBatchReader reader(*table);
  std::vector<Dest> dest;
  std::vector<int64_t> counts(parts);
  cp::ExecContext exec_ctx(pool);
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    DRC_ARROW_RETURN_NOT_OK(reader.ReadNext(&batch), "Shuffle");
    if (batch == nullptr) break;
    const int64_t n = batch->num_rows();
    if (n == 0) continue;
    DRC_ARROW_RETURN_NOT_OK(Destinations(*batch, keys, parts, &dest, &counts), "Shuffle");
    int nonempty = 0, last = 0;
    for (int r = 0; r < parts; ++r) {
      if (counts[r] > 0) ++nonempty, last = r;
    }
    if (nonempty == 1) {  // the whole batch goes to one rank: no reordering
      batches[last].push_back(std::move(batch));
      continue;
    }
    std::vector<int64_t> starts(parts, 0);
    for (int r = 1; r < parts; ++r) starts[r] = starts[r - 1] + counts[r - 1];
    DRC_ARROW_ASSIGN_OR_RETURN(auto indices,
                               n <= std::numeric_limits<int32_t>::max()
                                   ? CountingSortIndices<int32_t>(dest, starts, pool)
                                   : CountingSortIndices<int64_t>(dest, starts, pool),
                               "Shuffle");
    DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum taken,
                               cp::Take(arrow::Datum(batch), arrow::Datum(indices),
                                        cp::TakeOptions::NoBoundsCheck(), &exec_ctx),
                               "Shuffle");
    const auto sorted = taken.record_batch();
    for (int r = 0; r < parts; ++r) {
      if (counts[r] > 0) batches[r].push_back(sorted->Slice(starts[r], counts[r]));
    }
  }
  std::vector<TablePtr> out(parts);
  for (int r = 0; r < parts; ++r) {
    DRC_ARROW_ASSIGN_OR_RETURN(out[r], arrow::Table::FromRecordBatches(table->schema(), batches[r]),
                               "Shuffle");
  }
  return out;
}

Result<std::vector<TablePtr>> HashPartition(const TablePtr& table, const std::vector<int>& keys,
                                            int parts, arrow::MemoryPool* pool) {
  if (parts <= 256) return HashPartitionAs<uint8_t>(table, keys, parts, pool);
  if (parts <= 65536) return HashPartitionAs<uint16_t>(table, keys, parts, pool);
  return HashPartitionAs<uint32_t>(table, keys, parts, pool);
}

Result<TablePtr> ConcatParts(const std::vector<TablePtr>& parts, arrow::MemoryPool* pool,
                             const char* op) {
  if (parts.size() == 1) return parts[0];
  std::vector<TablePtr> nonempty;
  for (const auto& p : parts) {
    if (p->num_rows() > 0) nonempty.push_back(p);
  }
  if (nonempty.empty()) return arrow::Table::MakeEmpty(parts[0]->schema(), pool).ValueOr(parts[0]);
  if (nonempty.size() == 1) return nonempty[0];
  auto options = arrow::ConcatenateTablesOptions::Defaults();
  DRC_ARROW_ASSIGN_OR_RETURN(TablePtr out, arrow::ConcatenateTables(nonempty, options, pool), op);
  return out;
}

// ---- Collective validation ----------------------------------------------------------------

struct CheckWord {
  uint64_t fingerprint;
  int32_t code;
  int32_t unused;
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (true) {
    const size_t end = s.find(sep, begin);
    out.push_back(s.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return out;
    begin = end + 1;
  }
}

// "input 'right': field 1 is 'v: int64' on rank 0 but 'v: string' on rank 2".
std::string DescribeDifference(const std::string& a, const std::string& b, int ra, int rb,
                               const std::vector<std::string>& names) {
  const auto ta = Split(a, '\x1e'), tb = Split(b, '\x1e');
  for (size_t t = 0; t < ta.size() && t < tb.size(); ++t) {
    if (ta[t] == tb[t]) continue;
    const std::string which = names.size() > 1 ? "input '" + names[t] + "': " : "";
    const auto fa = Split(ta[t], '\n'), fb = Split(tb[t], '\n');
    for (size_t i = 0; i < fa.size() && i < fb.size(); ++i) {
      if (fa[i] != fb[i]) {
        return Status::Concat(which, "field ", i, " is '", fa[i], "' on rank ", ra, " but '", fb[i],
                              "' on rank ", rb);
      }
    }
    return Status::Concat(which, fa.size(), " fields on rank ", ra, " but ", fb.size(), " on rank ",
                          rb);
  }
  return "schemas differ";
}

// Collective: checks that every rank's inputs are non-null with the same schemas as rank 0's
// and that `local` is OK on every rank. Returns the same error on every rank otherwise (schema
// differences first, then the first local error in rank order). `names` names the inputs.
Status CheckCollective(const Context& ctx, const char* op,
                       const std::vector<const TablePtr*>& tables,
                       const std::vector<std::string>& names, Status local) {
  std::string desc;
  for (size_t t = 0; t < tables.size(); ++t) {
    if (t > 0) desc += '\x1e';
    const TablePtr& table = *tables[t];
    if (table == nullptr) {
      desc += "<null>";
      if (local.ok()) local = Status::InvalidArgument("input '", names[t], "' is null");
    } else {
      desc += table->schema()->ToString(/*show_metadata=*/false);
    }
  }
  if (ctx.world_size() == 1 || ctx.comm() == nullptr) {
    return local.ok() ? local : local.WithContext(op);
  }
  const CheckWord word{
      HashBytes(reinterpret_cast<const uint8_t*>(desc.data()), static_cast<int64_t>(desc.size())),
      static_cast<int32_t>(local.code()), 0};
  DRC_ASSIGN_OR_RETURN(std::vector<CheckWord> words,
                       comm::AllGatherValue<CheckWord>(*ctx.comm(), word));
  bool same = true, all_ok = true;
  for (const auto& w : words) {
    same = same && w.fingerprint == words[0].fingerprint;
    all_ok = all_ok && w.code == 0;
  }
  if (same && all_ok) return Status::OK();
  DRC_ASSIGN_OR_RETURN(std::vector<std::string> descs, comm::AllGatherStrings(*ctx.comm(), desc));
  DRC_ASSIGN_OR_RETURN(std::vector<std::string> errors,
                       comm::AllGatherStrings(*ctx.comm(), local.ok() ? "" : local.message()));
  for (size_t r = 1; r < words.size(); ++r) {
    if (descs[r] != descs[0] && descs[r].find("<null>") == std::string::npos &&
        descs[0].find("<null>") == std::string::npos) {
      return Status::InvalidArgument(
          op, ": the schema of rank ", r, " differs from rank 0's: ",
          DescribeDifference(descs[0], descs[r], 0, static_cast<int>(r), names));
    }
  }
  for (size_t r = 0; r < words.size(); ++r) {
    if (words[r].code != 0) {
      return Status(static_cast<StatusCode>(words[r].code),
                    Status::Concat(op, ": rank ", r, ": ", errors[r]));
    }
  }
  return Status::InvalidArgument(op, ": the inputs differ across ranks");
}

Status LocalStatus(const Result<TablePtr>& r) { return r.ok() ? Status::OK() : r.status(); }

// A zero-row table of the schema of `t`, one empty chunk per column.
TablePtr Empty(const TablePtr& t) {
  auto empty = arrow::Table::MakeEmpty(t->schema());
  return empty.ok() ? *empty : t->Slice(0, 0);
}

// Shuffle without validation (inputs already checked collectively).
Result<TablePtr> ShuffleChecked(const Context& ctx, const TablePtr& table,
                                const std::vector<int>& keys, const char* op) {
  if (ctx.world_size() == 1) return table;
  DRC_ASSIGN_OR_RETURN(std::vector<TablePtr> parts,
                       HashPartition(table, keys, ctx.world_size(), ctx.pool()));
  auto received = AllToAllTables(ctx, parts);
  if (!received.ok()) return received.status().WithContext(op);
  return ConcatParts(*received, ctx.pool(), op);
}

// ---- Group-by: partial aggregation and combination ----------------------------------------

// Where a final aggregate finds its partial state columns (indices into the partial table).
struct FinalAgg {
  AggKind kind;
  int a = -1, b = -1, c = -1;
  int ddof = 1;
};

struct GroupByPlan {
  std::vector<Aggregation> partial;
  std::vector<FinalAgg> finals;
  std::vector<std::string> order_columns;  // first/last: value columns needing a row order
};

bool Decomposable(AggKind kind) {
  return kind != AggKind::kNUnique && kind != AggKind::kMedian && kind != AggKind::kQuantile;
}

std::string OrderColumn(const std::string& column) { return "__drc_order_" + column; }

GroupByPlan PlanGroupBy(size_t num_keys, const std::vector<Aggregation>& aggs) {
  GroupByPlan plan;
  auto add = [&](AggKind kind, const std::string& column, int ddof = 1) {
    Aggregation a;
    a.kind = kind;
    a.column = column;
    a.ddof = ddof;
    a.output = "__drc_p" + std::to_string(plan.partial.size());
    plan.partial.push_back(a);
    return static_cast<int>(num_keys + plan.partial.size() - 1);
  };
  for (const auto& agg : aggs) {
    FinalAgg f;
    f.kind = agg.kind;
    f.ddof = agg.ddof;
    switch (agg.kind) {
      case AggKind::kSum:
      case AggKind::kCount:
      case AggKind::kCountAll:
      case AggKind::kMin:
      case AggKind::kMax: f.a = add(agg.kind, agg.column); break;
      case AggKind::kMean:
        f.a = add(AggKind::kSum, agg.column);
        f.b = add(AggKind::kCount, agg.column);
        break;
      case AggKind::kVar:
      case AggKind::kStd:
        f.a = add(AggKind::kCount, agg.column);
        f.b = add(AggKind::kMean, agg.column);
        f.c = add(AggKind::kVar, agg.column, /*ddof=*/0);
        break;
      case AggKind::kFirst:
      case AggKind::kLast:
        f.a = add(agg.kind, agg.column);
        f.b = add(agg.kind == AggKind::kFirst ? AggKind::kMin : AggKind::kMax,
                  OrderColumn(agg.column));
        if (std::find(plan.order_columns.begin(), plan.order_columns.end(), agg.column) ==
            plan.order_columns.end()) {
          plan.order_columns.push_back(agg.column);
        }
        break;
      default: break;
    }
    plan.finals.push_back(f);
  }
  return plan;
}

// Adds, for each column in `columns`, an int64 column with the global order of each row
// ((rank << 40) + row), null where the value is null: min/max of it find first/last non-null.
Result<TablePtr> AddOrderColumns(const Context& ctx, TablePtr table,
                                 const std::vector<std::string>& columns) {
  if (columns.empty()) return table;
  const int64_t n = table->num_rows();
  const int64_t base = static_cast<int64_t>(ctx.rank()) << 40;
  arrow::Int64Builder builder(ctx.pool());
  DRC_ARROW_RETURN_NOT_OK(builder.Reserve(n), "DistGroupBy");
  for (int64_t i = 0; i < n; ++i) builder.UnsafeAppend(base + i);
  DRC_ARROW_ASSIGN_OR_RETURN(std::shared_ptr<arrow::Array> order, builder.Finish(), "DistGroupBy");
  cp::ExecContext exec_ctx(ctx.pool());
  for (const auto& column : columns) {
    auto values = table->GetColumnByName(column);
    DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum valid, cp::IsValid(values, &exec_ctx), "DistGroupBy");
    DRC_ARROW_ASSIGN_OR_RETURN(
        arrow::Datum masked,
        cp::IfElse(valid, arrow::Datum(order), arrow::MakeNullScalar(arrow::int64()), &exec_ctx),
        "DistGroupBy");
    DRC_ARROW_ASSIGN_OR_RETURN(
        table,
        table->AddColumn(table->num_columns(), arrow::field(OrderColumn(column), arrow::int64()),
                         masked.chunked_array()),
        "DistGroupBy");
  }
  return table;
}

// Per group, the row whose value is best by `better` among valid rows (-1: none).
template <typename Get, typename Better>
std::vector<int64_t> SelectRows(const arrow::Array& values, const std::vector<uint32_t>& groups,
                                uint32_t num_groups, Get&& get, Better&& better) {
  std::vector<int64_t> best(num_groups, -1);
  for (int64_t i = 0; i < values.length(); ++i) {
    if (values.IsNull(i)) continue;
    int64_t& b = best[groups[i]];
    if (b < 0 || better(get(i), get(b))) b = i;
  }
  return best;
}

template <typename T>
bool BetterValue(T x, T y, bool want_min) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(y)) return !std::isnan(x);  // NaN loses to any number
    if (std::isnan(x)) return false;
  }
  return want_min ? x < y : y < x;
}

// Per group, the index of the min (or max) valid partial row; NotImplemented for types without
// a typed comparison here (the caller then shuffles rows instead).
Result<std::vector<int64_t>> SelectExtreme(const arrow::Array& values,
                                           const std::vector<uint32_t>& groups, uint32_t num_groups,
                                           bool want_min) {
  using arrow::Type;
  auto numeric = [&](auto tag) {
    using CType = decltype(tag);
    const CType* v = values.data()->GetValues<CType>(1);
    return SelectRows(
        values, groups, num_groups, [&](int64_t i) { return v[i]; },
        [&](CType x, CType y) { return BetterValue(x, y, want_min); });
  };
  switch (values.type_id()) {
    case Type::INT8: return numeric(int8_t{});
    case Type::INT16: return numeric(int16_t{});
    case Type::INT32:
    case Type::DATE32:
    case Type::TIME32: return numeric(int32_t{});
    case Type::INT64:
    case Type::DATE64:
    case Type::TIME64:
    case Type::TIMESTAMP:
    case Type::DURATION: return numeric(int64_t{});
    case Type::UINT8: return numeric(uint8_t{});
    case Type::UINT16: return numeric(uint16_t{});
    case Type::UINT32: return numeric(uint32_t{});
    case Type::UINT64: return numeric(uint64_t{});
    case Type::FLOAT: return numeric(float{});
    case Type::DOUBLE: return numeric(double{});
    case Type::BOOL: {
      const auto& b = static_cast<const arrow::BooleanArray&>(values);
      return SelectRows(
          values, groups, num_groups, [&](int64_t i) { return b.Value(i); },
          [&](bool x, bool y) { return want_min ? x < y : y < x; });
    }
    case Type::STRING:
    case Type::BINARY:
    case Type::LARGE_STRING:
    case Type::LARGE_BINARY:
    case Type::STRING_VIEW:
    case Type::BINARY_VIEW: {
      auto view = [&](int64_t i) -> std::string_view {
        switch (values.type_id()) {
          case Type::STRING:
          case Type::BINARY: return static_cast<const arrow::BinaryArray&>(values).GetView(i);
          case Type::LARGE_STRING:
          case Type::LARGE_BINARY:
            return static_cast<const arrow::LargeBinaryArray&>(values).GetView(i);
          default: return static_cast<const arrow::BinaryViewArray&>(values).GetView(i);
        }
      };
      return SelectRows(
          values, groups, num_groups, view,
          [&](std::string_view x, std::string_view y) { return want_min ? x < y : y < x; });
    }
    default: return Status::NotImplemented("combining min/max of ", values.type()->ToString());
  }
}

Result<std::shared_ptr<arrow::Array>> TakeRows(const std::shared_ptr<arrow::Array>& values,
                                               const std::vector<int64_t>& rows,
                                               arrow::MemoryPool* pool) {
  arrow::Int64Builder builder(pool);
  DRC_ARROW_RETURN_NOT_OK(builder.Reserve(static_cast<int64_t>(rows.size())), "DistGroupBy");
  for (int64_t r : rows) {
    if (r < 0) {
      builder.UnsafeAppendNull();
    } else {
      builder.UnsafeAppend(r);
    }
  }
  DRC_ARROW_ASSIGN_OR_RETURN(auto indices, builder.Finish(), "DistGroupBy");
  cp::ExecContext exec_ctx(pool);
  DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum taken,
                             cp::Take(values, indices, cp::TakeOptions::Defaults(), &exec_ctx),
                             "DistGroupBy");
  return taken.make_array();
}

// Sum per group of a numeric partial column; null where every partial is null.
template <typename ArrowType>
Result<std::shared_ptr<arrow::Array>> SumGroups(const arrow::Array& values,
                                                const std::vector<uint32_t>& groups,
                                                uint32_t num_groups, arrow::MemoryPool* pool) {
  using CType = typename ArrowType::c_type;
  const CType* v = values.data()->GetValues<CType>(1);
  std::vector<CType> sums(num_groups, CType{0});
  std::vector<uint8_t> valid(num_groups, 0);
  for (int64_t i = 0; i < values.length(); ++i) {
    if (values.IsNull(i)) continue;
    sums[groups[i]] += v[i];
    valid[groups[i]] = 1;
  }
  arrow::NumericBuilder<ArrowType> builder(pool);
  DRC_ARROW_RETURN_NOT_OK(builder.AppendValues(sums, std::vector<bool>(valid.begin(), valid.end())),
                          "DistGroupBy");
  DRC_ARROW_ASSIGN_OR_RETURN(auto out, builder.Finish(), "DistGroupBy");
  return out;
}

Result<std::shared_ptr<arrow::Array>> SumAny(const arrow::Array& values,
                                             const std::vector<uint32_t>& groups,
                                             uint32_t num_groups, arrow::MemoryPool* pool) {
  switch (values.type_id()) {
    case arrow::Type::INT64: return SumGroups<arrow::Int64Type>(values, groups, num_groups, pool);
    case arrow::Type::UINT64: return SumGroups<arrow::UInt64Type>(values, groups, num_groups, pool);
    case arrow::Type::DOUBLE: return SumGroups<arrow::DoubleType>(values, groups, num_groups, pool);
    default: return Status::NotImplemented("combining sums of ", values.type()->ToString());
  }
}

bool SumTypeSupported(const arrow::DataType& t) {
  return t.id() == arrow::Type::INT64 || t.id() == arrow::Type::UINT64 ||
         t.id() == arrow::Type::DOUBLE;
}

// Whether the combine step below supports every partial column of `partial_schema`.
bool CombineSupported(const GroupByPlan& plan, const arrow::Schema& partial_schema) {
  for (const auto& f : plan.finals) {
    auto type = [&](int i) { return partial_schema.field(i)->type(); };
    switch (f.kind) {
      case AggKind::kSum:
      case AggKind::kMean:
        if (!SumTypeSupported(*type(f.a))) return false;
        break;
      case AggKind::kCount:
      case AggKind::kCountAll:
        if (type(f.a)->id() != arrow::Type::INT64) return false;
        break;
      case AggKind::kVar:
      case AggKind::kStd:
        if (type(f.a)->id() != arrow::Type::INT64 || type(f.b)->id() != arrow::Type::DOUBLE ||
            type(f.c)->id() != arrow::Type::DOUBLE) {
          return false;
        }
        break;
      case AggKind::kMin:
      case AggKind::kMax: {
        auto probe = arrow::MakeArrayOfNull(type(f.a), 0);
        if (!probe.ok()) return false;
        if (!SelectExtreme(**probe, {}, 0, true).ok()) return false;
        break;
      }
      case AggKind::kFirst:
      case AggKind::kLast:
        if (type(f.b)->id() != arrow::Type::INT64) return false;
        break;
      default: return false;
    }
  }
  return true;
}

Result<std::shared_ptr<arrow::Array>> CombineOne(const FinalAgg& f, const arrow::Table& partial,
                                                 const std::vector<uint32_t>& groups,
                                                 uint32_t num_groups, arrow::MemoryPool* pool) {
  auto col = [&](int i) { return partial.column(i)->chunk(0); };
  switch (f.kind) {
    case AggKind::kSum:
    case AggKind::kCount:
    case AggKind::kCountAll: return SumAny(*col(f.a), groups, num_groups, pool);
    case AggKind::kMin:
    case AggKind::kMax: {
      DRC_ASSIGN_OR_RETURN(auto rows,
                           SelectExtreme(*col(f.a), groups, num_groups, f.kind == AggKind::kMin));
      return TakeRows(col(f.a), rows, pool);
    }
    case AggKind::kFirst:
    case AggKind::kLast: {
      DRC_ASSIGN_OR_RETURN(auto rows,
                           SelectExtreme(*col(f.b), groups, num_groups, f.kind == AggKind::kFirst));
      return TakeRows(col(f.a), rows, pool);
    }
    case AggKind::kMean: {
      auto sums = col(f.a);
      const auto& counts = static_cast<const arrow::Int64Array&>(*col(f.b));
      std::vector<double> total(num_groups, 0.0);
      std::vector<int64_t> itotal(num_groups, 0);
      std::vector<uint64_t> utotal(num_groups, 0);
      std::vector<int64_t> n(num_groups, 0);
      for (int64_t i = 0; i < sums->length(); ++i) {
        if (!counts.IsNull(i)) n[groups[i]] += counts.Value(i);
        if (sums->IsNull(i)) continue;
        switch (sums->type_id()) {
          case arrow::Type::INT64:
            itotal[groups[i]] += static_cast<const arrow::Int64Array&>(*sums).Value(i);
            break;
          case arrow::Type::UINT64:
            utotal[groups[i]] += static_cast<const arrow::UInt64Array&>(*sums).Value(i);
            break;
          default:
            total[groups[i]] += static_cast<const arrow::DoubleArray&>(*sums).Value(i);
            break;
        }
      }
      arrow::DoubleBuilder builder(pool);
      DRC_ARROW_RETURN_NOT_OK(builder.Reserve(num_groups), "DistGroupBy");
      for (uint32_t g = 0; g < num_groups; ++g) {
        if (n[g] == 0) {
          builder.UnsafeAppendNull();
          continue;
        }
        const double s = sums->type_id() == arrow::Type::INT64    ? static_cast<double>(itotal[g])
                         : sums->type_id() == arrow::Type::UINT64 ? static_cast<double>(utotal[g])
                                                                  : total[g];
        builder.UnsafeAppend(s / static_cast<double>(n[g]));
      }
      DRC_ARROW_ASSIGN_OR_RETURN(auto out, builder.Finish(), "DistGroupBy");
      return out;
    }
    case AggKind::kVar:
    case AggKind::kStd: {
      // Chan et al.: merging (n_a, mean_a, M2_a) with (n_b, mean_b, M2_b).
      const auto& counts = static_cast<const arrow::Int64Array&>(*col(f.a));
      const auto& means = static_cast<const arrow::DoubleArray&>(*col(f.b));
      const auto& vars = static_cast<const arrow::DoubleArray&>(*col(f.c));
      std::vector<int64_t> n(num_groups, 0);
      std::vector<double> mean(num_groups, 0.0), m2(num_groups, 0.0);
      for (int64_t i = 0; i < counts.length(); ++i) {
        if (counts.IsNull(i) || counts.Value(i) == 0 || means.IsNull(i) || vars.IsNull(i)) {
          continue;
        }
        const uint32_t g = groups[i];
        const auto nb = static_cast<double>(counts.Value(i));
        const double mb = means.Value(i), m2b = vars.Value(i) * nb;
        if (n[g] == 0) {
          n[g] = counts.Value(i);
          mean[g] = mb;
          m2[g] = m2b;
          continue;
        }
        const auto na = static_cast<double>(n[g]);
        const double nab = na + nb, delta = mb - mean[g];
        mean[g] += delta * nb / nab;
        m2[g] += m2b + delta * delta * na * nb / nab;
        n[g] += counts.Value(i);
      }
      arrow::DoubleBuilder builder(pool);
      DRC_ARROW_RETURN_NOT_OK(builder.Reserve(num_groups), "DistGroupBy");
      for (uint32_t g = 0; g < num_groups; ++g) {
        if (n[g] <= f.ddof) {
          builder.UnsafeAppendNull();
          continue;
        }
        const double var = std::max(0.0, m2[g]) / static_cast<double>(n[g] - f.ddof);
        builder.UnsafeAppend(f.kind == AggKind::kStd ? std::sqrt(var) : var);
      }
      DRC_ARROW_ASSIGN_OR_RETURN(auto out, builder.Finish(), "DistGroupBy");
      return out;
    }
    default:
      return Status::Internal("DistGroupBy: aggregate ", AggKindName(f.kind),
                              " is not decomposable");
  }
}

// Combines the shuffled partial rows of each group into the final aggregates. `reference` is the
// local GroupBy's output schema (names and types of the result).
Result<TablePtr> CombinePartials(const TablePtr& partial_in, size_t num_keys,
                                 const GroupByPlan& plan, const arrow::Schema& reference,
                                 const std::vector<std::string>& keys, arrow::MemoryPool* pool) {
  DRC_ARROW_ASSIGN_OR_RETURN(TablePtr partial, partial_in->CombineChunks(pool), "DistGroupBy");
  // A zero-row table may have no chunks: give each column one empty chunk.
  if (partial->num_rows() == 0) {
    DRC_ARROW_ASSIGN_OR_RETURN(partial, arrow::Table::MakeEmpty(partial->schema(), pool),
                               "DistGroupBy");
    std::vector<std::shared_ptr<arrow::ChunkedArray>> columns;
    for (const auto& f : partial->schema()->fields()) {
      DRC_ARROW_ASSIGN_OR_RETURN(auto empty, arrow::MakeEmptyArray(f->type(), pool), "DistGroupBy");
      columns.push_back(std::make_shared<arrow::ChunkedArray>(empty));
    }
    partial = arrow::Table::Make(partial->schema(), columns, 0);
  }
  cp::ExecContext exec_ctx(pool);
  // One integer-like key and partial states that simply add up (sums, counts) or compare (min,
  // max): combine them by a sorted group-by (fast_groupby.h), which leaves one row per group,
  // already in key order; the final step below then sees each group once.
  TablePtr combined;
  if (num_keys == 1 && partial->num_rows() > 0) {
    std::vector<internal::SortAgg> sort_aggs;
    bool simple = true;
    for (size_t j = 0; j < plan.partial.size() && simple; ++j) {
      const AggKind kind = plan.partial[j].kind;
      const AggKind combine = kind == AggKind::kMin || kind == AggKind::kMax ? kind : AggKind::kSum;
      simple = kind == AggKind::kSum || kind == AggKind::kCount || kind == AggKind::kCountAll ||
               kind == AggKind::kMin || kind == AggKind::kMax;
      const int column = static_cast<int>(num_keys + j);
      sort_aggs.push_back({combine, column, partial->field(column)->name()});
    }
    if (simple) {
      DRC_ASSIGN_OR_RETURN(combined, internal::SortGroupBy(partial, 0, sort_aggs, pool));
    }
  }
  std::vector<uint32_t> groups;
  uint32_t num_groups = 0;
  std::vector<std::shared_ptr<arrow::Array>> columns;
  if (combined != nullptr) {
    DRC_ARROW_ASSIGN_OR_RETURN(partial, combined->CombineChunks(pool), "DistGroupBy");
    num_groups = static_cast<uint32_t>(partial->num_rows());
    groups.resize(num_groups);
    std::iota(groups.begin(), groups.end(), uint32_t{0});
    columns.push_back(partial->column(0)->chunk(0));
  } else {
    std::vector<arrow::TypeHolder> key_types;
    std::vector<arrow::Datum> key_values;
    for (size_t k = 0; k < num_keys; ++k) {
      key_types.emplace_back(partial->schema()->field(static_cast<int>(k))->type());
      key_values.emplace_back(partial->column(static_cast<int>(k))->chunk(0));
    }
    DRC_ARROW_ASSIGN_OR_RETURN(auto grouper, cp::Grouper::Make(key_types, &exec_ctx),
                               "DistGroupBy");
    groups.resize(static_cast<size_t>(partial->num_rows()));
    if (partial->num_rows() > 0) {
      cp::ExecBatch batch(key_values, partial->num_rows());
      DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum ids, grouper->Consume(cp::ExecSpan(batch)),
                                 "DistGroupBy");
      const auto& id_array = *ids.array();
      const uint32_t* id_values = id_array.GetValues<uint32_t>(1);
      std::copy(id_values, id_values + id_array.length, groups.begin());
    }
    num_groups = grouper->num_groups();
    DRC_ARROW_ASSIGN_OR_RETURN(cp::ExecBatch uniques, grouper->GetUniques(), "DistGroupBy");
    for (size_t k = 0; k < num_keys; ++k) columns.push_back(uniques.values[k].make_array());
  }
  for (const auto& f : plan.finals) {
    DRC_ASSIGN_OR_RETURN(auto column, CombineOne(f, *partial, groups, num_groups, pool));
    const auto& want = reference.field(static_cast<int>(columns.size()))->type();
    if (!column->type()->Equals(*want)) {
      DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum cast,
                                 cp::Cast(column, want, cp::CastOptions::Safe(), &exec_ctx),
                                 "DistGroupBy");
      column = cast.make_array();
    }
    columns.push_back(std::move(column));
  }
  auto table = arrow::Table::Make(reference.RemoveMetadata(), columns, num_groups);
  if (combined != nullptr) return table;  // already in key order
  std::vector<SortKey> sort_keys;
  for (const auto& k : keys) sort_keys.push_back(SortKey{k});
  return Sort(table, sort_keys);
}

}  // namespace

// ---- Public operators ---------------------------------------------------------------------

Result<TablePtr> Shuffle(const Context& ctx, const TablePtr& table,
                         const std::vector<std::string>& key_columns) {
  Result<std::vector<int>> keys = std::vector<int>{};
  if (table != nullptr) keys = ColumnIndices(*table->schema(), key_columns, "Shuffle");
  DRC_RETURN_NOT_OK(CheckCollective(ctx, "Shuffle", {&table}, {"table"},
                                    keys.ok() ? Status::OK() : keys.status()));
  return ShuffleChecked(ctx, table, *keys, "Shuffle");
}

Result<TablePtr> DistJoin(const Context& ctx, const TablePtr& left, const TablePtr& right,
                          const JoinOptions& options) {
  Status local;
  if (left != nullptr && right != nullptr) {
    local = LocalStatus(Join(Empty(left), Empty(right), options));
  }
  DRC_RETURN_NOT_OK(CheckCollective(ctx, "DistJoin", {&left, &right}, {"left", "right"}, local));
  if (ctx.world_size() == 1) return Join(left, right, options);
  DRC_ASSIGN_OR_RETURN(auto lkeys, ColumnIndices(*left->schema(), options.left_keys, "DistJoin"));
  DRC_ASSIGN_OR_RETURN(auto rkeys, ColumnIndices(*right->schema(), options.right_keys, "DistJoin"));
  DRC_ASSIGN_OR_RETURN(TablePtr l, ShuffleChecked(ctx, left, lkeys, "DistJoin"));
  DRC_ASSIGN_OR_RETURN(TablePtr r, ShuffleChecked(ctx, right, rkeys, "DistJoin"));
  return Join(l, r, options);
}

Result<TablePtr> BroadcastJoin(const Context& ctx, const TablePtr& left, const TablePtr& right,
                               const JoinOptions& options) {
  Status local;
  if (options.type == JoinType::kRight || options.type == JoinType::kFullOuter) {
    local = Status::InvalidArgument(
        "a right or full outer join cannot broadcast its right side (its unmatched rows would "
        "come out on every rank): use DistJoin");
  } else if (left != nullptr && right != nullptr) {
    local = LocalStatus(Join(Empty(left), Empty(right), options));
  }
  DRC_RETURN_NOT_OK(
      CheckCollective(ctx, "BroadcastJoin", {&left, &right}, {"left", "right"}, local));
  DRC_ASSIGN_OR_RETURN(TablePtr whole_right, AllGather(ctx, right));
  return Join(left, whole_right, options);
}

Result<TablePtr> DistGroupBy(const Context& ctx, const TablePtr& table,
                             const std::vector<std::string>& keys,
                             const std::vector<Aggregation>& aggs) {
  Result<TablePtr> reference = Status::Internal("unset");
  if (table != nullptr) reference = GroupBy(Empty(table), keys, aggs);
  DRC_RETURN_NOT_OK(
      CheckCollective(ctx, "DistGroupBy", {&table}, {"table"}, LocalStatus(reference)));
  if (ctx.world_size() == 1) return GroupBy(table, keys, aggs);
  DRC_ASSIGN_OR_RETURN(auto key_indices, ColumnIndices(*table->schema(), keys, "DistGroupBy"));

  // Pre-aggregation when every aggregate is decomposable and its partial state has a type the
  // combine step handles; otherwise rows are shuffled by key and grouped locally. The choice
  // depends on the schema only, so every rank makes the same one.
  bool decomposable =
      !keys.empty() && (*reference)->num_columns() == static_cast<int>(keys.size() + aggs.size());
  for (const auto& a : aggs) decomposable = decomposable && Decomposable(a.kind);
  GroupByPlan plan;
  TablePtr with_order;
  if (decomposable) {
    plan = PlanGroupBy(keys.size(), aggs);
    DRC_ASSIGN_OR_RETURN(with_order, AddOrderColumns(ctx, Empty(table), plan.order_columns));
    auto probe = GroupBy(with_order, keys, plan.partial);
    decomposable = probe.ok() && CombineSupported(plan, *(*probe)->schema());
  }
  if (decomposable) {
    // Pre-aggregation pays only when it shrinks the data: when the ranks' local groups add up
    // to more than half their rows (Presto's partial-aggregation threshold), the raw rows are
    // shuffled instead (partial states are wider than rows and the combine is a second
    // group-by). The counts are summed over the ranks, so every rank takes the same path.
    const auto rows = table->num_rows();
    const std::optional<double> groups = DistinctKeysEstimate(table, key_indices);
    int64_t counts[2] = {
        groups ? std::min<int64_t>(rows, static_cast<int64_t>(std::llround(*groups))) : rows, rows};
    DRC_RETURN_NOT_OK(
        ctx.comm()
            ->AllReduce(counts, counts, 2, comm::DataType::kInt64, comm::ReduceOp::kSum)
            .WithContext("DistGroupBy: counting groups"));
    decomposable = 2 * counts[0] <= counts[1];
  }
  if (!decomposable) {
    DRC_ASSIGN_OR_RETURN(TablePtr rows, ShuffleChecked(ctx, table, key_indices, "DistGroupBy"));
    return GroupBy(rows, keys, aggs);
  }
  DRC_ASSIGN_OR_RETURN(with_order, AddOrderColumns(ctx, table, plan.order_columns));
  DRC_ASSIGN_OR_RETURN(TablePtr partial, GroupBy(with_order, keys, plan.partial));
  std::vector<int> partial_keys(keys.size());
  for (size_t k = 0; k < keys.size(); ++k) partial_keys[k] = static_cast<int>(k);
  DRC_ASSIGN_OR_RETURN(TablePtr shuffled,
                       ShuffleChecked(ctx, partial, partial_keys, "DistGroupBy"));
  return CombinePartials(shuffled, keys.size(), plan, *(*reference)->schema(), keys, ctx.pool());
}

Result<TablePtr> DistUnique(const Context& ctx, const TablePtr& table,
                            const std::vector<std::string>& columns) {
  Status local;
  if (table != nullptr) local = LocalStatus(Unique(Empty(table), columns));
  DRC_RETURN_NOT_OK(CheckCollective(ctx, "DistUnique", {&table}, {"table"}, local));
  if (ctx.world_size() == 1) return Unique(table, columns);
  std::vector<int> keys = AllColumns(*table->schema());
  if (!columns.empty()) {
    DRC_ASSIGN_OR_RETURN(keys, ColumnIndices(*table->schema(), columns, "DistUnique"));
  }
  DRC_ASSIGN_OR_RETURN(TablePtr rows, ShuffleChecked(ctx, table, keys, "DistUnique"));
  return Unique(rows, columns);
}

namespace {

using SetOp = Result<TablePtr> (*)(const TablePtr&, const TablePtr&);

Result<TablePtr> DistSetOp(const Context& ctx, const TablePtr& a, const TablePtr& b, SetOp op,
                           const char* name) {
  Status local;
  if (a != nullptr && b != nullptr) local = LocalStatus(op(Empty(a), Empty(b)));
  DRC_RETURN_NOT_OK(CheckCollective(ctx, name, {&a, &b}, {"a", "b"}, local));
  if (ctx.world_size() == 1) return op(a, b);
  const std::vector<int> keys = AllColumns(*a->schema());
  DRC_ASSIGN_OR_RETURN(TablePtr sa, ShuffleChecked(ctx, a, keys, name));
  DRC_ASSIGN_OR_RETURN(TablePtr sb, ShuffleChecked(ctx, b, AllColumns(*b->schema()), name));
  return op(sa, sb);
}

}  // namespace

Result<TablePtr> DistUnion(const Context& ctx, const TablePtr& a, const TablePtr& b) {
  return DistSetOp(ctx, a, b, &Union, "DistUnion");
}
Result<TablePtr> DistIntersect(const Context& ctx, const TablePtr& a, const TablePtr& b) {
  return DistSetOp(ctx, a, b, &Intersect, "DistIntersect");
}
Result<TablePtr> DistDifference(const Context& ctx, const TablePtr& a, const TablePtr& b) {
  return DistSetOp(ctx, a, b, &Difference, "DistDifference");
}

namespace {

// Serialized `table` for a gather (empty on `skip`: that rank keeps its own table).
Result<std::shared_ptr<arrow::Buffer>> BytesFor(const Context& ctx, const TablePtr& table,
                                                bool skip) {
  if (skip) return std::make_shared<arrow::Buffer>(nullptr, 0);
  return SerializeTable(*table, ctx.pool());
}

Result<TablePtr> AssembleGathered(const Context& ctx, const TablePtr& mine,
                                  const std::shared_ptr<arrow::Buffer>& recv,
                                  const std::vector<int64_t>& sizes, const char* op) {
  const std::vector<int64_t> displs = comm::Displacements(sizes);
  std::vector<TablePtr> parts(sizes.size());
  for (size_t r = 0; r < sizes.size(); ++r) {
    if (static_cast<int>(r) == ctx.rank()) {
      parts[r] = mine;
      continue;
    }
    auto part = DeserializeTable(arrow::SliceBuffer(recv, displs[r], sizes[r]));
    if (!part.ok()) return part.status().WithContext(Status::Concat(op, ": from rank ", r));
    parts[r] = std::move(part).ValueOrDie();
  }
  return ConcatParts(parts, ctx.pool(), op);
}

}  // namespace

Result<TablePtr> Gather(const Context& ctx, const TablePtr& table, int root) {
  Status local;
  if (root < 0 || root >= ctx.world_size()) {
    local = Status::InvalidArgument("root ", root, " is not a rank of ", ctx.world_size());
  }
  DRC_RETURN_NOT_OK(CheckCollective(ctx, "Gather", {&table}, {"table"}, local));
  if (ctx.world_size() == 1) return table;
  const bool is_root = ctx.rank() == root;
  DRC_ASSIGN_OR_RETURN(auto bytes, BytesFor(ctx, table, is_root));
  const int64_t mine = bytes->size();
  std::vector<int64_t> sizes(is_root ? ctx.world_size() : 0);
  DRC_RETURN_NOT_OK(ctx.comm()->Gather(&mine, sizeof(mine), sizes.data(), root));
  std::shared_ptr<arrow::Buffer> recv;
  if (is_root) {
    int64_t total = 0;
    for (int64_t s : sizes) total += s;
    DRC_ASSIGN_OR_RETURN(recv, AllocateShared(total, ctx.pool(), "allocating a receive buffer"));
  }
  DRC_RETURN_NOT_OK(ctx.comm()->GatherV(bytes->data(), mine,
                                        is_root ? recv->mutable_data() : nullptr, sizes, root));
  if (!is_root) return Empty(table);
  return AssembleGathered(ctx, table, recv, sizes, "Gather");
}

Result<TablePtr> AllGather(const Context& ctx, const TablePtr& table) {
  DRC_RETURN_NOT_OK(CheckCollective(ctx, "AllGather", {&table}, {"table"}, Status::OK()));
  if (ctx.world_size() == 1) return table;
  DRC_ASSIGN_OR_RETURN(auto bytes, SerializeTable(*table, ctx.pool()));
  // Every rank's own block travels too (AllGatherV has no hole), but is not deserialized.
  DRC_ASSIGN_OR_RETURN(std::vector<int64_t> sizes,
                       comm::AllGatherValue<int64_t>(*ctx.comm(), bytes->size()));
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  DRC_ASSIGN_OR_RETURN(auto recv, AllocateShared(total, ctx.pool(), "allocating a receive buffer"));
  DRC_RETURN_NOT_OK(
      ctx.comm()->AllGatherV(bytes->data(), bytes->size(), recv->mutable_data(), sizes));
  return AssembleGathered(ctx, table, recv, sizes, "AllGather");
}

Result<TablePtr> Broadcast(const Context& ctx, const TablePtr& table, int root) {
  if (root < 0 || root >= ctx.world_size()) {
    return Status::InvalidArgument("Broadcast: root ", root, " is not a rank of ",
                                   ctx.world_size());
  }
  if (ctx.world_size() == 1) {
    if (table == nullptr) return Status::InvalidArgument("Broadcast: the root's table is null");
    return table;
  }
  // The root sends the size first; -1 tells everyone that the root has no table.
  std::shared_ptr<arrow::Buffer> bytes;
  int64_t size = -1;
  Status root_error;
  if (ctx.rank() == root) {
    if (table == nullptr) {
      root_error = Status::InvalidArgument("Broadcast: the root's table is null");
    } else {
      auto serialized = SerializeTable(*table, ctx.pool());
      if (serialized.ok()) {
        bytes = *serialized;
        size = bytes->size();
      } else {
        root_error = serialized.status();
      }
    }
  }
  DRC_RETURN_NOT_OK(ctx.comm()->Broadcast(&size, sizeof(size), root));
  if (size < 0) {
    if (!root_error.ok()) return root_error;
    return Status::InvalidArgument("Broadcast: rank ", root, " (the root) has no table");
  }
  if (ctx.rank() == root) {
    DRC_RETURN_NOT_OK(ctx.comm()->Broadcast(bytes->mutable_data(), size, root));
    return table;
  }
  DRC_ASSIGN_OR_RETURN(auto recv, AllocateShared(size, ctx.pool(), "allocating a receive buffer"));
  DRC_RETURN_NOT_OK(ctx.comm()->Broadcast(recv->mutable_data(), size, root));
  auto out = DeserializeTable(recv);
  if (!out.ok()) return out.status().WithContext("Broadcast");
  return out;
}

Result<TablePtr> Rebalance(const Context& ctx, const TablePtr& table) {
  DRC_RETURN_NOT_OK(CheckCollective(ctx, "Rebalance", {&table}, {"table"}, Status::OK()));
  const int size = ctx.world_size();
  if (size == 1) return table;
  DRC_ASSIGN_OR_RETURN(std::vector<int64_t> counts,
                       comm::AllGatherValue<int64_t>(*ctx.comm(), table->num_rows()));
  int64_t total = 0, my_begin = 0;
  for (int r = 0; r < size; ++r) {
    if (r < ctx.rank()) my_begin += counts[r];
    total += counts[r];
  }
  const int64_t my_end = my_begin + table->num_rows();
  const int64_t base = total / size, extra = total % size;
  std::vector<TablePtr> parts(size);
  for (int r = 0; r < size; ++r) {
    // Rank r's target range of global rows.
    const int64_t begin = r * base + std::min<int64_t>(r, extra);
    const int64_t end = begin + base + (r < extra ? 1 : 0);
    const int64_t lo = std::max(begin, my_begin), hi = std::min(end, my_end);
    parts[r] = hi > lo ? table->Slice(lo - my_begin, hi - lo) : Empty(table);
  }
  auto received = AllToAllTables(ctx, parts);
  if (!received.ok()) return received.status().WithContext("Rebalance");
  return ConcatParts(*received, ctx.pool(), "Rebalance");
}

namespace {

// Rank of each group of `counts` (rows per group, in key order) for RangePartition: by where
// the group starts in the rows, never back, at most one rank ahead, and leaving a group for each
// later rank while groups last.
std::vector<int> GroupRanks(const arrow::Int64Array& counts, int size) {
  const int64_t groups = counts.length();
  int64_t total = 0;
  for (int64_t k = 0; k < groups; ++k) total += counts.Value(k);
  std::vector<int> rank(static_cast<size_t>(groups));
  int64_t before = 0;
  for (int64_t k = 0; k < groups; ++k) {
    int64_t r = total > 0 ? before * size / total : 0;
    if (k > 0) r = std::clamp<int64_t>(r, rank[k - 1], rank[k - 1] + 1);
    r = std::min<int64_t>(std::max<int64_t>(r, size - (groups - k)), size - 1);
    rank[k] = static_cast<int>(std::max<int64_t>(r, 0));
    before += counts.Value(k);
  }
  return rank;
}

}  // namespace

Result<TablePtr> RangePartition(const Context& ctx, const TablePtr& table, const std::string& key) {
  Status local;
  if (table != nullptr) {
    const auto column = table->GetColumnByName(key);
    if (column == nullptr) {
      local = Status::InvalidArgument("no column '", key, "'");
    } else if (column->null_count() > 0) {
      local = Status::InvalidArgument("column '", key, "' has ", column->null_count(),
                                      " null(s); each row needs a key");
    }
  }
  DRC_RETURN_NOT_OK(CheckCollective(ctx, "RangePartition", {&table}, {"table"}, local));
  auto sorted = Sort(table, {{key}});
  const int size = ctx.world_size();
  if (size == 1) return sorted;
  // Rows per key, here and over all ranks (a key split across ranks is summed), in key order:
  // the same order as `sorted`'s rows.
  const std::string rows = "__drc_rows";
  Result<TablePtr> mine = sorted.status();
  if (sorted.ok()) mine = GroupBy(*sorted, {key}, {{AggKind::kCountAll, "", rows}});
  DRC_RETURN_NOT_OK(AgreeOnStatus(ctx, mine.status()).WithContext("RangePartition"));
  DRC_ASSIGN_OR_RETURN(TablePtr every, AllGather(ctx, *mine));
  DRC_ASSIGN_OR_RETURN(TablePtr all, GroupBy(every, {key}, {{AggKind::kSum, rows, rows}}));
  // This rank's groups, in the same order: each one's rows go to its group's rank, so the rows
  // for each rank are one slice of `sorted`. Local work: agreed on before the rows move.
  std::vector<int64_t> to(size, 0);
  const Status counted = [&]() -> Status {
    auto flat = [&](const TablePtr& t, const std::string& name) {
      const auto column = t->GetColumnByName(name);
      return column->num_chunks() == 0 ? arrow::MakeEmptyArray(column->type())
                                       : arrow::Concatenate(column->chunks());
    };
    DRC_ARROW_ASSIGN_OR_RETURN(auto all_keys, flat(all, key), "RangePartition");
    DRC_ARROW_ASSIGN_OR_RETURN(auto all_rows, flat(all, rows), "RangePartition");
    DRC_ARROW_ASSIGN_OR_RETURN(auto my_keys, flat(*mine, key), "RangePartition");
    DRC_ARROW_ASSIGN_OR_RETURN(auto my_rows, flat(*mine, rows), "RangePartition");
    const std::vector<int> rank_of =
        GroupRanks(static_cast<const arrow::Int64Array&>(*all_rows), size);
    const auto& my_counts = static_cast<const arrow::Int64Array&>(*my_rows);
    int64_t g = 0;
    for (int64_t j = 0; j < my_keys->length(); ++j) {
      DRC_ARROW_ASSIGN_OR_RETURN(auto value, my_keys->GetScalar(j), "RangePartition");
      for (;; ++g) {
        if (g == all_keys->length()) {
          return Status::Internal("RangePartition: key ", value->ToString(),
                                  " is missing from the gathered keys");
        }
        DRC_ARROW_ASSIGN_OR_RETURN(auto other, all_keys->GetScalar(g), "RangePartition");
        if (other->Equals(*value)) break;
      }
      to[rank_of[g]] += my_counts.Value(j);
    }
    return Status::OK();
  }();
  DRC_RETURN_NOT_OK(AgreeOnStatus(ctx, counted));
  std::vector<TablePtr> parts(size);
  int64_t offset = 0;
  for (int r = 0; r < size; ++r) {
    parts[r] = (*sorted)->Slice(offset, to[r]);
    offset += to[r];
  }
  auto received = AllToAllTables(ctx, parts);
  if (!received.ok()) return received.status().WithContext("RangePartition");
  DRC_ASSIGN_OR_RETURN(TablePtr out, ConcatParts(*received, ctx.pool(), "RangePartition"));
  return Sort(out, {{key}});
}

}  // namespace drc::data
