// Tables as bytes: the Arrow IPC stream format, used by the shuffle and by table messages
// between ranks. Handles every Arrow type, sliced arrays (offsets) and buffers over 2 GiB.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>

#include "drc/common/result.h"
#include "drc/data/context.h"

namespace drc::data {

Result<std::shared_ptr<arrow::Buffer>> SerializeTable(const arrow::Table& table,
                                                      arrow::MemoryPool* pool = nullptr);
// Zero-copy where possible: the table's buffers may point into `buffer`.
Result<TablePtr> DeserializeTable(const std::shared_ptr<arrow::Buffer>& buffer);

// Sends/receives one table over point-to-point messages (size first, then the bytes).
Status SendTable(const Context& ctx, const arrow::Table& table, int dst, int tag);
Result<TablePtr> RecvTable(const Context& ctx, int src, int tag);

// Every rank sends parts[r] to rank r; returns what this rank received, in rank order.
// parts.size() must be world_size; all parts share one schema.
Result<std::vector<TablePtr>> AllToAllTables(const Context& ctx,
                                             const std::vector<TablePtr>& parts);

}  // namespace drc::data
