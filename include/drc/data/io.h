// Table I/O through Arrow: Parquet and CSV files in, Parquet out.
//
// Tables are arrow::Table held by shared_ptr (immutable, shared). Errors name the file.
// This is the first slice of the data layer (issue 4 builds the engine on it).
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <string>

#include "drc/common/result.h"

namespace drc::data {

// Initializes Arrow's compute function registry (needed from Arrow 21 on). Idempotent and
// thread-safe; every entry point of this layer calls it.
Status Initialize();

Result<std::shared_ptr<arrow::Table>> ReadParquet(const std::string& path);
Status WriteParquet(const arrow::Table& table, const std::string& path);
Result<std::shared_ptr<arrow::Table>> ReadCsv(const std::string& path);

// The version of the Arrow C++ library linked at run time, e.g. "26.0.1".
std::string ArrowVersion();

}  // namespace drc::data
