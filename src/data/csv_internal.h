// CSV pieces shared by io.cc (whole-file reads) and dist_io.cc (one file split across ranks):
// the header, line counting, and parsing a run of whole lines with errors that name the file,
// the global line and the column. Internal to the data layer.
#pragma once

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "drc/common/result.h"
#include "drc/data/context.h"
#include "drc/data/io.h"

namespace drc::data::internal {

// Maps `path` read-only (zero copy). A missing file gives "cannot read PATH: No such file".
Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(const std::string& path);

// Splits one line (no line terminator; a trailing '\r' is dropped) into unquoted fields:
// "a,\"b,c\",\"d\"\"e\"" -> a | b,c | d"e.
std::vector<std::string> SplitCsvLine(std::string_view line, char delimiter);

struct CsvHeader {
  std::vector<std::string> names;  // from the header line, or f0, f1, ... without a header
  int64_t bytes = 0;               // bytes of the header line incl. its newline (0: no header)
};
// Reads the column names from the first line of `text` (the start of the file).
Result<CsvHeader> ParseCsvHeader(std::string_view text, const CsvOptions& options,
                                 const std::string& path);

// Physical lines in `text`: newlines, plus one for a last line without a newline.
int64_t CountLines(std::string_view text);

// Parses `body` (whole lines, no header) into a table with columns `names`. `first_line` is
// the 1-based line number of body's first line in `path`, so errors carry the file's line.
// Every column has the same type whatever the content when it is given in options; inferred
// columns of an empty body have type null.
Result<TablePtr> ParseCsvBody(const std::shared_ptr<arrow::Buffer>& body,
                              const std::vector<std::string>& names, const CsvOptions& options,
                              const std::string& path, int64_t first_line, arrow::MemoryPool* pool);

// Writes through `write` to a temporary file beside `path`, then renames it to `path`; on
// failure the temporary file is removed and `path` is untouched.
Status WriteAtomically(const std::string& path,
                       const std::function<arrow::Status(arrow::io::OutputStream*)>& write);

}  // namespace drc::data::internal
