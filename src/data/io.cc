#include "drc/data/io.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/config.h>
#include <arrow/csv/api.h>
#include <arrow/io/api.h>
#include <arrow/ipc/api.h>
#include <arrow/util/compression.h>
#include <arrow/util/value_parsing.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include "drc/common/result.h"
#include "src/data/arrow_status.h"
#include "src/data/csv_internal.h"

namespace drc::data {

Status FromArrow(const arrow::Status& status, std::string_view context) {
  if (status.ok()) return Status::OK();
  std::string message =
      context.empty() ? status.message() : std::string(context) + ": " + status.message();
  switch (status.code()) {
    case arrow::StatusCode::Invalid:
    case arrow::StatusCode::TypeError: return Status::InvalidArgument(message);
    case arrow::StatusCode::KeyError: return Status::NotFound(message);
    case arrow::StatusCode::IndexError: return Status::OutOfRange(message);
    case arrow::StatusCode::IOError: return Status::IOError(message);
    case arrow::StatusCode::OutOfMemory:
    case arrow::StatusCode::CapacityError: return Status::ResourceExhausted(message);
    case arrow::StatusCode::NotImplemented: return Status::NotImplemented(message);
    case arrow::StatusCode::Cancelled: return Status::Cancelled(message);
    case arrow::StatusCode::AlreadyExists: return Status::AlreadyExists(message);
    default: return Status::Internal(message);
  }
}

Result<std::shared_ptr<arrow::Buffer>> AllocateShared(int64_t bytes, arrow::MemoryPool* pool,
                                                      std::string_view context) {
  auto buffer = arrow::AllocateBuffer(bytes, pool != nullptr ? pool : arrow::default_memory_pool());
  if (!buffer.ok()) return FromArrow(buffer.status(), context);
  return std::shared_ptr<arrow::Buffer>(std::move(*buffer));
}

Status Initialize() {
  static const Status status = FromArrow(arrow::compute::Initialize(), "arrow compute");
  return status;
}

namespace internal {

Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(const std::string& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) return Status::IOError("cannot read ", path, ": No such file");
  if (std::filesystem::is_directory(st)) {
    return Status::IOError("cannot read ", path, ": is a directory");
  }
  DRC_ARROW_ASSIGN_OR_RETURN(auto file,
                             arrow::io::MemoryMappedFile::Open(path, arrow::io::FileMode::READ),
                             "cannot read " + path);
  return std::shared_ptr<arrow::io::RandomAccessFile>(std::move(file));
}

std::vector<std::string> SplitCsvLine(std::string_view line, char delimiter) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string> fields;
  std::string field;
  bool in_quotes = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == delimiter) {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field.push_back(c);
    }
  }
  fields.push_back(std::move(field));
  return fields;
}

int64_t CountLines(std::string_view text) {
  if (text.empty()) return 0;
  const int64_t newlines = std::count(text.begin(), text.end(), '\n');
  return newlines + (text.back() == '\n' ? 0 : 1);
}

Result<CsvHeader> ParseCsvHeader(std::string_view text, const CsvOptions& options,
                                 const std::string& path) {
  // A UTF-8 byte order mark is not part of the first name.
  size_t bom = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  const size_t eol = text.find('\n', bom);
  const std::string_view first =
      text.substr(bom, eol == std::string_view::npos ? std::string_view::npos : eol - bom);
  if (text.size() == bom || (first.empty() && eol == std::string_view::npos)) {
    if (options.header) return Status::InvalidArgument(path, ": empty CSV file (no header line)");
    return CsvHeader{};
  }
  CsvHeader header;
  std::vector<std::string> fields = SplitCsvLine(first, options.delimiter);
  if (options.header) {
    header.names = std::move(fields);
    header.bytes = eol == std::string_view::npos ? static_cast<int64_t>(text.size())
                                                 : static_cast<int64_t>(eol + 1);
  } else {
    for (size_t i = 0; i < fields.size(); ++i) header.names.push_back("f" + std::to_string(i));
  }
  return header;
}

namespace {

// Arrow type from a name such as "int64", "float64", "string", "date32", "timestamp[ms]",
// "timestamp[s, tz=UTC]".
Result<std::shared_ptr<arrow::DataType>> ParseTypeName(const std::string& text) {
  std::string name;
  for (char c : text)
    name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  const std::pair<const char*, std::shared_ptr<arrow::DataType>> kSimple[] = {
      {"int8", arrow::int8()},
      {"int16", arrow::int16()},
      {"int32", arrow::int32()},
      {"int64", arrow::int64()},
      {"uint8", arrow::uint8()},
      {"uint16", arrow::uint16()},
      {"uint32", arrow::uint32()},
      {"uint64", arrow::uint64()},
      {"float32", arrow::float32()},
      {"float", arrow::float32()},
      {"float64", arrow::float64()},
      {"double", arrow::float64()},
      {"string", arrow::utf8()},
      {"utf8", arrow::utf8()},
      {"large_string", arrow::large_utf8()},
      {"large_utf8", arrow::large_utf8()},
      {"bool", arrow::boolean()},
      {"boolean", arrow::boolean()},
      {"binary", arrow::binary()},
      {"date32", arrow::date32()},
      {"date32[day]", arrow::date32()},
      {"date64", arrow::date64()},
      {"date64[ms]", arrow::date64()},
      {"null", arrow::null()},
  };
  for (const auto& [key, type] : kSimple) {
    if (name == key) return type;
  }
  if (name.rfind("timestamp", 0) == 0) {
    std::string unit = "s";
    std::string tz;
    const size_t open = name.find('[');
    if (open != std::string::npos) {
      const size_t close = name.find(']', open);
      if (close == std::string::npos) return Status::InvalidArgument("bad type name '", text, "'");
      std::string inner = text.substr(open + 1, close - open - 1);
      const size_t comma = inner.find(',');
      unit = name.substr(open + 1, (comma == std::string::npos ? close - open - 1 : comma));
      if (comma != std::string::npos) {
        std::string rest = inner.substr(comma + 1);
        rest.erase(0, rest.find_first_not_of(' '));
        if (rest.rfind("tz=", 0) != 0) {
          return Status::InvalidArgument("bad type name '", text, "'");
        }
        tz = rest.substr(3);
      }
    }
    arrow::TimeUnit::type u;
    if (unit == "s") {
      u = arrow::TimeUnit::SECOND;
    } else if (unit == "ms") {
      u = arrow::TimeUnit::MILLI;
    } else if (unit == "us") {
      u = arrow::TimeUnit::MICRO;
    } else if (unit == "ns") {
      u = arrow::TimeUnit::NANO;
    } else {
      return Status::InvalidArgument("bad time unit in type name '", text, "'");
    }
    return arrow::timestamp(u, tz);
  }
  return Status::InvalidArgument(
      "unknown type name '", text,
      "' (use int8..int64, uint8..uint64, float32, float64, string, bool, date32, date64, "
      "timestamp[s|ms|us|ns])");
}

struct ColumnPlan {
  std::string requested;                   // the type name the caller gave ("" if inferred)
  std::shared_ptr<arrow::DataType> final;  // type of the result column (null if inferred)
  std::shared_ptr<arrow::DataType> read;   // type Arrow parses into (may differ for dates)
};

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Finds `key` ... up to `end` in `text` and returns what lies between; npos-safe.
std::string_view Between(std::string_view text, std::string_view key, std::string_view end) {
  const size_t start = text.find(key);
  if (start == std::string_view::npos) return {};
  const size_t from = start + key.size();
  const size_t stop = text.find(end, from);
  if (stop == std::string_view::npos) return {};
  return text.substr(from, stop - from);
}

// Calls fn(line_number, line) for each non-empty physical line of `body`; stops when fn
// returns true.
void ForEachLine(std::string_view body, int64_t first_line,
                 const std::function<bool(int64_t, std::string_view)>& fn) {
  int64_t line_no = first_line;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    std::string_view line = body.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && fn(line_no, line)) return;
    pos = eol + 1;
    ++line_no;
  }
}

// Turns Arrow's CSV error (column index and value, or column counts, but no line) into
// "FILE:LINE:COLUMN: ..." by scanning the text again for the offending line.
Status TranslateCsvError(const arrow::Status& st, std::string_view body,
                         const std::vector<std::string>& names,
                         const std::vector<ColumnPlan>& plans, const CsvOptions& options,
                         const std::string& path, int64_t first_line) {
  const std::string message = st.message();
  if (message.find("CSV conversion error") != std::string::npos) {
    const std::string_view index_text = Between(message, "In CSV column #", ":");
    const size_t value_start = message.find("invalid value '");
    if (!index_text.empty() && value_start != std::string::npos && message.back() == '\'') {
      const size_t k = std::stoul(std::string(index_text));
      const std::string value =
          message.substr(value_start + 15, message.size() - 1 - (value_start + 15));
      std::string type(Between(message, "conversion error to ", ":"));
      if (k < plans.size() && !plans[k].requested.empty()) type = plans[k].requested;
      Status found;
      ForEachLine(body, first_line, [&](int64_t line_no, std::string_view line) {
        std::vector<std::string> fields = SplitCsvLine(line, options.delimiter);
        if (k < fields.size() && fields[k] == value) {
          found = Status::InvalidArgument(path, ":", line_no, ":", k + 1, ": column '",
                                          k < names.size() ? names[k] : "?", "' expects ", type,
                                          ", got '", value, "'");
          return true;
        }
        return false;
      });
      if (!found.ok()) return found;
    }
  } else if (message.find(" columns, got ") != std::string::npos) {
    const std::string_view expected_text = Between(message, "Expected ", " columns");
    if (!expected_text.empty()) {
      const size_t expected = std::stoul(std::string(expected_text));
      Status found;
      ForEachLine(body, first_line, [&](int64_t line_no, std::string_view line) {
        const size_t got = SplitCsvLine(line, options.delimiter).size();
        if (got != expected) {
          found = Status::InvalidArgument(path, ":", line_no, ": expected ", expected,
                                          " columns, got ", got);
          return true;
        }
        return false;
      });
      if (!found.ok()) return found;
    }
  }
  return FromArrow(st, path);
}

}  // namespace

Result<TablePtr> ParseCsvBody(const std::shared_ptr<arrow::Buffer>& body,
                              const std::vector<std::string>& names, const CsvOptions& options,
                              const std::string& path, int64_t first_line,
                              arrow::MemoryPool* pool) {
  DRC_RETURN_NOT_OK(Initialize());
  if (pool == nullptr) pool = arrow::default_memory_pool();
  // Requested types: dates given with strptime formats are parsed as timestamps (Arrow parses
  // dates as ISO only) and cast afterwards.
  std::vector<ColumnPlan> plans(names.size());
  for (const auto& [column, type_name] : options.column_types) {
    const auto it = std::find(names.begin(), names.end(), column);
    if (it == names.end()) {
      return Status::InvalidArgument(path, ": column_types names unknown column '", column,
                                     "' (file has ", JoinNames(names), ")");
    }
    auto type = ParseTypeName(type_name);
    if (!type.ok()) return std::move(type).status().WithContext(path + ": column '" + column + "'");
    ColumnPlan& plan = plans[it - names.begin()];
    plan.requested = type_name;
    plan.final = *type;
    plan.read = *type;
    const bool is_date =
        plan.final->id() == arrow::Type::DATE32 || plan.final->id() == arrow::Type::DATE64;
    if (is_date && !options.timestamp_formats.empty())
      plan.read = arrow::timestamp(arrow::TimeUnit::SECOND);
  }

  auto read_options = arrow::csv::ReadOptions::Defaults();
  read_options.column_names = names;
  auto parse_options = arrow::csv::ParseOptions::Defaults();
  parse_options.delimiter = options.delimiter;
  auto convert_options = arrow::csv::ConvertOptions::Defaults();
  convert_options.null_values = options.null_values;
  convert_options.strings_can_be_null = true;
  for (size_t i = 0; i < names.size(); ++i) {
    if (plans[i].read) convert_options.column_types[names[i]] = plans[i].read;
  }
  for (const auto& format : options.timestamp_formats) {
    convert_options.timestamp_parsers.push_back(arrow::TimestampParser::MakeStrptime(format));
  }
  if (!options.timestamp_formats.empty()) {
    convert_options.timestamp_parsers.push_back(arrow::TimestampParser::MakeISO8601());
  }

  TablePtr table;
  const std::string_view text(reinterpret_cast<const char*>(body->data()),
                              static_cast<size_t>(body->size()));
  const bool blank = text.find_first_not_of("\r\n") == std::string_view::npos;
  if (!blank) {
    arrow::io::IOContext io_context(pool);
    auto input = std::make_shared<arrow::io::BufferReader>(body);
    DRC_ARROW_ASSIGN_OR_RETURN(auto reader,
                               arrow::csv::TableReader::Make(io_context, input, read_options,
                                                             parse_options, convert_options),
                               path);
    auto read = reader->Read();
    if (!read.ok()) {
      return TranslateCsvError(read.status(), text, names, plans, options, path, first_line);
    }
    table = *read;
  } else {
    // No data lines: Arrow calls that an empty file; build the empty table ourselves.
    std::vector<std::shared_ptr<arrow::Field>> fields;
    std::vector<std::shared_ptr<arrow::ChunkedArray>> columns;
    for (size_t i = 0; i < names.size(); ++i) {
      auto type = plans[i].read ? plans[i].read : arrow::null();
      fields.push_back(arrow::field(names[i], type));
      DRC_ARROW_ASSIGN_OR_RETURN(auto empty, arrow::MakeEmptyArray(type, pool), path);
      columns.push_back(std::make_shared<arrow::ChunkedArray>(arrow::ArrayVector{empty}, type));
    }
    table = arrow::Table::Make(arrow::schema(fields), columns, 0);
  }
  // Dates read as timestamps become dates.
  for (size_t i = 0; i < names.size(); ++i) {
    if (!plans[i].final || plans[i].final->Equals(*plans[i].read)) continue;
    arrow::compute::ExecContext exec(pool);
    DRC_ARROW_ASSIGN_OR_RETURN(
        auto cast,
        arrow::compute::Cast(table->column(static_cast<int>(i)), plans[i].final,
                             arrow::compute::CastOptions::Safe(), &exec),
        path + ": column '" + names[i] + "'");
    DRC_ARROW_ASSIGN_OR_RETURN(
        table,
        table->SetColumn(static_cast<int>(i), arrow::field(names[i], plans[i].final),
                         cast.chunked_array()),
        path);
  }
  return table;
}

Status WriteAtomically(const std::string& path,
                       const std::function<arrow::Status(arrow::io::OutputStream*)>& write) {
  // A name private to this process and thread, so concurrent writers never share it.
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                          std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
  auto fail = [&](Status st) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    return st;
  };
  auto out = arrow::io::FileOutputStream::Open(tmp);
  if (!out.ok()) return FromArrow(out.status(), "cannot write " + path);
  arrow::Status st = write(out->get());
  if (!st.ok()) {
    (void)(*out)->Close();
    return fail(FromArrow(st, path));
  }
  st = (*out)->Close();
  if (!st.ok()) return fail(FromArrow(st, path));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(Status::IOError("cannot rename ", tmp, " to ", path, ": ", std::strerror(errno)));
  }
  return Status::OK();
}

}  // namespace internal

Result<std::shared_ptr<arrow::Table>> ReadParquet(const std::string& path) {
  DRC_RETURN_NOT_OK(Initialize());
  DRC_ASSIGN_OR_RETURN(auto file, internal::OpenForRead(path));
  DRC_ARROW_ASSIGN_OR_RETURN(auto reader,
                             parquet::arrow::OpenFile(file, arrow::default_memory_pool()), path);
  DRC_ARROW_ASSIGN_OR_RETURN(auto table, reader->ReadTable(), path);
  return table;
}

Status WriteParquet(const arrow::Table& table, const std::string& path) {
  DRC_RETURN_NOT_OK(Initialize());
  // Floating-point columns without a dictionary: their values are mostly distinct, so each row
  // group of 64 Ki rows would hash every value into a dictionary as large as the column, then
  // write both (a third of a prepare stage's time on 2 M rows of rolling statistics).
  parquet::WriterProperties::Builder properties;
  // Snappy, as pandas, pyarrow and DuckDB write Parquet by default (Polars: zstd).
  if (arrow::util::Codec::IsAvailable(arrow::Compression::SNAPPY)) {
    properties.compression(arrow::Compression::SNAPPY);
  }
  for (const auto& field : table.schema()->fields()) {
    if (arrow::is_floating(field->type()->id())) properties.disable_dictionary(field->name());
  }
  // Temporary name then rename: a failed write never leaves a file that looks complete.
  return internal::WriteAtomically(path, [&](arrow::io::OutputStream* out) {
    return parquet::arrow::WriteTable(
        table, arrow::default_memory_pool(),
        std::shared_ptr<arrow::io::OutputStream>(out, [](arrow::io::OutputStream*) {}), 64 * 1024,
        properties.build());
  });
}

Result<std::shared_ptr<arrow::Table>> ReadCsv(const std::string& path, const CsvOptions& options) {
  DRC_RETURN_NOT_OK(Initialize());
  DRC_ASSIGN_OR_RETURN(auto file, internal::OpenForRead(path));
  DRC_ARROW_ASSIGN_OR_RETURN(const int64_t size, file->GetSize(), path);
  DRC_ARROW_ASSIGN_OR_RETURN(auto all, file->ReadAt(0, size), path);
  const std::string_view text(reinterpret_cast<const char*>(all->data()),
                              static_cast<size_t>(all->size()));
  DRC_ASSIGN_OR_RETURN(auto header, internal::ParseCsvHeader(text, options, path));
  auto body = arrow::SliceBuffer(all, header.bytes);
  return internal::ParseCsvBody(body, header.names, options, path, options.header ? 2 : 1,
                                arrow::default_memory_pool());
}

Status WriteCsv(const arrow::Table& table, const std::string& path) {
  DRC_RETURN_NOT_OK(Initialize());
  return internal::WriteAtomically(path, [&](arrow::io::OutputStream* out) {
    return arrow::csv::WriteCSV(table, arrow::csv::WriteOptions::Defaults(), out);
  });
}

Result<std::shared_ptr<arrow::Table>> ReadIpc(const std::string& path) {
  DRC_RETURN_NOT_OK(Initialize());
  DRC_ASSIGN_OR_RETURN(auto file, internal::OpenForRead(path));
  DRC_ARROW_ASSIGN_OR_RETURN(auto reader, arrow::ipc::RecordBatchFileReader::Open(file), path);
  DRC_ARROW_ASSIGN_OR_RETURN(auto table, reader->ToTable(), path);
  return table;
}

Status WriteIpc(const arrow::Table& table, const std::string& path) {
  DRC_RETURN_NOT_OK(Initialize());
  return internal::WriteAtomically(path, [&](arrow::io::OutputStream* out) -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto writer, arrow::ipc::MakeFileWriter(out, table.schema()));
    ARROW_RETURN_NOT_OK(writer->WriteTable(table));
    return writer->Close();
  });
}

Result<TableFormat> TableFormatOf(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".csv") return TableFormat::kCsv;
  if (ext == ".parquet" || ext == ".pq") return TableFormat::kParquet;
  if (ext == ".arrow" || ext == ".ipc" || ext == ".feather") return TableFormat::kIpc;
  return Status::InvalidArgument("cannot read ", path, ": unknown extension '", ext,
                                 "' (use .csv, .parquet, .arrow, .ipc or .feather)");
}

Result<std::shared_ptr<arrow::Table>> ReadTable(const std::string& path) {
  DRC_ASSIGN_OR_RETURN(const TableFormat format, TableFormatOf(path));
  switch (format) {
    case TableFormat::kCsv: return ReadCsv(path);
    case TableFormat::kParquet: return ReadParquet(path);
    case TableFormat::kIpc: return ReadIpc(path);
  }
  return Status::Internal("ReadTable: unhandled format");
}

Status WriteTable(const arrow::Table& table, const std::string& path) {
  DRC_ASSIGN_OR_RETURN(const TableFormat format, TableFormatOf(path));
  switch (format) {
    case TableFormat::kCsv: return WriteCsv(table, path);
    case TableFormat::kParquet: return WriteParquet(table, path);
    case TableFormat::kIpc: return WriteIpc(table, path);
  }
  return Status::Internal("WriteTable: unhandled format");
}

std::string ArrowVersion() { return arrow::GetBuildInfo().version_string; }

}  // namespace drc::data
