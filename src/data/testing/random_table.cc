#include "src/data/testing/random_table.h"

#include <arrow/api.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

namespace drc::data::testing {
namespace {

__extension__ typedef unsigned __int128 Uint128;

// splitmix64: tiny, fast, and the same everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) for n > 0 (multiply-high; no modulo bias worth the name).
  int64_t Below(int64_t n) {
    return static_cast<int64_t>((static_cast<Uint128>(Next()) * static_cast<uint64_t>(n)) >> 64);
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return p > 0 && Unit() < p; }

 private:
  uint64_t state_;
};

constexpr std::array<const char*, 8> kWords = {"alpha", "beta",    "gamma",     "delta",
                                               "",      "épsilon", "zeta zeta", "eta"};

void Check(const arrow::Status& status) {
  if (!status.ok()) {
    // Test helper: a failure here is a bug in the generator, not in the caller's input.
    std::fprintf(stderr, "RandomTable: %s\n", status.ToString().c_str());
    std::abort();
  }
}

template <typename T>
T CheckResult(arrow::Result<T> result) {
  Check(result.status());
  return std::move(result).ValueOrDie();
}

std::shared_ptr<arrow::DataType> TypeOf(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kInt64: return arrow::int64();
    case ColumnKind::kFloat64: return arrow::float64();
    case ColumnKind::kString: return arrow::utf8();
    case ColumnKind::kBool: return arrow::boolean();
    case ColumnKind::kDate32: return arrow::date32();
    case ColumnKind::kListInt64: return arrow::list(arrow::int64());
  }
  return arrow::null();
}

std::shared_ptr<arrow::Array> MakeChunk(const ColumnSpec& spec, int64_t rows, Rng& rng) {
  const double p = spec.null_fraction;
  switch (spec.kind) {
    case ColumnKind::kInt64: {
      const int64_t range = spec.range > 0 ? spec.range : 100;
      arrow::Int64Builder b;
      Check(b.Reserve(rows));
      for (int64_t i = 0; i < rows; ++i) {
        if (rng.Chance(p)) {
          b.UnsafeAppendNull();
        } else {
          b.UnsafeAppend(rng.Below(range));
        }
      }
      return CheckResult(b.Finish());
    }
    case ColumnKind::kFloat64: {
      arrow::DoubleBuilder b;
      Check(b.Reserve(rows));
      for (int64_t i = 0; i < rows; ++i) {
        if (rng.Chance(p)) {
          b.UnsafeAppendNull();
        } else {
          b.UnsafeAppend(spec.range > 0 ? 0.5 * static_cast<double>(rng.Below(spec.range))
                                        : rng.Unit());
        }
      }
      return CheckResult(b.Finish());
    }
    case ColumnKind::kString: {
      const int64_t range =
          std::min<int64_t>(spec.range > 0 ? spec.range : kWords.size(), kWords.size());
      arrow::StringBuilder b;
      Check(b.Reserve(rows));
      for (int64_t i = 0; i < rows; ++i) {
        if (rng.Chance(p)) {
          Check(b.AppendNull());
        } else {
          Check(b.Append(kWords[static_cast<size_t>(rng.Below(range))]));
        }
      }
      return CheckResult(b.Finish());
    }
    case ColumnKind::kBool: {
      arrow::BooleanBuilder b;
      Check(b.Reserve(rows));
      for (int64_t i = 0; i < rows; ++i) {
        if (rng.Chance(p)) {
          b.UnsafeAppendNull();
        } else {
          b.UnsafeAppend((rng.Next() & 1) != 0);
        }
      }
      return CheckResult(b.Finish());
    }
    case ColumnKind::kDate32: {
      const int64_t range = spec.range > 0 ? spec.range : 365;
      arrow::Date32Builder b;
      Check(b.Reserve(rows));
      for (int64_t i = 0; i < rows; ++i) {
        if (rng.Chance(p)) {
          b.UnsafeAppendNull();
        } else {
          b.UnsafeAppend(static_cast<int32_t>(18000 + rng.Below(range)));
        }
      }
      return CheckResult(b.Finish());
    }
    case ColumnKind::kListInt64: {
      const int64_t range = spec.range > 0 ? spec.range : 10;
      auto values = std::make_shared<arrow::Int64Builder>();
      arrow::ListBuilder b(arrow::default_memory_pool(), values);
      for (int64_t i = 0; i < rows; ++i) {
        if (rng.Chance(p)) {
          Check(b.AppendNull());
          continue;
        }
        Check(b.Append());
        const int64_t length = rng.Below(spec.max_list_length + 1);
        for (int64_t j = 0; j < length; ++j) {
          if (rng.Chance(p)) {
            Check(values->AppendNull());
          } else {
            Check(values->Append(rng.Below(range)));
          }
        }
      }
      return CheckResult(b.Finish());
    }
  }
  return nullptr;
}

// A canonical text for each row: column values separated by '\x1f'; strings quoted, nulls
// marked, NaN printed one way.
std::vector<std::string> RowTexts(const arrow::Table& table) {
  std::vector<std::string> rows(static_cast<size_t>(table.num_rows()));
  for (int c = 0; c < table.num_columns(); ++c) {
    const auto& column = *table.column(c);
    const bool quote = column.type()->id() == arrow::Type::STRING ||
                       column.type()->id() == arrow::Type::LARGE_STRING;
    for (int64_t r = 0; r < table.num_rows(); ++r) {
      auto scalar = CheckResult(column.GetScalar(r));
      std::string text;
      if (!scalar->is_valid) {
        text = "<null>";
      } else if (quote) {
        text = "\"" + scalar->ToString() + "\"";
      } else if (scalar->type->id() == arrow::Type::DOUBLE &&
                 std::isnan(static_cast<const arrow::DoubleScalar&>(*scalar).value)) {
        text = "NaN";
      } else {
        text = scalar->ToString();
      }
      std::string& row = rows[static_cast<size_t>(r)];
      if (c > 0) row += '\x1f';
      row += text;
    }
  }
  return rows;
}

std::string Printable(std::string row) {
  std::replace(row.begin(), row.end(), '\x1f', '|');
  return row;
}

}  // namespace

TablePtr RandomTable(const RandomTableSpec& spec, uint64_t seed) {
  arrow::FieldVector fields;
  arrow::ChunkedArrayVector columns;
  const int64_t chunk_rows =
      spec.chunk_rows > 0 ? spec.chunk_rows : std::max<int64_t>(spec.rows, 1);
  for (size_t c = 0; c < spec.columns.size(); ++c) {
    const ColumnSpec& column = spec.columns[c];
    Rng rng(seed * 0x9E3779B97F4A7C15ull + c * 0xD1B54A32D192ED03ull + 1);
    arrow::ArrayVector chunks;
    for (int64_t start = 0; start < spec.rows; start += chunk_rows) {
      chunks.push_back(MakeChunk(column, std::min(chunk_rows, spec.rows - start), rng));
    }
    auto type = TypeOf(column.kind);
    fields.push_back(arrow::field(column.name, type));
    columns.push_back(std::make_shared<arrow::ChunkedArray>(std::move(chunks), type));
  }
  return arrow::Table::Make(arrow::schema(fields), columns, spec.rows);
}

bool SameRows(const TablePtr& a, const TablePtr& b, std::string* diff) {
  auto fail = [&](const std::string& why) {
    if (diff != nullptr) *diff = why;
    return false;
  };
  if (a == nullptr || b == nullptr) return fail("a table is null");
  if (!a->schema()->Equals(*b->schema(), /*check_metadata=*/false)) {
    return fail("schemas differ:\n" + a->schema()->ToString() + "\nvs\n" + b->schema()->ToString());
  }
  std::vector<std::string> ra = RowTexts(*a);
  std::vector<std::string> rb = RowTexts(*b);
  std::sort(ra.begin(), ra.end());
  std::sort(rb.begin(), rb.end());
  if (ra == rb) return true;
  std::vector<std::string> only_a;
  std::vector<std::string> only_b;
  std::set_difference(ra.begin(), ra.end(), rb.begin(), rb.end(), std::back_inserter(only_a));
  std::set_difference(rb.begin(), rb.end(), ra.begin(), ra.end(), std::back_inserter(only_b));
  std::ostringstream out;
  out << "rows differ: " << ra.size() << " vs " << rb.size() << " rows; " << only_a.size()
      << " only in a, " << only_b.size() << " only in b";
  for (size_t i = 0; i < std::min<size_t>(only_a.size(), 3); ++i) {
    out << "\n  only in a: " << Printable(only_a[i]);
  }
  for (size_t i = 0; i < std::min<size_t>(only_b.size(), 3); ++i) {
    out << "\n  only in b: " << Printable(only_b[i]);
  }
  return fail(out.str());
}

std::vector<std::string> ColumnTexts(const arrow::Table& table, const std::string& column) {
  const auto c = table.GetColumnByName(column);
  if (c == nullptr) return {"no column " + column};
  std::vector<std::string> out;
  for (int64_t i = 0; i < c->length(); ++i) {
    auto v = c->GetScalar(i);
    out.push_back(!v.ok() ? v.status().ToString() : (*v)->is_valid ? (*v)->ToString() : "null");
  }
  return out;
}

}  // namespace drc::data::testing
