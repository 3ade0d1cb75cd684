// Distributed reading and writing: each rank reads its share and writes its partition.
#pragma once

#include <string>
#include <string_view>

#include "drc/common/result.h"
#include "drc/data/context.h"
#include "drc/data/io.h"

namespace drc::data {

// The key a pattern of per-rank parts holds ("part-{rank}.parquet"), and whether `path` is one.
inline constexpr std::string_view kRankKey = "{rank}";
inline bool IsRankPattern(std::string_view path) {
  return path.find(kRankKey) != std::string_view::npos;
}
// `pattern` with every "{rank}" replaced by `rank`: the part of that rank.
std::string RankPath(const std::string& pattern, int rank);

// Each rank reads the file named by `pattern` with "{rank}" replaced by its rank
// ("part-{rank}.parquet"); a missing file is an error that names it. Collective: if any rank
// fails, every rank returns an error (the others' says "rank R: ...").
Result<TablePtr> ReadPerRank(const Context& ctx, const std::string& pattern);
// One CSV file split across ranks at line boundaries (rank r parses about 1/world of the
// bytes; the header is read by everyone). Line numbers in errors are global; a bad line on one
// rank is an error on every rank. Inferred column types are agreed across ranks (as a
// whole-file read would infer them), so every rank returns the same schema.
Result<TablePtr> ReadCsvSplit(const Context& ctx, const std::string& path,
                              const CsvOptions& options = {});
// This rank's share of a table file (the format by extension, as ReadTable): a CSV through
// ReadCsvSplit with `options`; another format read whole on every rank and sliced into equal
// shares in rank order (`options` unused). Collective; an error on one rank is one on every rank.
Result<TablePtr> ReadTableSplit(const Context& ctx, const std::string& path,
                                const CsvOptions& options = {});
// Writes this rank's partition to DIR/part-<rank>.<format> (parquet, csv or arrow), atomically
// (temporary name then rename); rank 0 creates DIR. Collective.
Status WritePartitioned(const Context& ctx, const TablePtr& table, const std::string& dir,
                        const std::string& format = "parquet");

}  // namespace drc::data
