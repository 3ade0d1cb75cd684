// Local table operators. Arrow does the work wherever it can: compute kernels for filter,
// take, sort, cast, coalesce and null handling; Acero for hash joins and hash aggregation.
// Our own code: argument checking with clear messages, exact quantiles (Acero has only
// approximate ones), row identity for nested columns (a binary encoding used as a surrogate
// key, since Acero cannot hash lists or structs), and joins that carry nested payload columns
// (join on keys + row numbers, then Take).
#include "drc/data/ops.h"

#include <arrow/acero/api.h>
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <set>
#include <unordered_set>

#include "drc/data/io.h"
#include "src/data/arrow_status.h"
#include "src/data/fast_groupby.h"
#include "src/data/fast_join.h"
#include "src/data/fast_sort.h"

namespace drc::data {
namespace {

namespace ac = arrow::acero;

constexpr char kLeftRow[] = "__drc_left_row";
constexpr char kRightRow[] = "__drc_right_row";
constexpr char kRow[] = "__drc_row";
constexpr char kTag[] = "__drc_tag";

// "a: int64, b: string" (one line, unlike Schema::ToString).
std::string SchemaLine(const arrow::Schema& schema) {
  if (schema.num_fields() == 0) return "no columns";
  std::string out;
  for (const auto& field : schema.fields()) {
    if (!out.empty()) out += ", ";
    out += field->name() + ": " + field->type()->ToString();
  }
  return out;
}

std::string ColumnList(const arrow::Schema& schema) {
  if (schema.num_fields() == 0) return "no columns";
  std::string out;
  for (const auto& field : schema.fields()) {
    if (!out.empty()) out += ", ";
    out += field->name();
  }
  return out;
}

Status CheckTable(const TablePtr& table, std::string_view op, std::string_view what = "table") {
  if (table == nullptr) return Status::InvalidArgument(op, ": ", what, " is null");
  return Status::OK();
}

// Index of column `name`, or InvalidArgument naming it and the table's columns.
Result<int> ColumnIndex(const arrow::Schema& schema, const std::string& name, std::string_view op,
                        std::string_view side = "") {
  std::vector<int> indices = schema.GetAllFieldIndices(name);
  std::string table = side.empty() ? "table" : std::string(side) + " table";
  if (indices.empty()) {
    return Status::InvalidArgument(op, ": unknown ", side, side.empty() ? "" : " ", "column '",
                                   name, "' (", table, " has ", ColumnList(schema), ")");
  }
  if (indices.size() > 1) {
    return Status::InvalidArgument(op, ": column name '", name, "' is ambiguous (", table,
                                   " has it ", indices.size(), " times)");
  }
  return indices[0];
}

Result<std::vector<int>> ColumnIndices(const arrow::Schema& schema,
                                       const std::vector<std::string>& names, std::string_view op) {
  std::vector<int> out;
  out.reserve(names.size());
  for (const auto& name : names) {
    DRC_ASSIGN_OR_RETURN(int index, ColumnIndex(schema, name, op));
    out.push_back(index);
  }
  return out;
}

// Every column an expression refers to by name must exist (Arrow's own message on Bind is
// less direct).
Status CheckExpressionColumns(const arrow::Schema& schema, const cp::Expression& expr,
                              std::string_view op) {
  for (const auto& ref : cp::FieldsInExpression(expr)) {
    if (const std::string* name = ref.name()) {
      DRC_RETURN_NOT_OK(ColumnIndex(schema, *name, op).status());
    }
  }
  return Status::OK();
}

// The table as exec batches (one per aligned chunk). A table with rows but no columns is one
// batch of that length.
Result<std::vector<cp::ExecBatch>> Batches(const arrow::Table& table) {
  std::vector<cp::ExecBatch> out;
  if (table.num_columns() == 0) {
    if (table.num_rows() > 0) out.emplace_back(std::vector<arrow::Datum>{}, table.num_rows());
    return out;
  }
  arrow::TableBatchReader reader(table);
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    DRC_ARROW_RETURN_NOT_OK(reader.ReadNext(&batch), "reading table batches");
    if (batch == nullptr) break;
    out.emplace_back(*batch);
  }
  return out;
}

// Evaluates a bound expression on a batch; scalars are broadcast to the batch length.
Result<std::shared_ptr<arrow::Array>> Evaluate(const cp::Expression& bound,
                                               const cp::ExecBatch& batch, std::string_view op) {
  DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum datum, cp::ExecuteScalarExpression(bound, batch), op);
  if (datum.is_scalar()) {
    DRC_ARROW_ASSIGN_OR_RETURN(auto array,
                               arrow::MakeArrayFromScalar(*datum.scalar(), batch.length), op);
    return array;
  }
  if (datum.is_array()) return datum.make_array();
  return Status::Internal(op, ": expression returned ", datum.ToString());
}

Result<std::shared_ptr<arrow::Array>> RowNumbers(int64_t n) {
  DRC_ARROW_ASSIGN_OR_RETURN(std::shared_ptr<arrow::Buffer> buffer,
                             arrow::AllocateBuffer(n * static_cast<int64_t>(sizeof(int64_t))),
                             "allocating row numbers");
  auto* values = reinterpret_cast<int64_t*>(buffer->mutable_data());
  std::iota(values, values + n, int64_t{0});
  return std::make_shared<arrow::Int64Array>(n, std::move(buffer));
}

Result<TablePtr> Take(const TablePtr& table, const arrow::Datum& indices, std::string_view op) {
  DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum out, cp::Take(arrow::Datum(table), indices), op);
  return out.table();
}

Result<TablePtr> RunPlan(ac::Declaration plan, bool use_threads, std::string_view op) {
  DRC_ARROW_ASSIGN_OR_RETURN(TablePtr out, ac::DeclarationToTable(std::move(plan), use_threads),
                             op);
  return out;
}

ac::Declaration Source(const TablePtr& table) {
  return ac::Declaration("table_source", ac::TableSourceNodeOptions(table));
}

// Types Acero can hash as keys and carry as join payload.
bool AceroHashable(const arrow::DataType& type) {
  const arrow::Type::type id = type.id();
  if (id == arrow::Type::DICTIONARY) return false;
  return arrow::is_fixed_width(id) || arrow::is_binary_like(id) ||
         arrow::is_large_binary_like(id) || id == arrow::Type::NA;
}

// A chunked array as one array (zero chunks: an empty array).
Result<std::shared_ptr<arrow::Array>> OneChunk(const arrow::ChunkedArray& column) {
  if (column.num_chunks() == 1) return column.chunk(0);
  if (column.num_chunks() == 0) {
    DRC_ARROW_ASSIGN_OR_RETURN(auto empty, arrow::MakeEmptyArray(column.type()),
                               "combining chunks");
    return empty;
  }
  DRC_ARROW_ASSIGN_OR_RETURN(auto array, arrow::Concatenate(column.chunks()), "combining chunks");
  return array;
}

// ---- Row identity for types Acero cannot hash: a binary encoding of each value. ----------

void AppendBytes(std::string* out, const void* data, size_t size) {
  out->append(static_cast<const char*>(data), size);
}

void AppendLength(std::string* out, int64_t n) { AppendBytes(out, &n, sizeof(n)); }

// Appends an injective encoding of `array[i]` (nulls included) to `out`.
Status EncodeValue(const arrow::Array& array, int64_t i, std::string* out) {
  if (array.IsNull(i)) {
    out->push_back('\0');
    return Status::OK();
  }
  out->push_back('\1');
  const arrow::Type::type id = array.type_id();
  switch (id) {
    case arrow::Type::NA: return Status::OK();
    case arrow::Type::BOOL:
      out->push_back(static_cast<const arrow::BooleanArray&>(array).Value(i) ? '\1' : '\0');
      return Status::OK();
    case arrow::Type::STRING:
    case arrow::Type::BINARY: {
      auto view = static_cast<const arrow::BinaryArray&>(array).GetView(i);
      AppendLength(out, static_cast<int64_t>(view.size()));
      AppendBytes(out, view.data(), view.size());
      return Status::OK();
    }
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY: {
      auto view = static_cast<const arrow::LargeBinaryArray&>(array).GetView(i);
      AppendLength(out, static_cast<int64_t>(view.size()));
      AppendBytes(out, view.data(), view.size());
      return Status::OK();
    }
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY_VIEW: {
      auto view = static_cast<const arrow::BinaryViewArray&>(array).GetView(i);
      AppendLength(out, static_cast<int64_t>(view.size()));
      AppendBytes(out, view.data(), view.size());
      return Status::OK();
    }
    case arrow::Type::LIST:
    case arrow::Type::MAP: {
      const auto& list = static_cast<const arrow::ListArray&>(array);
      AppendLength(out, list.value_length(i));
      for (int64_t j = 0; j < list.value_length(i); ++j) {
        DRC_RETURN_NOT_OK(EncodeValue(*list.values(), list.value_offset(i) + j, out));
      }
      return Status::OK();
    }
    case arrow::Type::LARGE_LIST: {
      const auto& list = static_cast<const arrow::LargeListArray&>(array);
      AppendLength(out, list.value_length(i));
      for (int64_t j = 0; j < list.value_length(i); ++j) {
        DRC_RETURN_NOT_OK(EncodeValue(*list.values(), list.value_offset(i) + j, out));
      }
      return Status::OK();
    }
    case arrow::Type::FIXED_SIZE_LIST: {
      const auto& list = static_cast<const arrow::FixedSizeListArray&>(array);
      for (int64_t j = 0; j < list.value_length(); ++j) {
        DRC_RETURN_NOT_OK(EncodeValue(*list.values(), list.value_offset(i) + j, out));
      }
      return Status::OK();
    }
    case arrow::Type::STRUCT: {
      const auto& st = static_cast<const arrow::StructArray&>(array);
      for (int f = 0; f < st.num_fields(); ++f) {
        DRC_RETURN_NOT_OK(EncodeValue(*st.field(f), i, out));
      }
      return Status::OK();
    }
    case arrow::Type::DICTIONARY: {
      const auto& dict = static_cast<const arrow::DictionaryArray&>(array);
      return EncodeValue(*dict.dictionary(), dict.GetValueIndex(i), out);
    }
    default: break;
  }
  if (arrow::is_fixed_size_binary(id)) {
    const auto& fsb = static_cast<const arrow::FixedSizeBinaryArray&>(array);
    AppendBytes(out, fsb.GetValue(i), static_cast<size_t>(fsb.byte_width()));
    return Status::OK();
  }
  if (arrow::is_primitive(id)) {
    const int width = array.type()->byte_width();
    const uint8_t* data = array.data()->buffers[1]->data() + (array.offset() + i) * width;
    AppendBytes(out, data, static_cast<size_t>(width));
    return Status::OK();
  }
  return Status::NotImplemented("row identity of type ", array.type()->ToString());
}

// A large_binary column whose values identify the values of `column` (null stays null).
Result<std::shared_ptr<arrow::ChunkedArray>> EncodeColumn(const arrow::ChunkedArray& column) {
  arrow::ArrayVector chunks;
  std::string scratch;
  for (const auto& chunk : column.chunks()) {
    arrow::LargeBinaryBuilder builder;
    DRC_ARROW_RETURN_NOT_OK(builder.Reserve(chunk->length()), "encoding rows");
    for (int64_t i = 0; i < chunk->length(); ++i) {
      if (chunk->IsNull(i)) {
        DRC_ARROW_RETURN_NOT_OK(builder.AppendNull(), "encoding rows");
        continue;
      }
      scratch.clear();
      DRC_RETURN_NOT_OK(EncodeValue(*chunk, i, &scratch));
      DRC_ARROW_RETURN_NOT_OK(builder.Append(scratch), "encoding rows");
    }
    DRC_ARROW_ASSIGN_OR_RETURN(auto array, builder.Finish(), "encoding rows");
    chunks.push_back(std::move(array));
  }
  return std::make_shared<arrow::ChunkedArray>(std::move(chunks), arrow::large_binary());
}

// For each distinct combination of the values of `columns` in `table`: the smallest row
// number (column "first") and, when `tags` is given, the smallest and largest tag ("min_tag",
// "max_tag"). Nulls are equal to each other. Groups come in no particular order.
Result<TablePtr> GroupFirstRows(const TablePtr& table, const std::vector<int>& columns,
                                const std::shared_ptr<arrow::ChunkedArray>& tags,
                                std::string_view op) {
  arrow::FieldVector fields;
  arrow::ChunkedArrayVector data;
  std::vector<arrow::FieldRef> keys;
  for (size_t k = 0; k < columns.size(); ++k) {
    std::shared_ptr<arrow::ChunkedArray> column = table->column(columns[k]);
    if (!AceroHashable(*column->type())) {
      DRC_ASSIGN_OR_RETURN(column, EncodeColumn(*column));
    }
    std::string name = "k" + std::to_string(k);
    fields.push_back(arrow::field(name, column->type()));
    data.push_back(std::move(column));
    keys.emplace_back(name);
  }
  DRC_ASSIGN_OR_RETURN(auto rows, RowNumbers(table->num_rows()));
  fields.push_back(arrow::field(kRow, arrow::int64()));
  data.push_back(std::make_shared<arrow::ChunkedArray>(rows));
  std::vector<cp::Aggregate> aggs = {{"hash_min", arrow::FieldRef(kRow), "first"}};
  if (tags != nullptr) {
    fields.push_back(arrow::field(kTag, tags->type()));
    data.push_back(tags);
    aggs.emplace_back("hash_min", arrow::FieldRef(kTag), "min_tag");
    aggs.emplace_back("hash_max", arrow::FieldRef(kTag), "max_tag");
  }
  TablePtr input = arrow::Table::Make(arrow::schema(fields), data, table->num_rows());
  ac::Declaration plan = ac::Declaration::Sequence(
      {Source(input), {"aggregate", ac::AggregateNodeOptions(std::move(aggs), std::move(keys))}});
  return RunPlan(std::move(plan), /*use_threads=*/true, op);
}

// Rows of `table` at the ascending row numbers in `first` (a column of GroupFirstRows).
Result<TablePtr> TakeInOrder(const TablePtr& table,
                             const std::shared_ptr<arrow::ChunkedArray>& first,
                             std::string_view op) {
  // One chunk first: sorting and taking across many small plan-output chunks is much slower.
  DRC_ASSIGN_OR_RETURN(auto rows, OneChunk(*first));
  DRC_ARROW_ASSIGN_OR_RETURN(auto order, cp::SortIndices(*rows), op);
  DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum sorted, cp::Take(arrow::Datum(rows), arrow::Datum(order)),
                             op);
  return Take(table, sorted, op);
}

// Distinct rows of a table (all columns), first occurrence kept, in input order.
Result<TablePtr> DistinctRows(const TablePtr& table, const std::vector<int>& columns,
                              std::string_view op) {
  if (columns.empty()) return table->Slice(0, std::min<int64_t>(table->num_rows(), 1));
  if (table->num_rows() <= 1) return table;
  DRC_ASSIGN_OR_RETURN(TablePtr groups, GroupFirstRows(table, columns, nullptr, op));
  return TakeInOrder(table, groups->GetColumnByName("first"), op);
}

Status CheckSameSchema(const TablePtr& a, const TablePtr& b, std::string_view op) {
  DRC_RETURN_NOT_OK(CheckTable(a, op, "a"));
  DRC_RETURN_NOT_OK(CheckTable(b, op, "b"));
  if (!a->schema()->Equals(*b->schema(), /*check_metadata=*/false)) {
    return Status::InvalidArgument(op, ": schemas differ: (", SchemaLine(*a->schema()), ") vs (",
                                   SchemaLine(*b->schema()), ")");
  }
  return Status::OK();
}

std::vector<int> AllColumns(const arrow::Table& table) {
  std::vector<int> out(static_cast<size_t>(table.num_columns()));
  std::iota(out.begin(), out.end(), 0);
  return out;
}

enum class SetOp { kIntersect, kDifference };

// Distinct rows of `a` that are (kIntersect) or are not (kDifference) rows of `b`, in the
// order of their first occurrence in `a`.
Result<TablePtr> SetOperation(const TablePtr& a, const TablePtr& b, SetOp set_op,
                              std::string_view op) {
  DRC_RETURN_NOT_OK(Initialize());
  DRC_RETURN_NOT_OK(CheckSameSchema(a, b, op));
  if (a->num_columns() == 0) {
    bool keep = a->num_rows() > 0 && ((b->num_rows() > 0) == (set_op == SetOp::kIntersect));
    return a->Slice(0, keep ? 1 : 0);
  }
  if (a->num_rows() == 0) return a;
  if (b->num_rows() == 0 && set_op == SetOp::kIntersect) return a->Slice(0, 0);
  DRC_ARROW_ASSIGN_OR_RETURN(TablePtr both, arrow::ConcatenateTables({a, b}), op);
  DRC_ARROW_ASSIGN_OR_RETURN(auto a_tags,
                             arrow::MakeArrayFromScalar(arrow::Int8Scalar(0), a->num_rows()), op);
  DRC_ARROW_ASSIGN_OR_RETURN(auto b_tags,
                             arrow::MakeArrayFromScalar(arrow::Int8Scalar(1), b->num_rows()), op);
  auto tags = std::make_shared<arrow::ChunkedArray>(arrow::ArrayVector{a_tags, b_tags});
  DRC_ASSIGN_OR_RETURN(TablePtr groups, GroupFirstRows(both, AllColumns(*both), tags, op));
  // Keep groups seen in a (min_tag 0) and, for intersect, also in b (max_tag 1).
  cp::Expression keep = set_op == SetOp::kIntersect
                            ? cp::and_(cp::equal(cp::field_ref("min_tag"), cp::literal(int8_t{0})),
                                       cp::equal(cp::field_ref("max_tag"), cp::literal(int8_t{1})))
                            : cp::equal(cp::field_ref("max_tag"), cp::literal(int8_t{0}));
  DRC_ASSIGN_OR_RETURN(TablePtr kept, Filter(groups, keep));
  return TakeInOrder(a, kept->GetColumnByName("first"), op);
}

// ---- Join -------------------------------------------------------------------------------

ac::JoinType ToAcero(JoinType type) {
  switch (type) {
    case JoinType::kInner: return ac::JoinType::INNER;
    case JoinType::kLeft: return ac::JoinType::LEFT_OUTER;
    case JoinType::kRight: return ac::JoinType::RIGHT_OUTER;
    case JoinType::kFullOuter: return ac::JoinType::FULL_OUTER;
    case JoinType::kLeftSemi: return ac::JoinType::LEFT_SEMI;
    case JoinType::kLeftAnti: return ac::JoinType::LEFT_ANTI;
  }
  return ac::JoinType::INNER;
}

bool AllAceroHashable(const arrow::Schema& schema) {
  return std::all_of(schema.fields().begin(), schema.fields().end(),
                     [](const auto& field) { return AceroHashable(*field->type()); });
}

// Keys + row numbers of one join side (for payloads Acero cannot carry).
Result<TablePtr> KeysAndRows(const TablePtr& table, const std::vector<int>& keys,
                             const char* row_name) {
  arrow::FieldVector fields;
  arrow::ChunkedArrayVector data;
  for (size_t k = 0; k < keys.size(); ++k) {
    fields.push_back(arrow::field("k" + std::to_string(k), table->field(keys[k])->type()));
    data.push_back(table->column(keys[k]));
  }
  DRC_ASSIGN_OR_RETURN(auto rows, RowNumbers(table->num_rows()));
  fields.push_back(arrow::field(row_name, arrow::int64()));
  data.push_back(std::make_shared<arrow::ChunkedArray>(rows));
  return arrow::Table::Make(arrow::schema(fields), data, table->num_rows());
}

// ---- Group-by -----------------------------------------------------------------------------

bool IsQuantile(AggKind kind) { return kind == AggKind::kMedian || kind == AggKind::kQuantile; }

struct AceroAgg {
  const char* function;  // scalar name; "hash_" is prepended when grouping by keys
  std::shared_ptr<cp::FunctionOptions> options;
};

AceroAgg ToAcero(const Aggregation& agg) {
  using CountMode = cp::CountOptions::CountMode;
  switch (agg.kind) {
    case AggKind::kSum: return {"sum", nullptr};
    case AggKind::kCount:
      return {"count", std::make_shared<cp::CountOptions>(CountMode::ONLY_VALID)};
    case AggKind::kCountAll: return {"count_all", nullptr};
    case AggKind::kMin: return {"min", nullptr};
    case AggKind::kMax: return {"max", nullptr};
    case AggKind::kMean: return {"mean", nullptr};
    case AggKind::kVar: return {"variance", std::make_shared<cp::VarianceOptions>(agg.ddof)};
    case AggKind::kStd: return {"stddev", std::make_shared<cp::VarianceOptions>(agg.ddof)};
    case AggKind::kNUnique:
      return {"count_distinct", std::make_shared<cp::CountOptions>(CountMode::ONLY_VALID)};
    case AggKind::kFirst: return {"first", nullptr};
    case AggKind::kLast: return {"last", nullptr};
    case AggKind::kMedian:
    case AggKind::kQuantile: break;
  }
  return {"", nullptr};
}

std::vector<cp::SortKey> KeyOrder(int num_keys) {
  std::vector<cp::SortKey> out;
  for (int k = 0; k < num_keys; ++k) out.emplace_back(arrow::FieldRef(k));
  return out;
}

// Column `name` of a plan's output as one array.
Result<std::shared_ptr<arrow::Array>> OneChunk(const arrow::Table& table, const std::string& name) {
  std::shared_ptr<arrow::ChunkedArray> column = table.GetColumnByName(name);
  if (column == nullptr) return Status::Internal("GroupBy: plan output lacks column ", name);
  return OneChunk(*column);
}

// Exact quantile `q` of column `value` of `input` within each group. `input` has the group
// keys in its first `num_keys` columns; groups are those of `sizes`/`valid` (rows per group,
// non-null values per group), in ascending key order (nulls last) — the order in which a sort
// of `input` by keys then value lists the rows.
Result<std::shared_ptr<arrow::Array>> GroupQuantiles(const TablePtr& input, int num_keys, int value,
                                                     double q, const arrow::Int64Array& sizes,
                                                     const arrow::Int64Array& valid,
                                                     std::string_view op) {
  std::vector<cp::SortKey> order = KeyOrder(num_keys);
  order.emplace_back(arrow::FieldRef(value));
  DRC_ARROW_ASSIGN_OR_RETURN(auto indices,
                             cp::SortIndices(arrow::Datum(input), cp::SortOptions(order)), op);
  DRC_ARROW_ASSIGN_OR_RETURN(
      arrow::Datum sorted, cp::Take(arrow::Datum(input->column(value)), arrow::Datum(indices)), op);
  DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum as_double, cp::Cast(sorted, arrow::float64()), op);
  DRC_ASSIGN_OR_RETURN(auto values, OneChunk(*as_double.chunked_array()));
  const auto& x = static_cast<const arrow::DoubleArray&>(*values);
  arrow::DoubleBuilder builder;
  DRC_ARROW_RETURN_NOT_OK(builder.Reserve(sizes.length()), op);
  int64_t start = 0;
  for (int64_t g = 0; g < sizes.length(); ++g) {
    const int64_t n = valid.Value(g);
    if (n == 0) {
      builder.UnsafeAppendNull();
    } else {
      // Linear interpolation between the closest ranks (numpy's default).
      const double pos = q * static_cast<double>(n - 1);
      const auto lo = static_cast<int64_t>(std::floor(pos));
      const int64_t hi = std::min(lo + 1, n - 1);
      const double a = x.Value(start + lo);
      const double b = x.Value(start + hi);
      builder.UnsafeAppend(a + (b - a) * (pos - static_cast<double>(lo)));
    }
    start += sizes.Value(g);
  }
  DRC_ARROW_ASSIGN_OR_RETURN(auto out, builder.Finish(), op);
  return out;
}

// Acero's hash aggregation of `input`, sorted by the first `num_keys` columns (the keys).
Result<TablePtr> AggregateSorted(const TablePtr& input, std::vector<cp::Aggregate> aggs,
                                 std::vector<arrow::FieldRef> keys, int num_keys, bool use_threads,
                                 std::string_view op) {
  ac::Declaration plan = ac::Declaration::Sequence(
      {Source(input), {"aggregate", ac::AggregateNodeOptions(std::move(aggs), std::move(keys))}});
  DRC_ASSIGN_OR_RETURN(TablePtr result, RunPlan(std::move(plan), use_threads, op));
  if (num_keys == 1 && result->num_rows() > 1) {  // one numeric key: radix sort
    DRC_ASSIGN_OR_RETURN(TablePtr sorted, internal::RadixSortTable(result, 0, /*ascending=*/true,
                                                                   /*nulls_first=*/false,
                                                                   arrow::default_memory_pool()));
    if (sorted != nullptr) return sorted;
  }
  DRC_ARROW_ASSIGN_OR_RETURN(result, result->CombineChunks(), op);
  if (num_keys > 0 && result->num_rows() > 1) {
    DRC_ARROW_ASSIGN_OR_RETURN(
        auto indices, cp::SortIndices(arrow::Datum(result), cp::SortOptions(KeyOrder(num_keys))),
        op);
    DRC_ASSIGN_OR_RETURN(result, Take(result, arrow::Datum(indices), op));
  }
  return result;
}
}  // namespace

// ---- Public operators -----------------------------------------------------------------------

Result<TablePtr> Filter(const TablePtr& table, const cp::Expression& predicate) {
  constexpr std::string_view kOp = "Filter";
  DRC_RETURN_NOT_OK(Initialize());
  DRC_RETURN_NOT_OK(CheckTable(table, kOp));
  DRC_RETURN_NOT_OK(CheckExpressionColumns(*table->schema(), predicate, kOp));
  DRC_ARROW_ASSIGN_OR_RETURN(cp::Expression bound, predicate.Bind(*table->schema()), kOp);
  if (!bound.type()->Equals(arrow::boolean())) {
    return Status::InvalidArgument("Filter: predicate ", predicate.ToString(),
                                   " must be boolean, is ", bound.type()->ToString());
  }
  DRC_ASSIGN_OR_RETURN(auto batches, Batches(*table));
  arrow::ArrayVector masks;
  int64_t kept = 0;
  for (const auto& batch : batches) {
    DRC_ASSIGN_OR_RETURN(auto mask, Evaluate(bound, batch, kOp));
    const auto& bools = static_cast<const arrow::BooleanArray&>(*mask);
    kept += bools.true_count();
    masks.push_back(std::move(mask));
  }
  if (kept == table->num_rows()) return table;
  if (table->num_columns() == 0) return table->Slice(0, kept);
  auto mask = std::make_shared<arrow::ChunkedArray>(std::move(masks), arrow::boolean());
  DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum out, cp::Filter(arrow::Datum(table), arrow::Datum(mask)),
                             kOp);
  return out.table();
}

Result<TablePtr> Project(const TablePtr& table, const std::vector<cp::Expression>& exprs,
                         const std::vector<std::string>& names) {
  constexpr std::string_view kOp = "Project";
  DRC_RETURN_NOT_OK(Initialize());
  DRC_RETURN_NOT_OK(CheckTable(table, kOp));
  if (!names.empty() && names.size() != exprs.size()) {
    return Status::InvalidArgument("Project: ", exprs.size(), " expressions but ", names.size(),
                                   " names");
  }
  std::vector<cp::Expression> bound;
  arrow::FieldVector fields;
  for (size_t i = 0; i < exprs.size(); ++i) {
    DRC_RETURN_NOT_OK(CheckExpressionColumns(*table->schema(), exprs[i], kOp));
    DRC_ARROW_ASSIGN_OR_RETURN(cp::Expression b, exprs[i].Bind(*table->schema()), kOp);
    fields.push_back(
        arrow::field(names.empty() ? exprs[i].ToString() : names[i], b.type()->GetSharedPtr()));
    bound.push_back(std::move(b));
  }
  DRC_ASSIGN_OR_RETURN(auto batches, Batches(*table));
  std::vector<arrow::ArrayVector> chunks(exprs.size());
  for (const auto& batch : batches) {
    for (size_t i = 0; i < bound.size(); ++i) {
      DRC_ASSIGN_OR_RETURN(auto array, Evaluate(bound[i], batch, kOp));
      chunks[i].push_back(std::move(array));
    }
  }
  arrow::ChunkedArrayVector columns;
  for (size_t i = 0; i < bound.size(); ++i) {
    columns.push_back(
        std::make_shared<arrow::ChunkedArray>(std::move(chunks[i]), fields[i]->type()));
  }
  return arrow::Table::Make(arrow::schema(fields), columns, table->num_rows());
}

Result<TablePtr> Select(const TablePtr& table, const std::vector<std::string>& columns) {
  DRC_RETURN_NOT_OK(CheckTable(table, "Select"));
  DRC_ASSIGN_OR_RETURN(auto indices, ColumnIndices(*table->schema(), columns, "Select"));
  DRC_ARROW_ASSIGN_OR_RETURN(TablePtr out, table->SelectColumns(indices), "Select");
  return out;
}

Result<TablePtr> Cast(const TablePtr& table, const std::string& column,
                      const std::shared_ptr<arrow::DataType>& type) {
  DRC_RETURN_NOT_OK(Initialize());
  DRC_RETURN_NOT_OK(CheckTable(table, "Cast"));
  if (type == nullptr) return Status::InvalidArgument("Cast: target type is null");
  DRC_ASSIGN_OR_RETURN(int index, ColumnIndex(*table->schema(), column, "Cast"));
  const std::string context = "Cast: column '" + column + "' from " +
                              table->field(index)->type()->ToString() + " to " + type->ToString();
  DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum cast, cp::Cast(arrow::Datum(table->column(index)), type),
                             context);
  DRC_ARROW_ASSIGN_OR_RETURN(
      TablePtr out,
      table->SetColumn(index, table->field(index)->WithType(type), cast.chunked_array()), context);
  return out;
}

namespace {

// True when every row of `table` already follows the next in the order of `keys`, so that a
// stable sort would return the rows as they are. False when some row does not, and also when a
// key has nulls or NaN or a type that Arrow's comparison kernels do not take: the full sort
// decides those. Row i is in order with row i + 1 when some key is strictly before the next
// row's with the keys ahead of it equal, or when all keys are equal; one pass of the comparison
// kernels per key.
bool AlreadySorted(const TablePtr& table, const std::vector<int>& columns,
                   const std::vector<SortKey>& keys) {
  auto check = [&](int64_t n) -> arrow::Result<bool> {
    arrow::Datum in_order(false);  // decided by a strictly ordered key so far
    arrow::Datum all_equal(true);  // every key so far equal
    for (size_t k = 0; k < columns.size(); ++k) {
      const auto column = table->column(columns[k])->Slice(0, n);
      if (column->null_count() > 0) return false;
      const arrow::Datum row(column->Slice(0, n - 1));
      const arrow::Datum next(column->Slice(1, n - 1));
      ARROW_ASSIGN_OR_RAISE(auto before,
                            cp::CallFunction(keys[k].ascending ? "less" : "greater", {row, next}));
      ARROW_ASSIGN_OR_RAISE(auto equal, cp::CallFunction("equal", {row, next}));
      ARROW_ASSIGN_OR_RAISE(auto decided, cp::And(all_equal, before));
      ARROW_ASSIGN_OR_RAISE(in_order, cp::Or(in_order, decided));
      ARROW_ASSIGN_OR_RAISE(all_equal, cp::And(all_equal, equal));
    }
    ARROW_ASSIGN_OR_RAISE(auto ok, cp::Or(in_order, all_equal));
    ARROW_ASSIGN_OR_RAISE(auto every, cp::All(ok));
    const auto& scalar = every.scalar_as<arrow::BooleanScalar>();
    return scalar.is_valid && scalar.value;
  };
  // The first rows first: rows out of order, the usual case, are then found without a pass
  // over the whole table.
  constexpr int64_t kPrefix = 4096;
  const int64_t n = table->num_rows();
  if (n > kPrefix) {
    auto prefix = check(kPrefix);
    if (!prefix.ok() || !*prefix) return false;
  }
  auto result = check(n);
  return result.ok() && *result;
}

}  // namespace

Result<TablePtr> Sort(const TablePtr& table, const std::vector<SortKey>& keys) {
  constexpr std::string_view kOp = "Sort";
  DRC_RETURN_NOT_OK(Initialize());
  DRC_RETURN_NOT_OK(CheckTable(table, kOp));
  std::vector<cp::SortKey> order;
  std::vector<int> columns;
  for (const auto& key : keys) {
    DRC_ASSIGN_OR_RETURN(int index, ColumnIndex(*table->schema(), key.column, kOp));
    columns.push_back(index);
    // Arrow 26 takes the null placement per key.
    order.emplace_back(arrow::FieldRef(index),
                       key.ascending ? cp::SortOrder::Ascending : cp::SortOrder::Descending,
                       key.nulls_first ? cp::NullPlacement::AtStart : cp::NullPlacement::AtEnd);
  }
  if (order.empty() || table->num_rows() <= 1) return table;
  // Tables often come sorted (a file written in order, the output of an earlier sort): a pass
  // over the keys is cheaper than sorting and copying them again.
  if (AlreadySorted(table, columns, keys)) return table;
  if (keys.size() == 1) {  // one numeric key: radix sort
    DRC_ASSIGN_OR_RETURN(TablePtr sorted, internal::RadixSortTable(
                                              table, columns[0], keys[0].ascending,
                                              keys[0].nulls_first, arrow::default_memory_pool()));
    if (sorted != nullptr) return sorted;
  }
  // Several keys, or a string key: each key's values replaced by their rank, one radix sort.
  std::vector<bool> ascending, nulls_first;
  for (const auto& key : keys) {
    ascending.push_back(key.ascending);
    nulls_first.push_back(key.nulls_first);
  }
  DRC_ASSIGN_OR_RETURN(auto ranked,
                       internal::RankSortIndices(table, columns, ascending, nulls_first,
                                                 arrow::default_memory_pool()));
  if (ranked != nullptr) return internal::GatherRows(table, ranked, arrow::default_memory_pool());
  DRC_ARROW_ASSIGN_OR_RETURN(auto indices,
                             cp::SortIndices(arrow::Datum(table), cp::SortOptions(order)), kOp);
  return Take(table, arrow::Datum(indices), kOp);
}

Result<TablePtr> Join(const TablePtr& left, const TablePtr& right, const JoinOptions& options) {
  constexpr std::string_view kOp = "Join";
  DRC_RETURN_NOT_OK(Initialize());
  DRC_RETURN_NOT_OK(CheckTable(left, kOp, "left table"));
  DRC_RETURN_NOT_OK(CheckTable(right, kOp, "right table"));
  if (options.left_keys.empty()) return Status::InvalidArgument("Join: no key columns given");
  if (options.left_keys.size() != options.right_keys.size()) {
    return Status::InvalidArgument("Join: ", options.left_keys.size(), " left keys but ",
                                   options.right_keys.size(), " right keys");
  }
  std::vector<int> lkeys;
  std::vector<int> rkeys;
  for (size_t k = 0; k < options.left_keys.size(); ++k) {
    DRC_ASSIGN_OR_RETURN(int l, ColumnIndex(*left->schema(), options.left_keys[k], kOp, "left"));
    DRC_ASSIGN_OR_RETURN(int r, ColumnIndex(*right->schema(), options.right_keys[k], kOp, "right"));
    const auto& lt = left->field(l)->type();
    const auto& rt = right->field(r)->type();
    if (!lt->Equals(*rt)) {
      return Status::InvalidArgument("Join: key types differ: left '", options.left_keys[k],
                                     "' is ", lt->ToString(), ", right '", options.right_keys[k],
                                     "' is ", rt->ToString());
    }
    if (!AceroHashable(*lt)) {
      return Status::InvalidArgument("Join: key column '", options.left_keys[k], "' has type ",
                                     lt->ToString(), ", which cannot be a join key");
    }
    lkeys.push_back(l);
    rkeys.push_back(r);
  }
  const bool left_only = options.type == JoinType::kLeftSemi || options.type == JoinType::kLeftAnti;

  // Output names: clashing names get the suffixes.
  std::vector<std::string> names;
  {
    std::set<std::string> lnames;
    std::set<std::string> rnames;
    for (const auto& f : left->schema()->fields()) lnames.insert(f->name());
    if (!left_only) {
      for (const auto& f : right->schema()->fields()) rnames.insert(f->name());
    }
    for (const auto& f : left->schema()->fields()) {
      names.push_back(rnames.count(f->name()) ? f->name() + options.left_suffix : f->name());
    }
    std::set<std::string> final_left(names.begin(), names.end());
    if (!left_only) {
      for (const auto& f : right->schema()->fields()) {
        std::string name = lnames.count(f->name()) ? f->name() + options.right_suffix : f->name();
        if (final_left.count(name)) {
          return Status::InvalidArgument("Join: output column '", name,
                                         "' would come from both sides; choose suffixes that "
                                         "tell them apart (left '",
                                         options.left_suffix, "', right '", options.right_suffix,
                                         "')");
        }
        names.push_back(std::move(name));
      }
    }
  }

  if (lkeys.size() == 1) {  // one integer-like key: radix sort both sides and merge
    DRC_ASSIGN_OR_RETURN(TablePtr out,
                         internal::SortMergeJoin(left, right, lkeys[0], rkeys[0], options.type,
                                                 arrow::default_memory_pool()));
    if (out != nullptr) {
      DRC_ARROW_ASSIGN_OR_RETURN(out, out->RenameColumns(names), kOp);
      return out;
    }
  }
  const ac::JoinType type = ToAcero(options.type);
  const bool direct =
      AllAceroHashable(*left->schema()) && (left_only || AllAceroHashable(*right->schema()));
  if (direct) {
    std::vector<arrow::FieldRef> lrefs(lkeys.begin(), lkeys.end());
    std::vector<arrow::FieldRef> rrefs(rkeys.begin(), rkeys.end());
    ac::HashJoinNodeOptions join(type, lrefs, rrefs, cp::literal(true), "__drc_l", "__drc_r");
    DRC_ASSIGN_OR_RETURN(
        TablePtr out,
        RunPlan(ac::Declaration("hashjoin", {Source(left), Source(right)}, std::move(join)),
                /*use_threads=*/true, kOp));
    DRC_ARROW_ASSIGN_OR_RETURN(out, out->RenameColumns(names), kOp);
    return out;
  }

  // A payload Acero cannot carry (lists, structs, dictionaries): join keys + row numbers, then
  // gather every column with Take (a null row number gives a null row).
  DRC_ASSIGN_OR_RETURN(TablePtr lside, KeysAndRows(left, lkeys, kLeftRow));
  DRC_ASSIGN_OR_RETURN(TablePtr rside, KeysAndRows(right, rkeys, kRightRow));
  std::vector<arrow::FieldRef> krefs;
  for (size_t k = 0; k < lkeys.size(); ++k) krefs.emplace_back(static_cast<int>(k));
  std::vector<arrow::FieldRef> rout;
  if (!left_only) rout.emplace_back(kRightRow);
  ac::HashJoinNodeOptions join(type, krefs, krefs, {arrow::FieldRef(kLeftRow)}, rout);
  DRC_ASSIGN_OR_RETURN(
      TablePtr rows,
      RunPlan(ac::Declaration("hashjoin", {Source(lside), Source(rside)}, std::move(join)),
              /*use_threads=*/true, kOp));
  DRC_ASSIGN_OR_RETURN(TablePtr lout, Take(left, arrow::Datum(rows->column(0)), kOp));
  arrow::ChunkedArrayVector columns = lout->columns();
  arrow::FieldVector fields = lout->schema()->fields();
  if (!left_only) {
    DRC_ASSIGN_OR_RETURN(TablePtr rout_table, Take(right, arrow::Datum(rows->column(1)), kOp));
    for (int c = 0; c < rout_table->num_columns(); ++c) {
      columns.push_back(rout_table->column(c));
      fields.push_back(rout_table->field(c));
    }
  }
  for (size_t c = 0; c < fields.size(); ++c) fields[c] = fields[c]->WithName(names[c]);
  return arrow::Table::Make(arrow::schema(fields), columns, rows->num_rows());
}

std::string AggKindName(AggKind kind) {
  switch (kind) {
    case AggKind::kSum: return "sum";
    case AggKind::kCount: return "count";
    case AggKind::kCountAll: return "count_all";
    case AggKind::kMin: return "min";
    case AggKind::kMax: return "max";
    case AggKind::kMean: return "mean";
    case AggKind::kVar: return "var";
    case AggKind::kStd: return "std";
    case AggKind::kNUnique: return "nunique";
    case AggKind::kFirst: return "first";
    case AggKind::kLast: return "last";
    case AggKind::kMedian: return "median";
    case AggKind::kQuantile: return "quantile";
  }
  return "unknown";
}

Result<TablePtr> GroupBy(const TablePtr& table, const std::vector<std::string>& keys,
                         const std::vector<Aggregation>& aggs) {
  constexpr std::string_view kOp = "GroupBy";
  DRC_RETURN_NOT_OK(Initialize());
  DRC_RETURN_NOT_OK(CheckTable(table, kOp));
  const arrow::Schema& schema = *table->schema();

  // The input of the plan: keys first (named by position), then each aggregated column once.
  arrow::FieldVector fields;
  arrow::ChunkedArrayVector data;
  std::vector<arrow::FieldRef> key_refs;
  std::set<std::string> out_names;
  for (const auto& key : keys) {
    DRC_ASSIGN_OR_RETURN(int index, ColumnIndex(schema, key, kOp));
    if (!out_names.insert(key).second) {
      return Status::InvalidArgument("GroupBy: key '", key, "' given twice");
    }
    key_refs.emplace_back(static_cast<int>(fields.size()));
    fields.push_back(table->field(index));
    data.push_back(table->column(index));
  }
  const int num_keys = static_cast<int>(keys.size());
  std::map<int, int> input_of_column;  // table column -> plan input column
  std::vector<int> value_of_agg(aggs.size(), -1);
  std::vector<std::string> names;
  bool ordered = false;
  for (size_t a = 0; a < aggs.size(); ++a) {
    const Aggregation& agg = aggs[a];
    std::string name = agg.output;
    if (agg.kind != AggKind::kCountAll) {
      DRC_ASSIGN_OR_RETURN(int index, ColumnIndex(schema, agg.column, kOp));
      auto [it, inserted] = input_of_column.emplace(index, static_cast<int>(fields.size()));
      if (inserted) {
        fields.push_back(arrow::field("v" + std::to_string(index), table->field(index)->type()));
        data.push_back(table->column(index));
      }
      value_of_agg[a] = it->second;
      if (name.empty()) name = AggKindName(agg.kind) + "_" + agg.column;
    } else if (name.empty()) {
      name = AggKindName(agg.kind);
    }
    if (!out_names.insert(name).second) {
      return Status::InvalidArgument("GroupBy: output column '", name,
                                     "' appears twice; set Aggregation::output");
    }
    if (IsQuantile(agg.kind)) {
      const double q = agg.kind == AggKind::kMedian ? 0.5 : agg.quantile;
      if (!(q >= 0.0 && q <= 1.0)) {
        return Status::InvalidArgument("GroupBy: quantile of '", agg.column,
                                       "' must be in [0, 1], got ", q);
      }
      const auto& vtype = *fields[static_cast<size_t>(value_of_agg[a])]->type();
      if (!arrow::is_integer(vtype.id()) && !arrow::is_floating(vtype.id()) &&
          !arrow::is_decimal(vtype.id())) {
        return Status::InvalidArgument("GroupBy: ", AggKindName(agg.kind), " of '", agg.column,
                                       "' needs a numeric column, got ", vtype.ToString());
      }
    }
    if (agg.kind == AggKind::kFirst || agg.kind == AggKind::kLast) ordered = true;
    names.push_back(std::move(name));
  }
  TablePtr input = arrow::Table::Make(arrow::schema(fields), data, table->num_rows());

  // One integer-like key and simple aggregates: sort-based grouping (already in key order).
  TablePtr result;
  if (num_keys == 1 && !ordered) {
    std::vector<internal::SortAgg> sort_aggs;
    for (size_t a = 0; a < aggs.size(); ++a) {
      sort_aggs.push_back({aggs[a].kind, value_of_agg[a], "a" + std::to_string(a)});
    }
    DRC_ASSIGN_OR_RETURN(result,
                         internal::SortGroupBy(input, 0, sort_aggs, arrow::default_memory_pool()));
  }

  const std::string prefix = keys.empty() ? "" : "hash_";
  std::vector<cp::Aggregate> plan_aggs;
  bool any_quantile = false;
  for (size_t a = 0; a < aggs.size(); ++a) {
    const std::string name = "a" + std::to_string(a);
    if (IsQuantile(aggs[a].kind)) {
      any_quantile = true;
      // Non-null values per group: where the group's sorted values end.
      plan_aggs.emplace_back(prefix + "count",
                             std::make_shared<cp::CountOptions>(cp::CountOptions::ONLY_VALID),
                             arrow::FieldRef(value_of_agg[a]), name);
      continue;
    }
    AceroAgg acero = ToAcero(aggs[a]);
    std::vector<arrow::FieldRef> target;
    if (aggs[a].kind != AggKind::kCountAll) target.emplace_back(value_of_agg[a]);
    plan_aggs.emplace_back(prefix + acero.function, acero.options, std::move(target), name);
  }
  if (any_quantile) plan_aggs.emplace_back(prefix + "count_all", "rows");
  if (result == nullptr) {
    // first/last depend on row order: Acero computes them only single-threaded.
    DRC_ASSIGN_OR_RETURN(result, AggregateSorted(input, std::move(plan_aggs), std::move(key_refs),
                                                 num_keys, !ordered, kOp));
  }

  arrow::FieldVector out_fields;
  arrow::ChunkedArrayVector out_columns;
  for (int k = 0; k < num_keys; ++k) {
    out_fields.push_back(result->field(k)->WithName(keys[static_cast<size_t>(k)]));
    out_columns.push_back(result->column(k));
  }
  std::shared_ptr<arrow::Array> sizes;
  if (any_quantile) {
    DRC_ASSIGN_OR_RETURN(sizes, OneChunk(*result, "rows"));
  }
  for (size_t a = 0; a < aggs.size(); ++a) {
    const std::string plan_name = "a" + std::to_string(a);
    std::shared_ptr<arrow::ChunkedArray> column = result->GetColumnByName(plan_name);
    if (column == nullptr) return Status::Internal("GroupBy: plan output lacks ", plan_name);
    if (IsQuantile(aggs[a].kind)) {
      const double q = aggs[a].kind == AggKind::kMedian ? 0.5 : aggs[a].quantile;
      DRC_ASSIGN_OR_RETURN(auto valid, OneChunk(*result, plan_name));
      DRC_ASSIGN_OR_RETURN(auto quantiles,
                           GroupQuantiles(input, num_keys, value_of_agg[a], q,
                                          static_cast<const arrow::Int64Array&>(*sizes),
                                          static_cast<const arrow::Int64Array&>(*valid), kOp));
      column = std::make_shared<arrow::ChunkedArray>(quantiles);
    }
    out_fields.push_back(arrow::field(names[a], column->type()));
    out_columns.push_back(column);
  }
  return arrow::Table::Make(arrow::schema(out_fields), out_columns, result->num_rows());
}

Result<TablePtr> Unique(const TablePtr& table, const std::vector<std::string>& columns) {
  constexpr std::string_view kOp = "Unique";
  DRC_RETURN_NOT_OK(Initialize());
  DRC_RETURN_NOT_OK(CheckTable(table, kOp));
  std::vector<int> indices;
  if (columns.empty()) {
    indices = AllColumns(*table);
  } else {
    DRC_ASSIGN_OR_RETURN(indices, ColumnIndices(*table->schema(), columns, kOp));
  }
  return DistinctRows(table, indices, kOp);
}

Result<TablePtr> Union(const TablePtr& a, const TablePtr& b) {
  DRC_RETURN_NOT_OK(Initialize());
  DRC_RETURN_NOT_OK(CheckSameSchema(a, b, "Union"));
  DRC_ASSIGN_OR_RETURN(TablePtr both, Concat({a, b}));
  return DistinctRows(both, AllColumns(*both), "Union");
}

Result<TablePtr> Intersect(const TablePtr& a, const TablePtr& b) {
  return SetOperation(a, b, SetOp::kIntersect, "Intersect");
}

Result<TablePtr> Difference(const TablePtr& a, const TablePtr& b) {
  return SetOperation(a, b, SetOp::kDifference, "Difference");
}

Result<TablePtr> Concat(const std::vector<TablePtr>& tables) {
  if (tables.empty()) return Status::InvalidArgument("Concat: no tables given");
  for (size_t i = 0; i < tables.size(); ++i) {
    if (tables[i] == nullptr) return Status::InvalidArgument("Concat: table ", i, " is null");
    if (!tables[i]->schema()->Equals(*tables[0]->schema(), /*check_metadata=*/false)) {
      return Status::InvalidArgument(
          "Concat: schema of table ", i, " (", SchemaLine(*tables[i]->schema()),
          ") differs from that of table 0 (", SchemaLine(*tables[0]->schema()), ")");
    }
  }
  if (tables.size() == 1) return tables[0];
  if (tables[0]->num_columns() == 0) {  // Arrow would lose the row count
    int64_t rows = 0;
    for (const auto& table : tables) rows += table->num_rows();
    return arrow::Table::Make(tables[0]->schema(), arrow::ChunkedArrayVector{}, rows);
  }
  DRC_ARROW_ASSIGN_OR_RETURN(TablePtr out, arrow::ConcatenateTables(tables), "Concat");
  return out;
}

Result<TablePtr> Slice(const TablePtr& table, int64_t offset, int64_t length) {
  DRC_RETURN_NOT_OK(CheckTable(table, "Slice"));
  if (offset < 0 || length < 0) {
    return Status::InvalidArgument("Slice: offset and length must be >= 0, got offset ", offset,
                                   ", length ", length);
  }
  const int64_t rows = table->num_rows();
  offset = std::min(offset, rows);
  return table->Slice(offset, std::min(length, rows - offset));
}

Result<TablePtr> Head(const TablePtr& table, int64_t n) {
  DRC_RETURN_NOT_OK(CheckTable(table, "Head"));
  if (n < 0) return Status::InvalidArgument("Head: n must be >= 0, got ", n);
  return Slice(table, 0, n);
}

Result<TablePtr> Tail(const TablePtr& table, int64_t n) {
  DRC_RETURN_NOT_OK(CheckTable(table, "Tail"));
  if (n < 0) return Status::InvalidArgument("Tail: n must be >= 0, got ", n);
  const int64_t rows = table->num_rows();
  return Slice(table, std::max<int64_t>(0, rows - n), n);
}

Result<TablePtr> FillNull(const TablePtr& table, const std::string& column,
                          const std::shared_ptr<arrow::Scalar>& value) {
  constexpr std::string_view kOp = "FillNull";
  DRC_RETURN_NOT_OK(Initialize());
  DRC_RETURN_NOT_OK(CheckTable(table, kOp));
  if (value == nullptr) return Status::InvalidArgument("FillNull: value is null");
  DRC_ASSIGN_OR_RETURN(int index, ColumnIndex(*table->schema(), column, kOp));
  const auto& type = table->field(index)->type();
  const std::string context = "FillNull: value " + value->ToString() + " (" +
                              value->type->ToString() + ") for column '" + column + "' (" +
                              type->ToString() + ")";
  DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum fill, cp::Cast(arrow::Datum(value), type), context);
  if (table->column(index)->null_count() == 0 || !fill.scalar()->is_valid) return table;
  DRC_ARROW_ASSIGN_OR_RETURN(
      arrow::Datum filled, cp::CallFunction("coalesce", {arrow::Datum(table->column(index)), fill}),
      context);
  DRC_ARROW_ASSIGN_OR_RETURN(
      TablePtr out, table->SetColumn(index, table->field(index), filled.chunked_array()), context);
  return out;
}

Result<TablePtr> DropNull(const TablePtr& table, const std::vector<std::string>& columns) {
  constexpr std::string_view kOp = "DropNull";
  DRC_RETURN_NOT_OK(Initialize());
  DRC_RETURN_NOT_OK(CheckTable(table, kOp));
  std::vector<int> indices;
  if (columns.empty()) {
    indices = AllColumns(*table);
  } else {
    DRC_ASSIGN_OR_RETURN(indices, ColumnIndices(*table->schema(), columns, kOp));
  }
  arrow::Datum mask;
  for (int index : indices) {
    if (table->column(index)->null_count() == 0) continue;
    DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum valid,
                               cp::CallFunction("is_valid", {arrow::Datum(table->column(index))}),
                               kOp);
    if (mask.kind() == arrow::Datum::NONE) {
      mask = std::move(valid);
    } else {
      DRC_ARROW_ASSIGN_OR_RETURN(mask, cp::CallFunction("and", {mask, valid}), kOp);
    }
  }
  if (mask.kind() == arrow::Datum::NONE) return table;
  DRC_ARROW_ASSIGN_OR_RETURN(arrow::Datum out, cp::Filter(arrow::Datum(table), mask), kOp);
  return out.table();
}

}  // namespace drc::data
