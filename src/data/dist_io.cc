// Distributed reading and writing.
//
// Every function here is collective and keeps the ranks in step even when one of them fails:
// each rank runs every collective step whatever its local outcome, and the steps that can fail
// locally end in AgreeOnStatus, which turns one rank's error into an error on every rank (the
// failing rank keeps its own message; the others get it prefixed with "rank R: "). No rank
// returns early while the others wait in a collective, so a bad file is an error, not a hang.
#include "drc/data/dist_io.h"

#include <arrow/api.h>
#include <arrow/io/api.h>
#include <arrow/ipc/api.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "drc/comm/communicator.h"
#include "drc/data/dist.h"
#include "src/data/arrow_status.h"
#include "src/data/csv_internal.h"

namespace drc::data {
namespace {

bool Distributed(const Context& ctx) { return ctx.comm() != nullptr && ctx.world_size() > 1; }

// The first line start at or after `pos` within [begin, end]: `pos` itself if a line starts
// there, else the byte after the next newline (or `end`).
int64_t LineStartAtOrAfter(std::string_view text, int64_t begin, int64_t end, int64_t pos) {
  if (pos <= begin) return begin;
  if (pos >= end) return end;
  const size_t nl = text.find('\n', static_cast<size_t>(pos - 1));
  if (nl == std::string_view::npos || static_cast<int64_t>(nl) >= end) return end;
  return static_cast<int64_t>(nl) + 1;
}

// The type all ranks agree on for one column: null types yield to the others; integers and
// floats widen to float64; dates and timestamps to the finest timestamp; anything else to
// string.
std::shared_ptr<arrow::DataType> CommonType(
    const std::vector<std::shared_ptr<arrow::DataType>>& ts) {
  std::shared_ptr<arrow::DataType> common;
  for (const auto& t : ts) {
    if (t->id() == arrow::Type::NA) continue;
    if (!common || common->Equals(*t)) {
      common = t;
      continue;
    }
    const bool both_numeric =
        (arrow::is_integer(common->id()) || arrow::is_floating(common->id())) &&
        (arrow::is_integer(t->id()) || arrow::is_floating(t->id()));
    auto is_time = [](const arrow::DataType& d) {
      return d.id() == arrow::Type::DATE32 || d.id() == arrow::Type::DATE64 ||
             d.id() == arrow::Type::TIMESTAMP;
    };
    if (both_numeric) {
      common = arrow::float64();
    } else if (is_time(*common) && is_time(*t)) {
      auto unit = [](const arrow::DataType& d) {
        return d.id() == arrow::Type::TIMESTAMP ? static_cast<const arrow::TimestampType&>(d).unit()
                                                : arrow::TimeUnit::SECOND;
      };
      common = arrow::timestamp(std::max(unit(*common), unit(*t)));
    } else {
      common = arrow::utf8();
    }
  }
  return common ? common : arrow::null();
}

// All ranks' schemas (collective).
Result<std::vector<std::shared_ptr<arrow::Schema>>> AllGatherSchemas(
    const Context& ctx, const std::shared_ptr<arrow::Schema>& schema) {
  if (!Distributed(ctx)) return std::vector<std::shared_ptr<arrow::Schema>>{schema};
  comm::Communicator& comm = *ctx.comm();
  DRC_ARROW_ASSIGN_OR_RETURN(auto bytes, arrow::ipc::SerializeSchema(*schema), "schema");
  DRC_ASSIGN_OR_RETURN(auto sizes, comm::AllGatherValue<int64_t>(comm, bytes->size()));
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
  std::vector<uint8_t> all(static_cast<size_t>(total));
  DRC_RETURN_NOT_OK(comm.AllGatherV(bytes->data(), bytes->size(), all.data(), sizes));
  std::vector<std::shared_ptr<arrow::Schema>> schemas;
  int64_t offset = 0;
  for (int64_t n : sizes) {
    arrow::io::BufferReader reader(std::make_shared<arrow::Buffer>(all.data() + offset, n));
    arrow::ipc::DictionaryMemo memo;
    DRC_ARROW_ASSIGN_OR_RETURN(auto s, arrow::ipc::ReadSchema(&reader, &memo), "schema");
    schemas.push_back(std::move(s));
    offset += n;
  }
  return schemas;
}

std::string FormatExtension(const std::string& format) {
  if (format == "parquet") return "parquet";
  if (format == "csv") return "csv";
  if (format == "arrow" || format == "ipc" || format == "feather") return "arrow";
  return "";
}

}  // namespace

Status AgreeOnStatus(const Context& ctx, const Status& local) {
  if (!Distributed(ctx)) return local;
  comm::Communicator& comm = *ctx.comm();
  const std::string message = local.ok() ? std::string() : local.message();
  // Per rank: message length (-1: OK) and status code.
  const int64_t mine[2] = {local.ok() ? -1 : static_cast<int64_t>(message.size()),
                           static_cast<int64_t>(local.code())};
  std::vector<int64_t> all(2 * static_cast<size_t>(comm.size()));
  DRC_RETURN_NOT_OK(comm.AllGather(mine, sizeof(mine), all.data()));
  std::vector<int64_t> lengths(static_cast<size_t>(comm.size()));
  bool any_failed = false;
  for (int r = 0; r < comm.size(); ++r) {
    lengths[r] = std::max<int64_t>(all[2 * r], 0);
    any_failed = any_failed || all[2 * r] >= 0;
  }
  if (!any_failed) return Status::OK();
  int64_t total = 0;
  for (int64_t n : lengths) total += n;
  std::string messages(static_cast<size_t>(total), '\0');
  DRC_RETURN_NOT_OK(comm.AllGatherV(message.data(), static_cast<int64_t>(message.size()),
                                    messages.data(), lengths));
  if (!local.ok()) return local;
  int64_t offset = 0;
  for (int r = 0; r < comm.size(); ++r) {
    if (all[2 * r] >= 0) {
      return Status(static_cast<StatusCode>(all[2 * r + 1]),
                    "rank " + std::to_string(r) + ": " + messages.substr(offset, lengths[r]));
    }
    offset += lengths[r];
  }
  return Status::Internal("AgreeOnStatus: no failed rank found");
}

std::string RankPath(const std::string& pattern, int rank) {
  std::string path = pattern;
  const std::string value = std::to_string(rank);
  for (size_t pos = path.find(kRankKey); pos != std::string::npos;
       pos = path.find(kRankKey, pos + value.size())) {
    path.replace(pos, kRankKey.size(), value);
  }
  return path;
}

Result<TablePtr> ReadPerRank(const Context& ctx, const std::string& pattern) {
  auto table = ReadTable(RankPath(pattern, ctx.rank()));
  DRC_RETURN_NOT_OK(AgreeOnStatus(ctx, table.status()));
  return table;
}

Result<TablePtr> ReadCsvSplit(const Context& ctx, const std::string& path,
                              const CsvOptions& options) {
  const int rank = ctx.rank();
  const int world = ctx.world_size();

  // 1. Map the file, read the header, find this rank's byte range at line starts.
  std::shared_ptr<arrow::Buffer> body;
  internal::CsvHeader header;
  Status local = [&]() -> Status {
    DRC_ASSIGN_OR_RETURN(auto file, internal::OpenForRead(path));
    DRC_ARROW_ASSIGN_OR_RETURN(const int64_t size, file->GetSize(), path);
    DRC_ARROW_ASSIGN_OR_RETURN(auto all, file->ReadAt(0, size), path);
    const std::string_view text(reinterpret_cast<const char*>(all->data()),
                                static_cast<size_t>(all->size()));
    DRC_ASSIGN_OR_RETURN(header, internal::ParseCsvHeader(text, options, path));
    const int64_t begin = header.bytes;
    const int64_t span = size - begin;
    auto cut = [&](int r) {
      // begin + r * span / world without overflow.
      const int64_t approx = begin + span / world * r + span % world * r / world;
      return LineStartAtOrAfter(text, begin, size, approx);
    };
    const int64_t lo = cut(rank);
    const int64_t hi = cut(rank + 1);
    body = arrow::SliceBuffer(all, lo, hi - lo);
    return Status::OK();
  }();
  DRC_RETURN_NOT_OK(AgreeOnStatus(ctx, local));

  // 2. Global line numbers: the lines of the earlier ranks (exclusive prefix sum).
  const std::string_view text(reinterpret_cast<const char*>(body->data()),
                              static_cast<size_t>(body->size()));
  const int64_t my_lines = internal::CountLines(text);
  int64_t first_line = options.header ? 2 : 1;
  if (Distributed(ctx)) {
    DRC_ASSIGN_OR_RETURN(auto lines, comm::AllGatherValue<int64_t>(*ctx.comm(), my_lines));
    for (int r = 0; r < rank; ++r) first_line += lines[r];
  }

  // 3. Parse this rank's lines; every rank learns whether any failed.
  auto parsed = internal::ParseCsvBody(body, header.names, options, path, first_line, ctx.pool());
  DRC_RETURN_NOT_OK(AgreeOnStatus(ctx, parsed.status()));
  TablePtr table = *parsed;

  // 4. Inferred types may differ between ranks (or be null on a rank without rows): agree on
  // one type per column and re-parse where this rank's guess differs, so that the text is
  // converted once, as a whole-file read would.
  DRC_ASSIGN_OR_RETURN(auto schemas, AllGatherSchemas(ctx, table->schema()));
  CsvOptions forced = options;
  bool reparse = false;
  for (int i = 0; i < table->num_columns(); ++i) {
    std::vector<std::shared_ptr<arrow::DataType>> types;
    for (const auto& s : schemas) types.push_back(s->field(i)->type());
    auto common = CommonType(types);
    if (!common->Equals(*table->schema()->field(i)->type())) reparse = true;
    const std::string& name = table->schema()->field(i)->name();
    if (options.column_types.count(name) == 0 && common->id() != arrow::Type::NA) {
      forced.column_types[name] = common->ToString();
    }
  }
  local = Status::OK();
  if (reparse) {
    auto again = internal::ParseCsvBody(body, header.names, forced, path, first_line, ctx.pool());
    local = again.status();
    if (again.ok()) table = *again;
  }
  DRC_RETURN_NOT_OK(AgreeOnStatus(ctx, local));
  return table;
}

Result<TablePtr> ReadTableSplit(const Context& ctx, const std::string& path,
                                const CsvOptions& options) {
  DRC_ASSIGN_OR_RETURN(const TableFormat format, TableFormatOf(path));  // the same on every rank
  if (format == TableFormat::kCsv) return ReadCsvSplit(ctx, path, options);
  auto whole = ReadTable(path);
  DRC_RETURN_NOT_OK(AgreeOnStatus(ctx, whole.status()));
  const int64_t n = (*whole)->num_rows();
  const int64_t begin = n * ctx.rank() / ctx.world_size();
  const int64_t end = n * (ctx.rank() + 1) / ctx.world_size();
  return (*whole)->Slice(begin, end - begin);
}

Status WritePartitioned(const Context& ctx, const TablePtr& table, const std::string& dir,
                        const std::string& format) {
  const std::string ext = FormatExtension(format);
  if (ext.empty()) {
    return Status::InvalidArgument("WritePartitioned: unknown format '", format,
                                   "' (use parquet, csv or arrow)");
  }
  Status local;
  if (ctx.rank() == 0) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) local = Status::IOError("cannot create directory ", dir, ": ", ec.message());
  }
  // Also the barrier: nobody writes before DIR exists.
  DRC_RETURN_NOT_OK(AgreeOnStatus(ctx, local));
  const std::string path = dir + "/part-" + std::to_string(ctx.rank()) + "." + ext;
  if (table == nullptr) {
    local = Status::InvalidArgument("WritePartitioned: null table on rank ", ctx.rank());
  } else if (ext == "parquet") {
    local = WriteParquet(*table, path);
  } else if (ext == "csv") {
    local = WriteCsv(*table, path);
  } else {
    local = WriteIpc(*table, path);
  }
  // Every part exists (or every rank reports the failure) when this returns.
  return AgreeOnStatus(ctx, local);
}

}  // namespace drc::data
