#include "drc/data/io.h"

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/config.h>
#include <arrow/csv/api.h>
#include <arrow/io/api.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <mutex>

#include "drc/common/result.h"
#include "src/data/arrow_status.h"

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

Status Initialize() {
  static const Status status = FromArrow(arrow::compute::Initialize(), "arrow compute");
  return status;
}

Result<std::shared_ptr<arrow::Table>> ReadParquet(const std::string& path) {
  DRC_RETURN_NOT_OK(Initialize());
  DRC_ARROW_ASSIGN_OR_RETURN(auto file, arrow::io::ReadableFile::Open(path), path);
  DRC_ARROW_ASSIGN_OR_RETURN(auto reader,
                             parquet::arrow::OpenFile(file, arrow::default_memory_pool()), path);
  DRC_ARROW_ASSIGN_OR_RETURN(auto table, reader->ReadTable(), path);
  return table;
}

Status WriteParquet(const arrow::Table& table, const std::string& path) {
  DRC_RETURN_NOT_OK(Initialize());
  // Write to a temporary name and rename, so that a failed write never leaves a file that
  // looks complete.
  const std::string tmp = path + ".tmp";
  DRC_ARROW_ASSIGN_OR_RETURN(auto out, arrow::io::FileOutputStream::Open(tmp), tmp);
  DRC_ARROW_RETURN_NOT_OK(
      parquet::arrow::WriteTable(table, arrow::default_memory_pool(), out, 64 * 1024), path);
  DRC_ARROW_RETURN_NOT_OK(out->Close(), path);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IOError("cannot rename ", tmp, " to ", path);
  }
  return Status::OK();
}

Result<std::shared_ptr<arrow::Table>> ReadCsv(const std::string& path) {
  DRC_RETURN_NOT_OK(Initialize());
  DRC_ARROW_ASSIGN_OR_RETURN(auto file, arrow::io::ReadableFile::Open(path), path);
  DRC_ARROW_ASSIGN_OR_RETURN(auto reader,
                             arrow::csv::TableReader::Make(arrow::io::default_io_context(), file,
                                                           arrow::csv::ReadOptions::Defaults(),
                                                           arrow::csv::ParseOptions::Defaults(),
                                                           arrow::csv::ConvertOptions::Defaults()),
                             path);
  DRC_ARROW_ASSIGN_OR_RETURN(auto table, reader->Read(), path);
  return table;
}

std::string ArrowVersion() { return arrow::GetBuildInfo().version_string; }

}  // namespace drc::data
